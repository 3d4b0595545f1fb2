"""Payments against real parts: DynamoDB Local (the `ddb_table` fixture) and localstripe (started once per session
on a free port, memory only, from .localstripe-venv - `make localstripe-venv`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    from infra.local.dynamodb_local import free_port
    from infra.local.localstripe import start_localstripe

    handle = start_localstripe(free_port())
    try:
        yield handle.url
    finally:
        handle.stop()


@pytest.fixture
def payments_env(ddb_table: str, localstripe_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The code pointed at the table and localstripe; yields the domain events published (instead of EventBridge)."""
    from tickerleague.adapters import events, stripe_gateway
    from tickerleague.adapters.dynamodb.base import bind_table
    from tickerleague.adapters.dynamodb.plumbing import _client
    from tickerleague.config import settings

    published: list[Any] = []
    monkeypatch.setenv("STRIPE_API_BASE", localstripe_url)
    monkeypatch.setenv("STRIPE_SECRET_KEY_SECRET_ID", "")
    monkeypatch.setenv("PAYMENT_HOLD_SECONDS", "900")
    monkeypatch.setattr(events, "publish", lambda detail_type, detail, source="": published.append(
        (detail_type, detail, source)))
    settings.cache_clear()
    _client.cache_clear()
    stripe_gateway._client.cache_clear()
    bind_table()
    yield published
    _client.cache_clear()
    settings.cache_clear()
