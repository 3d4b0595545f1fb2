"""Helpers of the contest unit tests: people, synthetic API Gateway calls of the contest and entry routes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.events import Caller, HttpAnswer, api_event, call

ROOT = Path(__file__).resolve().parents[3]
ASL = ROOT / "statemachines" / "contest_lifecycle.asl.json"
PASSWORD = "correct horse battery"


def future(days: float = 1, *, hours: float = 0) -> str:
    moment = datetime.now(UTC) + timedelta(days=days, hours=hours)
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Person:
    caller: Caller
    token: str

    @property
    def user_id(self) -> str:
        return self.caller.user_id

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_person(email: str, name: str, role: str = "user") -> Person:
    from tickerleague.services import auth

    result = auth.signup(email, PASSWORD, name, datetime.now(UTC), role=role)
    return Person(Caller(result.user.id, role, "s-" + result.user.id[-6:]), result.access_token)


@dataclass
class World:
    admin: Person
    alice: Person
    bob: Person
    state_machine_arn: str

    def executions(self) -> list[dict[str, Any]]:
        import boto3

        client = boto3.client("stepfunctions", region_name="us-east-1")
        return [dict(item) for item in client.list_executions(stateMachineArn=self.state_machine_arn)["executions"]]


# ------------------------------------------------------------------------------------------------ HTTP helpers
def contest_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Spring Cup", "startsAt": future(1), "endsAt": future(8)}
    body.update(overrides)
    return body


def create(person: Person, **overrides: Any) -> HttpAnswer:
    from functions import contests

    return call(
        contests.create, api_event("POST", "/v1/contests", body=contest_body(**overrides), caller=person.caller)
    )


def create_raw(person: Person, body: Any) -> HttpAnswer:
    from functions import contests

    return call(contests.create, api_event("POST", "/v1/contests", body=body, caller=person.caller))


def get(reference: str, person: Person | None = None) -> HttpAnswer:
    from functions import contests

    return call(
        contests.get,
        api_event(
            "GET",
            f"/v1/contests/{reference}",
            resource="/v1/contests/{contestId}",
            path_params={"contestId": reference},
            headers=person.bearer if person else None,
        ),
    )


def listing(person: Person | None = None, **query: str) -> HttpAnswer:
    from functions import contests

    return call(
        contests.list_contests,
        api_event("GET", "/v1/contests", query=query or None, headers=person.bearer if person else None),
    )


def patch(person: Person, contest_id: str, body: Any) -> HttpAnswer:
    from functions import contests

    return call(
        contests.update,
        api_event(
            "PATCH",
            f"/v1/contests/{contest_id}",
            resource="/v1/contests/{contestId}",
            path_params={"contestId": contest_id},
            body=body,
            caller=person.caller,
        ),
    )


def action(person: Person, contest_id: str, verb: str) -> HttpAnswer:
    from functions import contests

    handler = {"publish": contests.publish, "cancel": contests.cancel}[verb]
    return call(
        handler,
        api_event(
            "POST",
            f"/v1/contests/{contest_id}/{verb}",
            resource=f"/v1/contests/{{contestId}}/{verb}",
            path_params={"contestId": contest_id},
            caller=person.caller,
        ),
    )


def join(person: Person, contest_id: str, body: Any = None) -> HttpAnswer:
    from functions import entries

    return call(
        entries.join,
        api_event(
            "POST",
            f"/v1/contests/{contest_id}/entries",
            resource="/v1/contests/{contestId}/entries",
            path_params={"contestId": contest_id},
            body=body,
            caller=person.caller,
        ),
    )


def portfolio(person: Person, contest_id: str) -> HttpAnswer:
    from functions import entries

    return call(
        entries.portfolio,
        api_event(
            "GET",
            f"/v1/contests/{contest_id}/portfolio",
            resource="/v1/contests/{contestId}/portfolio",
            path_params={"contestId": contest_id},
            caller=person.caller,
        ),
    )


def published(world: World, **overrides: Any) -> dict[str, Any]:
    """A scheduled contest (created and published by the admin)."""
    created = create(world.admin, **overrides)
    assert created.status == 201, created.body
    answer = action(world.admin, created.body["id"], "publish")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def force_status(contest_id: str, status: str) -> None:
    """Move a contest the way the lifecycle would (tests of what each status allows)."""
    from tickerleague.adapters.dynamodb.contests import ContestItem
    from tickerleague.domain.contests import ContestStatus

    pk, sk = ContestItem.key(contest_id)
    ContestItem(pk, sk).update(
        actions=[
            ContestItem.status.set(status),
            ContestItem.GSI2PK.set(ContestItem.status_partition(ContestStatus(status))),
        ]
    )


def dumps(value: Any) -> str:
    return json.dumps(value)
