"""POST /v1/contests with an Idempotency-Key creates one contest per (admin, key), even when the first answer was
lost after the contest committed (the Idempotency-Key record then holds no answer and the retry runs again): the
create transaction writes a marker named by the admin and the key (adapters/dynamodb/contests.py), on moto.
The same raced on DynamoDB Local: tests/integration/contests/test_create_idempotency_ddb_local.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.events import HttpAnswer, api_event, call
from tests.unit.contests.helpers import Person, World, contest_body


@pytest.fixture(autouse=True)
def _claims_reclaimable_at_once(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A claim whose request died may be taken over at once (no waiting out IDEMPOTENCY_IN_FLIGHT_SECONDS)."""
    from tickerleague.config import settings

    monkeypatch.setenv("IDEMPOTENCY_IN_FLIGHT_SECONDS", "0")
    settings.cache_clear()
    yield
    settings.cache_clear()


def create(person: Person, body: dict[str, Any], key: str | None) -> HttpAnswer:
    from functions import contests

    headers = {"Idempotency-Key": key} if key else {}
    return call(contests.create, api_event("POST", "/v1/contests", body=body, caller=person.caller, headers=headers))


def _items(prefix: str) -> list[dict[str, Any]]:
    import boto3
    from tickerleague.config import settings

    pages = (
        boto3.client("dynamodb", region_name="us-east-1")
        .get_paginator("scan")
        .paginate(TableName=settings().table_name)
    )
    return [item for page in pages for item in page["Items"] if item["PK"]["S"].startswith(prefix)]


def contests_stored() -> list[str]:
    return [item["contest_id"]["S"] for item in _items("CONTEST#") if item["SK"]["S"] == "CONTEST"]


def created_events() -> int:
    return sum(item.get("action", {}).get("S") == "contest.created" for item in _items("AUDIT"))


# ------------------------------------------------------------------------------------------ ways to lose an answer
def lose_by_failed_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contest committed, then storing the answer failed (a 5xx from DynamoDB): nothing is stored."""
    from botocore.exceptions import ClientError
    from tickerleague.adapters.dynamodb import idempotency as records

    def failing(*args: Any, **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "UpdateItem")

    monkeypatch.setattr(records, "complete", failing)


def lose_by_a_crash_after_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contest committed, then the request died before answering (500: the claim is dropped)."""
    from functions import contests

    real = contests._admin_view
    calls = {"n": 0}

    def dying(contest: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the container went away")
        return real(contest)

    monkeypatch.setattr(contests, "_admin_view", dying)


def lose_by_a_deleted_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer was stored, then the record vanished."""
    from tickerleague.adapters.dynamodb import idempotency as records
    from tickerleague.adapters.dynamodb.entries import client, to_attribute_map
    from tickerleague.config import settings

    real = records.complete

    def completed_then_gone(scope: str, key: str, **kwargs: Any) -> None:
        real(scope, key, **kwargs)
        client().delete_item(TableName=settings().table_name, Key=to_attribute_map(records.record_key(scope, key)))

    monkeypatch.setattr(records, "complete", completed_then_gone)


LOSSES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "completion write failed": lose_by_failed_completion,
    "crash after the write": lose_by_a_crash_after_the_write,
    "record deleted": lose_by_a_deleted_record,
}


@pytest.mark.parametrize("lose", LOSSES.values(), ids=LOSSES.keys())
def test_a_retry_after_a_lost_answer_answers_the_first_contest_and_creates_no_second(
    world: World, monkeypatch: pytest.MonkeyPatch, lose: Callable[[pytest.MonkeyPatch], None]
) -> None:
    body = contest_body(name="Once Cup")
    with monkeypatch.context() as lost:
        lose(lost)
        first = create(world.admin, body, "create-once")
    assert first.status in (201, 500)
    retry = create(world.admin, body, "create-once")
    assert len(contests_stored()) == 1, "the retry created a second contest"
    assert retry.status == 201 and retry.body["id"] == contests_stored()[0]
    assert retry.body["slug"] == "once-cup" and retry.body["status"] == "draft"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert created_events() == 1
    again = create(world.admin, body, "create-once")  # the retry's answer is stored now: an ordinary replay
    assert again.body == retry.body and again.headers["Idempotent-Replayed"] == "true"
    assert len(contests_stored()) == 1


def test_another_contest_under_the_key_of_a_lost_answer_is_422(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as lost:
        lose_by_failed_completion(lost)
        create(world.admin, contest_body(name="Once Cup"), "k-1")
    other = create(world.admin, contest_body(name="Other Cup"), "k-1")
    assert (other.status, other.error_code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(contests_stored()) == 1


def test_keys_are_the_admins_own_and_no_key_creates_every_time(world: World) -> None:
    from tests.unit.contests.helpers import make_person

    other_admin = make_person("second-admin@example.com", "Second", role="admin")
    body = contest_body(name="Shared Cup")
    assert create(world.admin, body, "same-key").status == 201
    assert create(other_admin, body, "same-key").headers.get("Idempotent-Replayed") is None
    assert [create(world.admin, body, None).status for _ in range(2)] == [201, 201]
    assert len(contests_stored()) == 4


def test_a_retry_is_answered_even_after_its_start_time_has_passed(world: World) -> None:
    """The marker is looked up before validation: a retry must not fail on what has changed since."""
    from datetime import timedelta

    from tickerleague.domain.contests import ContestDefinition
    from tickerleague.errors import ValidationFailed
    from tickerleague.services import contests as service

    from tests.unit.contests.helpers import future

    actor = service.Actor(world.admin.user_id)
    definition = ContestDefinition(
        name="Soon Cup", description="", starts_at=_parse(future(hours=1)), ends_at=_parse(future(8))
    )
    first = service.create_contest_once(actor, definition, "k-soon")
    later = first.contest.created_at + timedelta(hours=2)
    again = service.create_contest_once(actor, definition, "k-soon", now=later)
    assert again.replayed and again.contest.contest_id == first.contest.contest_id
    # Once the key has expired (24 h) the request runs again: validated, and refused on its past start time.
    with pytest.raises(ValidationFailed):
        service.create_contest_once(actor, definition, "k-soon", now=later + timedelta(days=1))
    assert len(contests_stored()) == 1


def _parse(text: str) -> Any:
    from tickerleague.clock import parse_iso_utc

    return parse_iso_utc(text)
