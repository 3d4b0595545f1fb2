"""Shared fixtures. Environment defaults are set before any project module reads its settings."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest

TEST_SIGNING_KEYS = json.dumps({"current": "test1", "test1": "t" * 48, "old0": "o" * 48})

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "JWT_SIGNING_KEYS": TEST_SIGNING_KEYS,
        "TABLE_NAME": "tickerleague-test",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "tickerleague",
        "POWERTOOLS_METRICS_NAMESPACE": "TickerLeague",
        "QUOTES_PROVIDER": "simulated",
        "MARKET_CALENDAR": "24x7",
        "ARGON2_TIME_COST": "1",  # fast hashing in tests; production parameters are tested separately
        "ARGON2_MEMORY_KIB": "8192",
        # Per-caller rate limits cost a table write on every request: off for in-process tests (many run without a
        # table, and many send more requests per user than a bucket holds); tests/unit/http and the DynamoDB Local
        # tests of the limiter switch it on.
        "RATE_LIMIT_ENABLED": "0",
    }
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


def _reset_settings() -> None:
    from tickerleague.config import settings

    settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Each test starts and ends with every process-wide cache empty (tests/support/caches.py lists them)."""
    from tests.support.caches import reset_process_caches

    reset_process_caches()
    yield
    reset_process_caches()


@pytest.fixture
def moto_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto DynamoDB table built from template.yaml; yields its name. Fast, but no concurrency oracle."""
    from moto import mock_aws

    from tests.support.table import create_table

    name = f"tl-unit-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    _reset_settings()
    with mock_aws():
        import boto3
        from tickerleague.adapters.dynamodb.base import bind_table
        from tickerleague.adapters.dynamodb.plumbing import _client

        _client.cache_clear()
        create_table(boto3.client("dynamodb", region_name="us-east-1"), name)
        bind_table()
        yield name
        _client.cache_clear()
    _reset_settings()


@pytest.fixture(scope="session")
def ddb_local() -> Iterator[str]:
    """DynamoDB Local (-inMemory) for the whole session, started on first use; yields its endpoint URL.

    Set TEST_DYNAMODB_ENDPOINT to reuse one that is already running (faster when iterating locally).
    """
    reuse = os.environ.get("TEST_DYNAMODB_ENDPOINT")
    if reuse:
        yield reuse
        return
    from infra.local.harness import dynamodb_local_for_tests

    handle = dynamodb_local_for_tests()
    try:
        yield handle.endpoint
    finally:
        handle.stop()


@pytest.fixture
def ddb_table(ddb_local: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uniquely named table from template.yaml on DynamoDB Local; TABLE_NAME and the endpoint env are set."""
    import boto3

    from infra.local.dynamodb_local import ensure_table
    from infra.local.template import load_template
    from tests.support.table import TEMPLATE, table_kwargs

    name = f"tl-it-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=ddb_local, region_name="us-east-1")
    ensure_table(client, table_kwargs(name), load_template(TEMPLATE, parameters_file=None).table_ttl_attribute())
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_local)
    _reset_settings()
    from tickerleague.adapters.dynamodb.base import bind_table
    from tickerleague.adapters.dynamodb.plumbing import _client

    _client.cache_clear()
    bind_table()
    yield name
    _client.cache_clear()
    client.delete_table(TableName=name)
    _reset_settings()
