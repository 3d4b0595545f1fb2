"""Many simultaneous orders on ONE entry against DynamoDB Local: cash and shares never go negative, the ledger
reconciles to the cent, and a clientOrderId fills once however many times it is retried at once.

These run with the in-process entry lock OFF (`unlocked`), so every thread really races every other one through
DynamoDB's conditions: what is tested is the transaction, not the lock. DynamoDB Local queues transactions, so
under such a storm some placements run out of retries and answer 503 (counted as "busy"); none may break a rule.
One test runs with the lock on, as the local gateway does, and expects no 503 at all.

The "containers" variants give each group of threads its own placement memory (services/placement_memory.py), as
Lambda containers have: each places from what it remembers and loses races to the others' writes."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.domain.contests import ContestRules
from tickerleague.domain.trading import ledger_imbalance
from tickerleague.errors import RuleViolation, ServiceUnavailable
from tickerleague.services import reconciliation
from tickerleague.services.placement_memory import PlacementMemory

from tests.support.trading import World


def unlocked(world: World) -> World:
    return replace(world, ports=replace(world.ports, serialize_entry_writes=False))


def containers(world: World, count: int) -> list[World]:
    """`count` views of the world, each with its own placement memory; [world] itself when count is 0."""
    if count == 0:
        return [world]
    return [replace(world, ports=replace(world.ports, memory=PlacementMemory(30))) for _ in range(count)]

pytestmark = pytest.mark.integration

THREADS = 32
ORDERS = 500


@pytest.mark.parametrize("container_count", [0, 4], ids=["reading-first", "4-containers"])
def test_500_mixed_orders_from_32_threads_never_overspend_and_reconcile(world: World, container_count: int) -> None:
    world = unlocked(world)
    views = containers(world, container_count)
    contest = world.contest(rules=ContestRules(commission_per_trade=Decimal("1.00")), starting_cash="600000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "187.43")
    world.quote("MSFT", "401.17")
    rng = random.Random(20261129)
    plans: list[dict[str, Any]] = []
    for _ in range(ORDERS):
        symbol = rng.choice(["AAPL", "MSFT"])
        plan: dict[str, Any] = {
            "symbol": symbol,
            "side": rng.choice(["buy", "buy", "sell"]),
            "quantity": str(rng.randint(1, 15)),
        }
        if rng.random() < 0.2:  # some limit orders that stay open and hold a reservation
            plan.update(order_type="limit", limit_price="150" if plan["side"] == "buy" else "900", time_in_force="gtc")
        plans.append(plan)
    start = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(index: int) -> None:
        start.wait()
        view = views[index % len(views)]
        for plan in plans[index::THREADS]:
            try:
                result = view.place("alice", contest, **plan)
                label = result.order.status
            except RuleViolation as violation:
                label = violation.code
            except ServiceUnavailable:
                label = "busy"
            with lock:
                outcomes[label] += 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))

    print("outcomes:", dict(outcomes))
    assert sum(outcomes.values()) == ORDERS
    assert set(outcomes) <= {"filled", "open", "INSUFFICIENT_CASH", "INSUFFICIENT_SHARES", "busy"}, outcomes
    assert outcomes["filled"] + outcomes["open"] >= 100, outcomes
    entry = world.entry(contest, "alice")
    portfolio = entry.portfolio
    assert portfolio.cash >= 0 and portfolio.available_cash >= 0
    for position in portfolio.positions.values():
        assert position.quantity >= 0 and 0 <= position.reserved_quantity <= position.quantity
    assert ledger_imbalance(portfolio) == 0
    stored = orders_table.orders_of_entry(contest.contest_id, "alice")
    assert len(stored) == outcomes["filled"] + outcomes["open"] == entry.version
    assert Counter(order.status for order in stored) == Counter(filled=outcomes["filled"], open=outcomes["open"])
    assert reconciliation.reconcile_entry(entry, stored) == []


@pytest.mark.parametrize("container_count", [0, 4], ids=["reading-first", "4-containers"])
def test_100_simultaneous_retries_of_one_client_order_id_fill_once(world: World, container_count: int) -> None:
    world = unlocked(world)
    views = containers(world, container_count)
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    for number, view in enumerate(views[1:] if container_count else []):  # each container remembers the entry
        view.place("alice", contest, quantity="1", client_order_id=f"warm-{number}")
    warm = max(container_count - 1, 0)  # and all but the first remember an old version of it
    start = threading.Barrier(THREADS)

    def attempt(index: int) -> tuple[bool, str]:
        if index < THREADS:
            start.wait()
        result = views[index % len(views)].place("alice", contest, quantity="3", client_order_id="retry-me")
        return result.created, result.order.order_id

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(attempt, range(100)))
    assert sum(created for created, _ in answers) == 1
    assert len({order_id for _, order_id in answers}) == 1
    entry = world.entry(contest, "alice")
    assert entry.version == warm + 1 and entry.portfolio.positions["AAPL"].quantity == Decimal(3 + warm)
    assert len(orders_table.orders_of_entry(contest.contest_id, "alice")) == warm + 1


def test_with_the_in_process_lock_simultaneous_orders_never_run_out_of_retries(world: World) -> None:
    contest = world.contest(starting_cash="1000000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    start = threading.Barrier(THREADS)

    def burst(_: int) -> str:
        start.wait()
        return world.place("alice", contest, quantity="1").order.status

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(burst, range(THREADS)))
    assert statuses == ["filled"] * THREADS
    assert world.entry(contest, "alice").version == THREADS
