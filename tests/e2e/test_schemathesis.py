"""Property-based conformance: schemathesis drives the running local stack from api-specification.json.

Each operation gets the schema's examples, schemathesis' coverage cases (boundaries, missing and wrong-typed fields)
and a bounded number of generated cases, positive and negative, with a fixed seed so a failure replays. A case fails
on any 5xx, or on an answer the document does not describe: an undocumented status (or error code: each error
response narrows `error.code`), another content type, or a body that breaks the response schema.

Callers: a fresh player for every route, the seeded admin for admin routes (`x-access: admin`); public routes are
called without a token. Random ids rarely name anything, so half of the cases with a valid (positive) `contestId`
are aimed at a real contest: the seeded active demo contest, which the player has joined (entries, orders, portfolio,
leaderboards), or, for admin routes, a draft the admin created (edit, publish, cancel). Which half is decided by a
checksum of the generated id, so a seed still replays the same run.

Bounds: SCHEMATHESIS_MAX_EXAMPLES generated cases per operation (default 15), and an overall budget of
SCHEMATHESIS_BUDGET_SECONDS (default 900) after which the remaining cases are skipped (a safety net, not the plan:
the default bounds finish far sooner).
"""

from __future__ import annotations

import os
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.build.openapi import SPEC_PATH
from tests.e2e.client import TIMEOUT, Player

SEED = 20261129
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
# Stateful: scenarios that follow the spec's links (create -> use), each at most this many calls long.
STATEFUL_SCENARIOS = int(os.environ.get("SCHEMATHESIS_STATEFUL_SCENARIOS", "12"))
STATEFUL_STEPS = int(os.environ.get("SCHEMATHESIS_STATEFUL_STEPS", "6"))
BUDGET_SECONDS = float(os.environ.get("SCHEMATHESIS_BUDGET_SECONDS", "900"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {
        "examples": {"enabled": True},
        # API Gateway (REST) answers a method a resource lacks with 404 (MISSING_AUTHENTICATION_TOKEN): that is
        # tested in test_auth_flow, so the coverage phase sends no unexpected methods.
        "coverage": {"enabled": True, "unexpected-methods": []},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
})
schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)
# The operations the spec links (create -> use; infra/build/openapi.py `add_links`). Only these: schemathesis also
# infers links of its own (a user id from a list to suspend), which would let a scenario suspend the session's
# player under the other e2e tests.
LINKED_OPERATIONS = ("contests.create", "contests.get", "contests.update", "contests.publish", "contests.cancel",
                     "leaderboard.get_leaderboard", "orders.place", "orders.get", "orders.cancel")
STATEFUL_CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "positive", "database": "none"},
    "phases": {"stateful": {"enabled": True}},
})
linked_schema = schemathesis.openapi.from_path(SPEC_PATH, config=STATEFUL_CONFIG).include(
    operation_id=list(LINKED_OPERATIONS))
_started: list[float] = []


def _within_budget() -> None:
    if not _started:
        _started.append(time.monotonic())
    if time.monotonic() - _started[0] > BUDGET_SECONDS:
        pytest.skip(f"schemathesis budget of {BUDGET_SECONDS:.0f}s used up")


def _access(case: Any) -> str:
    return str(case.operation.definition.raw.get("x-access", "user"))


def _caller_headers(case: Any, player: Player, admin: Player) -> dict[str, str]:
    access = _access(case)
    if access == "public":
        return {}
    return admin.auth if access == "admin" else player.auth


@pytest.fixture(scope="session")
def live_contest(base_url: str, player: Player) -> dict[str, Any] | None:
    """The seeded active contest, joined by the player (None when the stack seeded none)."""
    listed = requests.get(f"{base_url}/v1/contests", params={"status": "active"}, headers=player.auth, timeout=TIMEOUT)
    assert listed.status_code == 200, listed.text
    items = [item for item in listed.json()["items"] if item["visibility"] == "public"]
    if not items:
        return None
    joined = requests.post(f"{base_url}/v1/contests/{items[0]['id']}/entries", headers=player.auth, timeout=TIMEOUT)
    assert joined.status_code in (200, 201), joined.text
    contest: dict[str, Any] = items[0]
    return contest


