"""Ten simultaneous identical orders under one Idempotency-Key place ONE order, on DynamoDB Local (moto serialises
on the GIL: no oracle for this): through the service, as if every request's Idempotency-Key record had been lost,
so only the order's key marker stands between them and ten fills; and through the route with every answer lost
after its write (the record's completion fails), so each retry runs the endpoint again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.clock import utcnow
from tickerleague.errors import ServiceUnavailable
from tickerleague.services.placement_memory import PlacementMemory

from functions import orders
from tests.support.events import Caller, api_event, call
from tests.support.trading import World

pytestmark = pytest.mark.integration

THREADS = 10


def _race(count: int, work: Any) -> list[Any]:
    start = threading.Barrier(count)

    def one(index: int) -> Any:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("remembering", [False, True], ids=["reading-first", "remembered-entry"])
def test_ten_simultaneous_placements_under_one_key_fill_once(world: World, remembering: bool) -> None:
    """The entry lock off, so every thread races the others through DynamoDB's conditions; with a remembered
    entry the marker is found by the transaction's condition alone (no read first)."""
    world = replace(world, ports=replace(world.ports, serialize_entry_writes=False))
    contest = world.contest(starting_cash="10000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    views = [world]
    if remembering:
        views = [replace(world, ports=replace(world.ports, memory=PlacementMemory(30))) for _ in range(THREADS)]
        for number, view in enumerate(views):  # each container remembers the entry (all but the last, stale)
            view.place("alice", contest, quantity="1", idempotency_key=f"warm-{number}")
    warm = len(views) if remembering else 0

    def attempt(index: int) -> tuple[bool, bool, str] | str:
        try:
            result = views[index % len(views)].place("alice", contest, quantity="2", idempotency_key="once")
        except ServiceUnavailable:
            return "busy"
        return result.created, result.replayed, result.order.order_id

    answers = _race(THREADS, attempt)
    placed = [answer for answer in answers if answer != "busy"]
    assert sum(created for created, _, _ in placed) == 1, answers
    assert all(replayed for created, replayed, _ in placed if not created)
    assert len({order_id for _, _, order_id in placed}) == 1
    entry = world.entry(contest, "alice")
    assert entry.version == warm + 1
    assert entry.portfolio.cash == Decimal("10000.00") - Decimal(100 * (2 + warm))
    assert len(orders_table.orders_of_entry(contest.contest_id, "alice")) == warm + 1


@pytest.fixture
def answers_lost(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every completion of an Idempotency-Key record fails (a 5xx from DynamoDB), and a claim whose request never
    completed may be taken over at once: every retry runs the endpoint again."""
    from botocore.exceptions import ClientError
    from tickerleague.adapters.dynamodb import idempotency as records
    from tickerleague.config import settings
    from tickerleague.services.placement_memory import default_memory

    def failing(*args: Any, **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "UpdateItem")

    monkeypatch.setattr(records, "complete", failing)
    monkeypatch.setenv("IDEMPOTENCY_IN_FLIGHT_SECONDS", "0")
    settings.cache_clear()
    default_memory().clear()
    yield
    default_memory().clear()
    settings.cache_clear()


def test_ten_simultaneous_requests_whose_answers_are_lost_place_one_order(world: World, answers_lost: None) -> None:
    live = replace(world, now=utcnow())
    contest = live.contest(starting_cash="1000.00")
    live.join(contest, "alice")
    live.quote("AAPL", "100")
    body = {"symbol": "AAPL", "side": "buy", "quantity": "2", "type": "market"}

    def request(_: int) -> Any:
        return call(
            orders.place,
            api_event(
                "POST",
                f"/v1/contests/{contest.contest_id}/orders",
                resource="/v1/contests/{contestId}/orders",
                body=body,
                path_params={"contestId": contest.contest_id},
                caller=Caller("alice"),
                headers={"Idempotency-Key": "lost-10"},
            ),
        )

    first_round = _race(THREADS, request)
    retries = [request(0) for _ in range(2)]  # and retried once things are quiet
    answers = first_round + retries
    assert {answer.status for answer in answers} <= {201, 409, 503}, [answer.status for answer in answers]
    stored = orders_table.orders_of_entry(contest.contest_id, "alice")
    assert len(stored) == 1
    assert {answer.body["id"] for answer in answers if answer.status == 201} == {stored[0].order_id}
    assert all(answer.headers["Idempotent-Replayed"] == "true" for answer in retries)
    assert live.entry(contest, "alice").portfolio.cash == Decimal("800.00")
