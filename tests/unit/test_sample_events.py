"""The sample events in events/ are real shapes: each one drives its handler (as `sam local invoke -e` would)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def test_every_sample_event_is_used_here() -> None:
    used = {"api-get-health.json", "api-post-signup.json", "authorizer-token.json", "schedule-every-minute.json",
            "lifecycle-activate.json"}
    assert {path.name for path in EVENTS.glob("*.json")} == used


def test_health_event(moto_table: str) -> None:
    from functions import health

    response = health.check(load("api-get-health.json"), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["checks"] == {"dynamodb": "ok"}
    assert response["headers"]["X-Request-Id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def test_signup_event(moto_table: str) -> None:
    from functions import auth

    response = auth.signup(load("api-post-signup.json"), None)
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["user"]["email"] == "ada@example.com"


def test_authorizer_event_with_a_bogus_token_is_unauthorized(moto_table: str) -> None:
    from functions import authorizer

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(load("authorizer-token.json"), None)


@pytest.mark.parametrize(("module", "function"), [("quotes", "refresh"), ("orders", "match"),
                                                  ("leaderboard", "recompute")])
def test_schedule_event_runs_each_job(moto_table: str, module: str, function: str) -> None:
    import importlib

    handler = getattr(importlib.import_module(f"functions.jobs.{module}"), function)
    assert isinstance(handler(load("schedule-every-minute.json"), None), dict)


def test_lifecycle_event_for_an_unknown_contest_does_nothing(moto_table: str) -> None:
    from functions.jobs import lifecycle

    assert lifecycle.handler(load("lifecycle-activate.json"), None) == {"outcome": "skipped"}
