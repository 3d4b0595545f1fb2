"""The order rate limit kept in the order's transaction (GCRA on the entry's `orderTat`), raced on DynamoDB Local by
32 threads on ONE entry: never more placements admitted than the bucket allows, whatever the containers remember.

The in-process entry lock is OFF (every thread races through DynamoDB's version condition), and the "containers"
variant gives groups of threads their own placement memory, as Lambda containers have. Under such a storm some
placements run out of retries (503, "busy"); none may be admitted over the limit."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.domain.rate_limit import Bucket
from tickerleague.errors import RateLimited, ServiceUnavailable
from tickerleague.services.placement_memory import PlacementMemory

from tests.support.trading import World

pytestmark = pytest.mark.integration

THREADS = 32


def limited(world: World, bucket: Bucket, containers: int) -> list[World]:
    """Views of the world with the limit on and the lock off; one per container (one, reading first, for 0)."""
    world = replace(world, ports=replace(world.ports, order_limit=bucket, serialize_entry_writes=False))
    if containers == 0:
        return [world]
    return [replace(world, ports=replace(world.ports, memory=PlacementMemory(30))) for _ in range(containers)]


def _race(work: Any) -> list[Any]:
    start = threading.Barrier(THREADS)

    def one(index: int) -> Any:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


@pytest.mark.parametrize("container_count", [0, 4], ids=["reading-first", "4-containers"])
def test_32_threads_on_one_entry_never_over_admit(world: World, container_count: int) -> None:
    bucket = Bucket("orders", 10, Decimal("0.001"))  # no refill to speak of during the test
    views = limited(world, bucket, container_count)
    contest = world.contest(starting_cash="1000000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    for view in views[1:]:  # the other containers remember the entry too (each a version older than the last)
        view.place("alice", contest, quantity="1", client_order_id=f"warm-{id(view)}")
    warm = len(views) - 1 if container_count else 0

    def hammer(index: int) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for _ in range(3):
            try:
                views[index % len(views)].place("alice", contest, quantity="1")
                outcomes["admitted"] += 1
            except RateLimited:
                outcomes["refused"] += 1
            except ServiceUnavailable:
                outcomes["busy"] += 1
        return outcomes

    outcomes = sum(_race(hammer), Counter())
    print("outcomes:", dict(outcomes), "warm:", warm)
    assert outcomes["admitted"] + warm <= bucket.burst, outcomes
    assert outcomes["refused"] >= 3 * THREADS - bucket.burst - outcomes["busy"], outcomes
    entry = world.entry(contest, "alice")
    stored = orders_table.orders_of_entry(contest.contest_id, "alice")
    assert len(stored) == entry.version == outcomes["admitted"] + warm  # every admission is one order, no more
    assert entry.portfolio.positions["AAPL"].quantity == len(stored)
    assert entry.order_tat_ms == int(world.now.timestamp() * 1000) + len(stored) * bucket.interval_ms
    for _ in range(bucket.burst - len(stored)):  # what the busy ones left: the bucket holds exactly its burst
        views[0].place("alice", contest, quantity="1")
    with pytest.raises(RateLimited):
        views[0].place("alice", contest, quantity="1")


def test_32_threads_at_a_refilling_entry_bucket_get_at_most_burst_plus_rate_times_t(world: World) -> None:
    bucket = Bucket("orders", 5, Decimal(20))
    world = replace(world, now=datetime.now(UTC))  # real time: the quote must be fresh at every placement
    (view,) = limited(world, bucket, 0)
    contest = world.contest(starting_cash="1000000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "10.00")
    stop = time.time() + 1.0

    def hammer(_: int) -> list[int]:
        times = []
        while time.time() < stop:
            now = datetime.now(UTC)
            try:
                view.place("alice", contest, quantity="1", now=now)
            except (RateLimited, ServiceUnavailable):
                continue
            times.append(int(now.timestamp() * 1000))
        return times

    admitted = sorted(moment for times in _race(hammer) for moment in times)
    window = Decimal(admitted[-1] - admitted[0]) / 1000
    assert len(admitted) <= bucket.burst + bucket.per_second * window
    assert len(admitted) >= bucket.burst  # and it did admit
    assert len(orders_table.orders_of_entry(contest.contest_id, "alice")) == len(admitted)
