"""Ten simultaneous creates by one admin under one Idempotency-Key make ONE contest (DynamoDB Local), as if every
request's Idempotency-Key record had been lost: only the create marker's condition stands between them and ten
contests (each with its own slug, -2, -3 ...). Ten creates under ten keys still make ten."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from tickerleague.clock import utcnow
from tickerleague.domain.contests import ContestDefinition
from tickerleague.ids import new_ulid

pytestmark = pytest.mark.integration
THREADS = 10


def _race(count: int, work: Any) -> list[Any]:
    start = threading.Barrier(count)

    def one(index: int) -> Any:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def _stored(prefix: str) -> list[dict[str, Any]]:
    from tickerleague.adapters.dynamodb.entries import client
    from tickerleague.config import settings

    pages = client().get_paginator("scan").paginate(TableName=settings().table_name, ConsistentRead=True)
    return [item for page in pages for item in page["Items"] if item["PK"]["S"].startswith(prefix)]


def test_ten_simultaneous_creates_under_one_key_make_one_contest(contests_ddb: str) -> None:
    from tickerleague.services import contests as service

    admin = service.Actor(new_ulid())
    now = utcnow()
    definition = ContestDefinition(
        name="Rush Cup", description="", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2)
    )

    answers = _race(THREADS, lambda _: service.create_contest_once(admin, definition, "once"))
    assert sum(not answer.replayed for answer in answers) == 1
    assert len({answer.contest.contest_id for answer in answers}) == 1
    contests = [item for item in _stored("CONTEST#") if item["SK"]["S"] == "CONTEST"]
    assert len(contests) == 1 and contests[0]["slug"]["S"] == "rush-cup"
    assert [item["PK"]["S"] for item in _stored("SLUG#")] == ["SLUG#rush-cup"]
    assert sum(item.get("action", {}).get("S") == "contest.created" for item in _stored("AUDIT")) == 1

    others = _race(THREADS, lambda index: service.create_contest_once(admin, definition, f"key-{index}"))
    assert not any(answer.replayed for answer in others)
    assert len({answer.contest.contest_id for answer in others}) == THREADS
