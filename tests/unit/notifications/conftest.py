from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.notifications.support import ReplayServer

TEMPLATE_IDS = ("entry_confirmed=d-11,contest_starting=d-12,contest_ended=d-13,entry_refunded=d-14,"
                "contest_cancelled=d-15,password_reset=d-16")
API_KEY = "SG.test-key-0123456789"


@pytest.fixture
def sendgrid_replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    server = ReplayServer()
    monkeypatch.setenv("SENDGRID_API_BASE", server.url)
    monkeypatch.setenv("SENDGRID_TEMPLATE_IDS", TEMPLATE_IDS)
    monkeypatch.setenv("SENDGRID_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("EMAIL_LINK_BASE_URL", "https://app.tickerleague.example")
    _clear()
    yield server
    server.stop()
    _clear()


@pytest.fixture
def sendgrid_key(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The API key in (moto's) Secrets Manager, read through Powertools parameters."""
    import boto3

    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="sendgrid-api-key", SecretString=API_KEY)["ARN"]
    monkeypatch.setenv("SENDGRID_API_KEY_SECRET_ID", arn)
    _clear()
    return arn


def _clear() -> None:
    from aws_lambda_powertools.utilities import parameters
    from tickerleague.adapters import sendgrid
    from tickerleague.config import settings

    settings.cache_clear()
    sendgrid._client.cache_clear()
    parameters.clear_caches()


class FakeQueue:
    """Collects what the sender queues (the queue itself is tested in the local-stack tests)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, bodies: Any) -> None:
        self.bodies.extend(bodies)
