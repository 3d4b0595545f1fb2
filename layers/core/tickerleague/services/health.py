"""Health: each dependency is checked for real, with a short timeout."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from tickerleague.config import settings


@dataclass(frozen=True)
class Health:
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, str]
    duration_ms: int


def _check_dynamodb() -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    from tickerleague.adapters.dynamodb.entries import client

    try:
        client().describe_table(TableName=settings().table_name)
    except (BotoCoreError, ClientError) as error:
        return f"fail: {type(error).__name__}"
    return "ok"


def check() -> Health:
    started = time.perf_counter()
    checks = {"dynamodb": _check_dynamodb()}
    healthy = all(value == "ok" for value in checks.values())
    return Health(
        status="ok" if healthy else "degraded", version=settings().version, checks=checks,
        duration_ms=round((time.perf_counter() - started) * 1000),
    )
