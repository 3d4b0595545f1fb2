"""Health: each dependency is checked for real, with a short timeout."""

from __future__ import annotations

import time

from tickerleague.config import settings
from tickerleague.http.models import HealthStatus


def _check_dynamodb() -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    from tickerleague.adapters.dynamodb.entries import client

    try:
        client().describe_table(TableName=settings().table_name)
    except (BotoCoreError, ClientError) as error:
        return f"fail: {type(error).__name__}"
    return "ok"


def check() -> HealthStatus:
    started = time.perf_counter()
    checks = {"dynamodb": _check_dynamodb()}
    healthy = all(value == "ok" for value in checks.values())
    return HealthStatus(
        status="ok" if healthy else "degraded", version=settings().version, checks=checks,
        durationMs=round((time.perf_counter() - started) * 1000),
    )