@pytest.fixture(scope="session")
def draft_contest(base_url: str, admin: Player) -> dict[str, Any]:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    body = {"name": "Schemathesis Draft", "startsAt": starts.isoformat().replace("+00:00", "Z"),
            "endsAt": (starts + timedelta(days=7)).isoformat().replace("+00:00", "Z")}
    created = requests.post(f"{base_url}/v1/contests", json=body, headers=admin.auth, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    contest: dict[str, Any] = created.json()
    return contest


def _aim_at_real_contest(case: Any, live: dict[str, Any] | None, draft: dict[str, Any]) -> None:
    generated = case.path_parameters.get("contestId")
    if generated is None or case.meta is None or case.meta.is_negative_at(ParameterLocation.PATH):
        return
    checksum = zlib.crc32(str(generated).encode())
    if checksum % 2:
        return
    target = draft if _access(case) == "admin" else live
    if target is None:
        return
    use_slug = case.method == "GET" and checksum % 4 == 0
    case.path_parameters = {**case.path_parameters, "contestId": target["slug" if use_slug else "id"]}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@schema.parametrize()
def test_api_conforms_to_its_specification(case: Any, base_url: str, player: Player, admin: Player,
                                           live_contest: dict[str, Any] | None,
                                           draft_contest: dict[str, Any]) -> None:
    _within_budget()
    _aim_at_real_contest(case, live_contest, draft_contest)
    headers = {**(case.headers or {}), **_caller_headers(case, player, admin)}
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=TIMEOUT)


def test_linked_operations_conform_when_followed(base_url: str, player: Player, admin: Player,
                                                  live_contest: dict[str, Any] | None) -> None:
    """Stateful: schemathesis chains calls along the spec's links (infra/build/openapi.py `add_links`): a contest the
    admin creates is then read, edited, published or cancelled by its new id; an order the player places in the live
    contest is read or cancelled by its id. Every answer passes the same checks; the budget is a fixed number of
    scenarios and steps (derandomized), so what runs does not depend on the machine's speed."""
    if live_contest is None:
        pytest.skip("the stack seeded no active contest")
    created: set[str] = set()
    followed: list[str] = []
    tally: dict[str, int] = {}

    class Workflow(linked_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            # Random bodies almost never create anything (a contest starts in the future, an order names a listed
            # symbol): the fields a creation hinges on are set, the others stay generated.
            operation = case.operation.definition.raw.get("operationId")
            if operation == "contests.create" and isinstance(case.body, dict):
                starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
                case.body = {**case.body, "startsAt": _iso(starts), "endsAt": _iso(starts + timedelta(days=7)),
                             "name": "Stateful contest", "startingCash": "100000.00"}
            if operation == "orders.place":
                case.path_parameters = {**case.path_parameters, "contestId": live_contest["id"]}
                if isinstance(case.body, dict):  # a limit far below the market: it stays open to be read, cancelled
                    case.body = {**case.body, "symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit",
                                 "limitPrice": "1.00"}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": {**(case.headers or {}), **_caller_headers(case, player, admin)},
                    "timeout": TIMEOUT}

        def after_call(self, response: Any, case: Any) -> None:
            operation = case.operation.definition.raw.get("operationId")
            tally[f"{operation} {response.status_code}"] = tally.get(f"{operation} {response.status_code}", 0) + 1
            if operation in ("contests.create", "orders.place") and response.status_code == 201:
                created.add(response.json()["id"])
            elif any(value in created for value in (case.path_parameters or {}).values()):
                followed.append(str(operation))

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate],
    ))
    assert created, f"no scenario created a contest or an order: {tally}"
    assert followed, f"no scenario followed a link to what it had created: {tally}"
