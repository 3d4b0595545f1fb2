"""The order rate limit kept in the order's own transaction (GCRA on the entry item's `orderTat`), on a moto table:
the decision wiring in `services.orders`, and the route's answers and round trips (`functions/orders.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.clock import utcnow
from tickerleague.domain.rate_limit import Bucket
from tickerleague.errors import RateLimited, RuleViolation
from tickerleague.services.orders import cancel_order
from tickerleague.services.placement_memory import PlacementMemory

from functions import orders
from tests.support.events import Caller, HttpAnswer, api_event, call
from tests.support.trading import NOW, World, principal

LIMIT = Bucket("orders", 3, Decimal("0.01"))  # 100 s a token: nothing refills during a test
INTERVAL_MS = 100_000
NOW_MS = int(NOW.timestamp() * 1000)


def limited(world: World, *, memory: bool = True) -> World:
    return replace(world, ports=replace(world.ports, order_limit=LIMIT,
                                        memory=PlacementMemory(30) if memory else None))


def stored_tat(world: World, contest: Any, user_id: str) -> int:
    return world.entry(contest, user_id).order_tat_ms


class Operations:
    """Every DynamoDB call made on the adapters' client, by operation name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        self.names.append(kwargs["model"].name)


@pytest.fixture
def operations() -> Iterator[Operations]:
    from tickerleague.adapters.dynamodb.plumbing import client

    counted = Operations()
    client().meta.events.register("before-call.dynamodb", counted)
    yield counted
    client().meta.events.unregister("before-call.dynamodb", counted)


# ---------------------------------------------------------------------------------------------------- the service
@pytest.mark.parametrize("memory", [True, False], ids=["remembered", "reading-first"])
def test_the_burst_is_admitted_then_refused_with_retry_after(world: World, memory: bool) -> None:
    world = limited(world, memory=memory)
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    results = [world.place("alice", contest, quantity="1") for _ in range(3)]
    assert [result.limit.remaining for result in results if result.limit] == [2, 1, 0]
    assert [result.limit.headers()["RateLimit-Limit"] for result in results if result.limit] == ["3"] * 3
    assert stored_tat(world, contest, "alice") == NOW_MS + 3 * INTERVAL_MS
    cash = world.entry(contest, "alice").portfolio.cash
    with pytest.raises(RateLimited) as refused:
        world.place("alice", contest, quantity="1")
    assert refused.value.retry_after_seconds == 100
    assert refused.value.headers == {"Retry-After": "100", "RateLimit-Limit": "3", "RateLimit-Remaining": "0",
                                     "RateLimit-Reset": "300"}
    after = world.entry(contest, "alice")
    assert after.portfolio.cash == cash and after.order_tat_ms == NOW_MS + 3 * INTERVAL_MS  # nothing written
    # One interval later exactly one more is admitted.
    later = NOW + timedelta(milliseconds=INTERVAL_MS)
    assert world.place("alice", contest, quantity="1", now=later).limit is not None
    with pytest.raises(RateLimited):
        world.place("alice", contest, quantity="1", now=later)


def test_the_rate_limit_is_decided_before_the_rules_and_a_rule_refusal_takes_no_token(world: World) -> None:
    world = limited(world)
    contest = world.contest(starting_cash="100.00")
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    with pytest.raises(RuleViolation):
        world.place("alice", contest, quantity="1000")
    assert stored_tat(world, contest, "alice") == 0  # a refused order moves no TAT (http.rate_limit charges it)
    for _ in range(3):
        world.place("alice", contest, quantity="1")
    with pytest.raises(RateLimited):  # over the limit: 429 even for an order the rules would refuse
        world.place("alice", contest, quantity="1000")


def test_a_remembered_placement_costs_one_transaction_and_a_remembered_refusal_is_read_again(
        world: World, operations: Operations) -> None:
    world = limited(world)
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    world.place("alice", contest, quantity="1")
    operations.names.clear()
    world.place("alice", contest, quantity="1")
    assert operations.names == ["TransactWriteItems"]  # the limit costs no call of its own
    world.place("alice", contest, quantity="1")
    operations.names.clear()
    with pytest.raises(RateLimited):
        world.place("alice", contest, quantity="1")
    assert operations.names == ["BatchGetItem"]  # refused on the remembered TAT: read, refused on the fresh one


