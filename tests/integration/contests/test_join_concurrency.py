"""Joining under real concurrency (DynamoDB Local): capacity is exact, a user never gets two entries."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from tickerleague.clock import utcnow
from tickerleague.domain.contests import Contest, ContestDefinition
from tickerleague.errors import DomainError
from tickerleague.http.principal import Principal
from tickerleague.ids import new_ulid

pytestmark = pytest.mark.integration
THREADS = 32


class NoWorkflows:
    """The lifecycle port, recording instead of starting executions (not under test here)."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, contest: Contest) -> str:
        self.started.append(contest.execution_name())
        return f"arn:aws:states:us-east-1:123456789012:execution:ContestLifecycle:{contest.execution_name()}"

    def stop(self, execution_arn: str, cause: str) -> None:
        return None


def scheduled_contest(max_entries: int | None) -> Contest:
    from tickerleague.services import contests as service

    admin = service.Actor(new_ulid())
    now = utcnow()
    definition = ContestDefinition(name="Rush", description="", starts_at=now + timedelta(days=1),
                                   ends_at=now + timedelta(days=2), max_entries=max_entries)
    draft = service.create_contest(admin, definition)
    return service.publish_contest(admin, draft.contest_id, lifecycle=NoWorkflows())


def attempt(principal: Principal, contest_id: str) -> tuple[str, str | None]:
    """("201" | "200", entry id) or (error code, None)."""
    from tickerleague.services.entries import join_contest

    try:
        answer = join_contest(principal, contest_id, None)
    except DomainError as error:
        return error.code, None
    return ("201" if answer.created else "200"), answer.entry.entry_id


def stored(contest_id: str) -> tuple[int, int, int]:
    """(entryCount on the contest, entry items, entry-id markers), read back from the table."""
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.adapters.dynamodb.entries import contest_entries_partition
    from tickerleague.adapters.dynamodb.plumbing import client
    from tickerleague.config import settings

    contest = repo.get(contest_id, consistent=True)
    assert contest is not None
    table = settings().table_name
    entries = 0
    for shard in range(settings().entry_shards):
        pages = client().get_paginator("query").paginate(
            TableName=table, IndexName="GSI1", KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues={":p": {"S": contest_entries_partition(contest_id, shard)}})
        entries += sum(page["Count"] for page in pages)
    markers = sum(page["Count"] for page in client().get_paginator("scan").paginate(
        TableName=table, FilterExpression="begins_with(PK, :p)", ExpressionAttributeValues={":p": {"S": "ENTRYID#"}}))
    return contest.entry_count, entries, markers


def run_all(calls: list[Any]) -> list[tuple[str, str | None]]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def test_max_entries_is_exact_when_200_players_rush_50_seats(contests_ddb: str) -> None:
    contest = scheduled_contest(max_entries=50)
    players = [Principal(new_ulid(), "user", "s") for _ in range(200)]
    results = run_all([lambda p=p: attempt(p, contest.contest_id) for p in players])
    codes = Counter(code for code, _ in results)
    assert codes == {"201": 50, "CONTEST_FULL": 150}
    assert stored(contest.contest_id) == (50, 50, 50)


def test_one_player_joining_20_times_at_once_gets_one_entry(contests_ddb: str) -> None:
    contest = scheduled_contest(max_entries=None)
    player = Principal(new_ulid(), "user", "s")
    results = run_all([lambda: attempt(player, contest.contest_id) for _ in range(20)])
    codes = Counter(code for code, _ in results)
    assert codes == {"201": 1, "200": 19}
    assert len({entry_id for _, entry_id in results}) == 1
    assert stored(contest.contest_id) == (1, 1, 1)


def test_a_cancel_racing_the_joins_never_counts_an_entry_it_did_not_keep(contests_ddb: str) -> None:
    from tickerleague.services import contests as service

    contest = scheduled_contest(max_entries=None)
    players = [Principal(new_ulid(), "user", "s") for _ in range(60)]
    calls: list[Any] = [lambda p=p: attempt(p, contest.contest_id) for p in players]
    calls.insert(20, lambda: (service.cancel_contest(service.Actor("admin"), contest.contest_id,
                                                     lifecycle=NoWorkflows()).status.value, None))
    results = run_all(calls)
    codes = Counter(code for code, _ in results)
    assert codes["cancelled"] == 1
    assert set(codes) <= {"201", "CONTEST_NOT_JOINABLE", "cancelled"}
    count, entries, markers = stored(contest.contest_id)
    assert count == entries == markers == codes["201"]
