"""What the DynamoDB benchmarks share: their environment, a DynamoDB Local to run against, the table, and the
counting of DynamoDB round trips with botocore `before-call` hooks (also used by tests/unit/contests)."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def set_environment(table_prefix: str, endpoint: str | None) -> None:
    """The settings every benchmark runs with, a fresh table name, and DynamoDB at `endpoint` (None: moto)."""
    defaults = {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "JWT_SIGNING_KEYS": json.dumps({"current": "b1", "b1": "b" * 48}),
        "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "8192",
        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    # The round-trip tables count each route's own work; the per-caller rate limit (one UpdateItem more on every
    # limited request) is measured on its own in benchmarks/trading.py, limits on against off in the same run.
    os.environ["RATE_LIMIT_ENABLED"] = "0"
    os.environ["TABLE_NAME"] = f"{table_prefix}-{uuid.uuid4().hex[:8]}"
    if endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    else:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)


@contextmanager
def dynamodb_local(endpoint: str | None) -> Iterator[str]:
    """An existing endpoint (`--endpoint`), or a fresh in-memory DynamoDB Local stopped afterwards."""
    if endpoint:
        yield endpoint
        return
    from infra.local.dynamodb_local import free_port, start_dynamodb_local

    local = start_dynamodb_local(port=free_port(), timeout=120)
    try:
        yield local.endpoint
    finally:
        local.stop()


def create_table() -> None:
    """The template's table, named by TABLE_NAME, where AWS_ENDPOINT_URL_DYNAMODB points (or in moto)."""
    import boto3

    sys.path.insert(0, str(ROOT))
    from tests.support.table import create_table as create_template_table

    create_template_table(boto3.client("dynamodb", region_name="us-east-1",
                                       endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")),
                          os.environ["TABLE_NAME"])


class CallCounter:
    """Counts DynamoDB API calls (operation names) seen by every hooked botocore session."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs["model"].name)

    @contextmanager
    def measure(self) -> Iterator[Counter[str]]:
        start = len(self.calls)
        counted: Counter[str] = Counter()
        yield counted
        counted.update(self.calls[start:])


def install(counter: CallCounter, set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """Hook a fresh boto3 default session and every session PynamoDB creates from now on; drop cached clients and
    connections so they are made again on hooked sessions. Tests pass `monkeypatch.setattr` to have it undone."""
    import boto3
    import pynamodb.connection.base as pynamodb_base
    from tickerleague.adapters.dynamodb.base import BaseItem, _all_models, bind_table
    from tickerleague.adapters.dynamodb.plumbing import _client

    set_attribute(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION._session.register("before-call.dynamodb", counter)  # type: ignore[union-attr]
    original = pynamodb_base.get_session

    def hooked_session() -> Any:
        session = original()
        session.register("before-call.dynamodb", counter)
        return session

    set_attribute(pynamodb_base, "get_session", hooked_session)
    _client.cache_clear()
    bind_table()
    for model in _all_models(BaseItem):
        model._connection = None


Trips = list[tuple[str, Counter[str]]]  # (what was called, the DynamoDB operations it made)


class RouteMeter:
    """Calls handlers with synthetic API Gateway events and keeps, per label, the DynamoDB operations each made."""

    def __init__(self, counter: CallCounter) -> None:
        self.counter = counter
        self.rows: Trips = []

    def measure(self, label: str, handler: Callable[..., Any], event: dict[str, Any], expect: int) -> dict[str, Any]:
        """Call `handler`; stop the benchmark unless it answers `expect`. Returns the answer's JSON object."""
        from tests.support.events import call

        with self.counter.measure() as counted:
            answer = call(handler, event)
        if answer.status != expect:
            raise SystemExit(f"{label}: expected {expect}, got {answer.status} {answer.body}")
        self.rows.append((label, counted))
        return answer.body if isinstance(answer.body, dict) else {}


def trips_table(rows: Trips, first_column: str = "route") -> str:
    """A markdown table of round trips and the operations behind them."""
    lines = [f"| {first_column} | DynamoDB round trips | operations |", "|---|---:|---|"]
    for label, counted in rows:
        operations = ", ".join(f"{name} x{count}" if count > 1 else name for name, count in sorted(counted.items()))
        lines.append(f"| {label} | {sum(counted.values())} | {operations or '-'} |")
    return "\n".join(lines)