def test_a_stale_remembered_tat_never_refuses(world: World) -> None:
    from tickerleague.adapters.dynamodb import entries as entries_table
    from tickerleague.adapters.dynamodb import plumbing
    from tickerleague.config import settings

    world = limited(world)
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    for _ in range(3):
        world.place("alice", contest, quantity="1")
    # The stored TAT goes back (a full put of the entry from elsewhere) while this container remembers the full one.
    plumbing.client().update_item(
        TableName=settings().table_name, Key=plumbing.to_attribute_map(entries_table.entry_key(
            contest.contest_id, "alice")), UpdateExpression="REMOVE orderTat")
    result = world.place("alice", contest, quantity="1")
    assert result.created and result.limit is not None and result.limit.remaining == 2


def test_two_containers_racing_admit_the_burst_once_between_them(world: World) -> None:
    world = limited(world)
    one, other = (replace(world, ports=replace(world.ports, memory=PlacementMemory(30))) for _ in range(2))
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    admitted = refused = 0
    for index in range(8):  # each container places from the entry it wrote last: its commits lose races
        try:
            (one if index % 2 else other).place("alice", contest, quantity="1")
            admitted += 1
        except RateLimited:
            refused += 1
    assert (admitted, refused) == (3, 5)
    assert world.entry(contest, "alice").portfolio.positions["AAPL"].quantity == 3


def test_the_bucket_is_per_entry_and_fills_and_cancels_keep_the_tat(world: World) -> None:
    world = limited(world)
    first, second = world.contest(), world.contest()
    for contest in (first, second):
        world.join(contest, "alice")
    world.join(first, "bob")
    world.quote("AAPL", "10.00")
    opened = world.place("alice", first, quantity="1", order_type="limit", limit_price="1.00")
    world.place("alice", first, quantity="1")
    world.place("alice", first, quantity="1")
    cancel_order(principal("alice"), first.contest_id, opened.order.order_id, NOW, world.ports)
    assert stored_tat(world, first, "alice") == NOW_MS + 3 * INTERVAL_MS  # the cancel's write kept it
    with pytest.raises(RateLimited):
        world.place("alice", first, quantity="1")
    assert world.place("alice", second, quantity="1").created  # the same player in another contest
    assert world.place("bob", first, quantity="1").created  # another player in the same contest


def test_limits_off_write_no_tat(world: World) -> None:
    world = replace(world, ports=replace(world.ports, order_limit=None))
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    for _ in range(5):
        assert world.place("alice", contest, quantity="1").limit is None
    assert stored_tat(world, contest, "alice") == 0


def test_placements_and_refusals_are_counted(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague import metrics

    counted: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(metrics, "count", lambda name, value=1, **dimensions: counted.append((name, dimensions)))
    world = limited(world)
    contest = world.contest(starting_cash="100.00")
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    world.place("alice", contest, quantity="1")
    world.place("alice", contest, quantity="1", order_type="limit", limit_price="1.00")
    with pytest.raises(RuleViolation):
        world.place("alice", contest, quantity="1000")
    world.place("alice", contest, quantity="1")
    with pytest.raises(RateLimited):
        world.place("alice", contest, quantity="1")
    assert counted == [
        ("OrdersPlaced", {"type": "market"}), ("OrdersPlaced", {"type": "limit"}),
        ("OrdersRefused", {"code": "INSUFFICIENT_CASH"}), ("OrdersPlaced", {"type": "market"}),
        ("OrdersRefused", {"code": "RATE_LIMITED"}), ("RateLimitRefusals", {"bucket": "orders"}),
    ]


# ---------------------------------------------------------------------------------------------------- the route
ALICE = Caller("alice")


@pytest.fixture
def live(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from tickerleague.adapters.dynamodb import rate_limit
    from tickerleague.config import settings
    from tickerleague.services.placement_memory import default_memory

    monkeypatch.setenv("RATE_LIMIT_ENABLED", "1")
    monkeypatch.setenv("RATE_LIMIT_ORDERS_BURST", "3")
    monkeypatch.setenv("RATE_LIMIT_ORDERS_PER_SECOND", "0.01")
    settings.cache_clear()
    rate_limit.forget_seen()
    default_memory().clear()
    yield replace(world, now=utcnow())
    default_memory().clear()
    settings.cache_clear()


def place(contest_id: str, body: Any, *, key: str | None = None, raw: str | None = None) -> HttpAnswer:
    return call(orders.place, api_event(
        "POST", f"/v1/contests/{contest_id}/orders", resource="/v1/contests/{contestId}/orders", body=body,
        raw_body=raw, path_params={"contestId": contest_id}, caller=ALICE,
        headers={"Idempotency-Key": key} if key else {}))


def bucket_items() -> list[str]:
    from tickerleague.adapters.dynamodb.plumbing import client
    from tickerleague.config import settings

    pages = client().get_paginator("scan").paginate(TableName=settings().table_name, ProjectionExpression="PK")
    return sorted(item["PK"]["S"] for page in pages for item in page.get("Items", [])
                  if item["PK"]["S"].startswith(("RATELIMIT#", "IDEMPOTENCY#")))


BUY = {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market"}


def test_the_route_answers_the_transactions_decision_and_writes_no_bucket(live: World,
                                                                          operations: Operations) -> None:
    contest = live.contest()
    live.join(contest, "alice")
    live.quote("AAPL", "10.00")
    answers = [place(contest.contest_id, BUY)]
    operations.names.clear()
    answers += [place(contest.contest_id, BUY) for _ in range(3)]
    # Remembered placements: one transaction each; the refusal, decided on the remembered TAT, reads once more.
    assert operations.names == ["TransactWriteItems", "TransactWriteItems", "BatchGetItem"]
    assert [answer.status for answer in answers] == [201, 201, 201, 429]
    assert [answer.headers["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert all(answer.headers["RateLimit-Limit"] == "3" for answer in answers)
    refused = answers[-1]
    assert refused.error_code == "RATE_LIMITED" and int(refused.headers["Retry-After"]) in (99, 100)
    assert bucket_items() == []


def test_orders_that_never_reach_the_transaction_take_the_players_bucket(live: World,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague import metrics

    counted: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(metrics, "count", lambda name, value=1, **dimensions: counted.append((name, dimensions)))
    contest = live.contest(starting_cash="100.00")
    live.join(contest, "alice")
    live.quote("AAPL", "10.00")
    bad = [place(contest.contest_id, {**BUY, "quantity": "-1"}),  # 422 on the body
           place(contest.contest_id, None, raw="{"),  # 400
           place(contest.contest_id, {**BUY, "quantity": "1000"})]  # 422 INSUFFICIENT_CASH
    assert [answer.status for answer in bad] == [422, 400, 422]
    assert [answer.headers["RateLimit-Remaining"] for answer in bad] == ["2", "1", "0"]
    over = place(contest.contest_id, {**BUY, "quantity": "1000"})
    assert over.status == 429 and over.error_code == "RATE_LIMITED" and over.headers["RateLimit-Remaining"] == "0"
    assert bucket_items() == ["RATELIMIT#orders#alice"]
    assert counted.count(("RateLimitRefusals", {"bucket": "orders"})) == 1
    assert counted.count(("OrdersRefused", {"code": "INSUFFICIENT_CASH"})) == 2  # the service refused both
    # Placements that reach the transaction are limited there, per entry, on their own numbers.
    assert place(contest.contest_id, BUY).status == 201


def test_a_429_from_the_transaction_releases_the_idempotency_key(live: World,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.config import settings

    contest = live.contest()
    live.join(contest, "alice")
    live.quote("AAPL", "10.00")
    for index in range(3):
        assert place(contest.contest_id, BUY, key=f"k{index}").status == 201
    refused = place(contest.contest_id, BUY, key="retry-me")
    assert refused.status == 429
    assert sum(name.startswith("IDEMPOTENCY#") for name in bucket_items()) == 3  # the refusal stored nothing
    monkeypatch.setenv("RATE_LIMIT_ORDERS_BURST", "10")  # room again: the retry runs, it is not a replay
    settings.cache_clear()
    retried = place(contest.contest_id, BUY, key="retry-me")
    assert retried.status == 201 and "Idempotent-Replayed" not in retried.headers
    again = place(contest.contest_id, BUY, key="retry-me")
    assert again.status == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.body["id"] == retried.body["id"]
