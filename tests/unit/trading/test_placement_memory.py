"""Placing with a remembered contest and entry (services/placement_memory.py): one round trip when the memory is
current, the same answers as reading first in every other case, and never a refusal decided on remembered state."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.domain.contests import Contest, ContestStatus
from tickerleague.domain.portfolio import Portfolio
from tickerleague.domain.trading import ledger_imbalance
from tickerleague.errors import NotFound, RuleViolation
from tickerleague.services import reconciliation
from tickerleague.services.placement_memory import PlacementMemory

from tests.support.trading import World, principal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore:
    """The orders table, counting which of its operations placing used."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        operation = getattr(orders_table.OrderTable, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return operation(*args, **kwargs)

        return counted


def container(world: World, memory: PlacementMemory, store: Any = None) -> World:
    """The world as one container sees it: its own memory (and, optionally, a counting store)."""
    return replace(world, ports=replace(world.ports, memory=memory, store=store or orders_table.OrderTable()))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory(clock: Clock) -> PlacementMemory:
    return PlacementMemory(5, clock=clock)


# ---------------------------------------------------------------------------------------------------- the memory
def _contest_and_entry(world: World, status: ContestStatus = ContestStatus.ACTIVE) -> tuple[Any, Any]:
    contest = world.contest(status=status)
    return contest, world.join(contest, "alice")


def test_recall_needs_both_the_contest_and_the_entry(world: World, memory: PlacementMemory) -> None:
    contest, entry = _contest_and_entry(world)
    memory.learn_entry(entry)
    assert memory.recall(contest.contest_id, "alice") is None
    memory.learn_contest(contest)
    recalled = memory.recall(contest.contest_id, "alice")
    assert recalled is not None and recalled.contest == contest and recalled.entry == entry
    assert memory.recall(contest.contest_id, "bob") is None


def test_what_is_remembered_lasts_ttl_seconds_from_learning_it(world: World, memory: PlacementMemory,
                                                               clock: Clock) -> None:
    contest, entry = _contest_and_entry(world)
    memory.learn_contest(contest)
    memory.learn_entry(entry)
    clock.now += 4.9
    assert memory.recall(contest.contest_id, "alice") is not None  # recalling does not extend it
    clock.now += 0.1
    assert memory.recall(contest.contest_id, "alice") is None


def test_only_active_contests_are_remembered(world: World, memory: PlacementMemory) -> None:
    contest, entry = _contest_and_entry(world)
    memory.learn_entry(entry)
    memory.learn_contest(contest)
    memory.learn_contest(replace(contest, status=ContestStatus.ENDED))
    assert memory.recall(contest.contest_id, "alice") is None
    scheduled, _ = _contest_and_entry(world, ContestStatus.SCHEDULED)
    memory.learn_contest(scheduled)
    assert memory.recall(scheduled.contest_id, "alice") is None


def test_the_highest_entry_version_wins_whatever_order_writers_report_in(world: World,
                                                                         memory: PlacementMemory) -> None:
    contest, entry = _contest_and_entry(world)
    memory.learn_contest(contest)
    memory.learn_entry(replace(entry, version=7))
    memory.learn_entry(replace(entry, version=6))
    recalled = memory.recall(contest.contest_id, "alice")
    assert recalled is not None and recalled.entry.version == 7


def test_a_contest_that_left_active_is_not_brought_back_by_an_older_read(world: World,
                                                                           memory: PlacementMemory) -> None:
    contest, entry = _contest_and_entry(world)
    memory.learn_contest(contest)
    memory.learn_entry(entry)
    cancelled = replace(contest, status=ContestStatus.CANCELLED, revision=contest.revision + 1)
    memory.learn_contest(cancelled)
    assert memory.recall(contest.contest_id, "alice") is None
    memory.learn_contest(contest)  # a read made before the cancel, answered after it
    assert memory.recall(contest.contest_id, "alice") is None


def test_forgetting_and_a_zero_ttl(world: World, memory: PlacementMemory, clock: Clock) -> None:
    contest, entry = _contest_and_entry(world)
    memory.learn_contest(contest)
    memory.forget_entry(contest.contest_id, "alice")
    assert memory.recall(contest.contest_id, "alice") is None
    off = PlacementMemory(0, clock=clock)
    off.learn_contest(contest)
    off.learn_entry(entry)
    assert not off.enabled and off.recall(contest.contest_id, "alice") is None


def test_the_memory_is_bounded(world: World, clock: Clock) -> None:
    small = PlacementMemory(5, max_entries=2, clock=clock)
    contest, entry = _contest_and_entry(world)
    small.learn_contest(contest)
    for user in ("u1", "u2", "u3"):
        small.learn_entry(replace(entry, user_id=user))
    assert small.recall(contest.contest_id, "u1") is None
    assert small.recall(contest.contest_id, "u3") is not None


# ---------------------------------------------------------------------------------------------------- placing
def alice_in_a_contest(world: World, **contest_options: Any) -> Contest:
    """An active contest alice has joined, AAPL at $100."""
    contest = world.contest(**contest_options)
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    return contest


def test_the_next_order_goes_straight_to_its_transaction(world: World, memory: PlacementMemory) -> None:
    store = CountingStore()
    here = container(world, memory, store)
    contest = alice_in_a_contest(world)
    here.place("alice", contest, quantity="1")
    assert store.calls == Counter(load_placement=1, commit=1, add_active_symbols=1)
    store.calls.clear()
    second = here.place("alice", contest, quantity="2")
    third = here.place("alice", contest, side="sell", quantity="1")
    assert store.calls == Counter(commit=2)
    assert (second.order.status, third.order.status) == ("filled", "filled")
    entry = world.entry(contest, "alice")
    assert entry.version == 3 and entry.portfolio.positions["AAPL"].quantity == Decimal("2")


def test_an_entry_changed_by_another_container_loses_the_race_and_is_decided_again(
        world: World, memory: PlacementMemory) -> None:
    store = CountingStore()
    here = container(world, memory, store)
    elsewhere = container(world, PlacementMemory(5))
    contest = alice_in_a_contest(world)
    here.place("alice", contest, quantity="1")
    elsewhere.place("alice", contest, quantity="5")
    store.calls.clear()
    here.place("alice", contest, quantity="1")
    assert store.calls == Counter(commit=2)  # the first came back with the fresh entry: no read
    entry = world.entry(contest, "alice")
    assert entry.version == 3 and entry.portfolio.positions["AAPL"].quantity == Decimal("7")
    assert entry.portfolio.cash == Decimal("100000.00") - Decimal("700.00")
    assert reconciliation.reconcile_entry(entry, orders_table.orders_of_entry(contest.contest_id, "alice")) == []


def test_a_refusal_on_a_remembered_entry_is_checked_on_a_fresh_read(world: World, memory: PlacementMemory) -> None:
    here = container(world, memory)
    elsewhere = container(world, PlacementMemory(5))
    contest = alice_in_a_contest(world, starting_cash="1000.00")
    here.place("alice", contest, quantity="9")  # remembered: $100 left, 9 shares
    elsewhere.place("alice", contest, side="sell", quantity="9")  # really: $1,000 again
    result = here.place("alice", contest, quantity="5")  # $500: refused by the memory, filled by the table
    assert result.order.status == "filled"
    assert world.entry(contest, "alice").portfolio.cash == Decimal("500.00")


def test_a_refusal_that_holds_on_fresh_reads_is_answered(world: World, memory: PlacementMemory) -> None:
    here = container(world, memory)
    contest = alice_in_a_contest(world, starting_cash="1000.00")
    here.place("alice", contest, quantity="9")
    with pytest.raises(RuleViolation) as refused:
        here.place("alice", contest, quantity="5")
    assert refused.value.code == "INSUFFICIENT_CASH"
    assert world.entry(contest, "alice").version == 1


def test_a_client_order_id_seen_before_answers_the_original_order(world: World, memory: PlacementMemory) -> None:
    store = CountingStore()
    here = container(world, memory, store)
    contest = alice_in_a_contest(world, starting_cash="1000.00")
    first = here.place("alice", contest, quantity="1", client_order_id="c-1")
    store.calls.clear()
    again = here.place("alice", contest, quantity="1", client_order_id="c-1")
    assert not again.created and again.order.order_id == first.order.order_id
    assert store.calls == Counter(commit=1, get_order=1)  # the marker's condition found it
    spent = here.place("alice", contest, quantity="9", client_order_id="c-2")  # all the cash
    replayed = here.place("alice", contest, quantity="9", client_order_id="c-2")  # would be refused now
    assert not replayed.created and replayed.order.order_id == spent.order.order_id
    assert world.entry(contest, "alice").version == 2


def test_a_contest_cancelled_in_this_container_stops_its_orders_at_once(world: World) -> None:
    from tickerleague.services import contests as contest_service
    from tickerleague.services.placement_memory import default_memory

    here = container(world, default_memory())
    contest = alice_in_a_contest(world)
    here.place("alice", contest, quantity="1")
    contest_service.cancel_contest(contest_service.Actor("admin"), contest.contest_id, now=world.now)
    with pytest.raises(RuleViolation) as refused:
        here.place("alice", contest, quantity="1")
    assert refused.value.code == "CONTEST_NOT_ACTIVE"


def test_a_contest_cancelled_in_another_container_stops_orders_here_within_the_ttl(
        world: World, memory: PlacementMemory, clock: Clock) -> None:
    from tickerleague.adapters.dynamodb.contests import contest_to_item

    here = container(world, memory)
    contest = alice_in_a_contest(world)
    here.place("alice", contest, quantity="1")
    contest_to_item(replace(contest, status=ContestStatus.CANCELLED)).save()  # another container's write
    assert here.place("alice", contest, quantity="1").order.status == "filled"  # the documented delay
    clock.now += memory.ttl_seconds
    with pytest.raises(RuleViolation) as refused:
        here.place("alice", contest, quantity="1")
    assert refused.value.code == "CONTEST_NOT_ACTIVE"


def test_a_remembered_contest_still_ends_on_time(world: World, memory: PlacementMemory) -> None:
    here = container(world, memory)
    contest = alice_in_a_contest(world, ends_at=world.now + timedelta(minutes=1))
    here.place("alice", contest, quantity="1")
    with pytest.raises(RuleViolation) as refused:
        here.place("alice", contest, quantity="1", now=contest.ends_at)
    assert refused.value.code == "CONTEST_NOT_ACTIVE"


def test_an_entry_that_left_the_contest_is_refused_by_the_transaction(world: World, memory: PlacementMemory) -> None:
    from tickerleague.adapters.dynamodb import entries as entries_table
    from tickerleague.adapters.dynamodb import plumbing
    from tickerleague.config import settings

    here = container(world, memory)
    contest = alice_in_a_contest(world)
    here.place("alice", contest, quantity="1")
    refunded = replace(world.entry(contest, "alice"), status="refunded")  # same version: only the status guards
    plumbing.client().put_item(TableName=settings().table_name,
                                    Item=plumbing.to_attribute_map(entries_table.entry_to_item(refunded)))
    with pytest.raises(RuleViolation) as refused:
        here.place("alice", contest, quantity="1")
    assert refused.value.code == "NOT_JOINED"
    assert world.entry(contest, "alice").version == 1


def test_remembered_state_answers_what_reading_first_answers_for_other_players(world: World,
                                                                              memory: PlacementMemory) -> None:
    here = container(world, memory)
    contest = alice_in_a_contest(world)
    here.place("alice", contest, quantity="1")
    with pytest.raises(RuleViolation) as refused:
        here.place("bob", contest, quantity="1")
    assert refused.value.code == "NOT_JOINED"
    with pytest.raises(NotFound):
        here.place("alice", replace(contest, contest_id="01J00000000000000000000000"), quantity="1")


def test_cancelling_an_order_forgets_the_entry(world: World, memory: PlacementMemory) -> None:
    from tickerleague.services.orders import cancel_order

    here = container(world, memory)
    contest = alice_in_a_contest(world)
    opened = here.place("alice", contest, order_type="limit", limit_price="50", time_in_force="gtc")
    assert memory.recall(contest.contest_id, "alice") is not None
    cancel_order(principal("alice"), contest.contest_id, opened.order.order_id, world.now, here.ports)
    assert memory.recall(contest.contest_id, "alice") is None
    here.place("alice", contest, quantity="1")
    portfolio: Portfolio = world.entry(contest, "alice").portfolio
    assert portfolio.reserved_cash == 0 and ledger_imbalance(portfolio) == 0


def test_a_position_limit_is_checked_on_the_fresh_entry_s_positions_at_their_prices(
        world: World, memory: PlacementMemory) -> None:
    from tickerleague.domain.contests import ContestRules

    here = container(world, memory)
    elsewhere = container(world, PlacementMemory(5))
    contest = alice_in_a_contest(world, starting_cash="10000.00", rules=ContestRules(max_position_pct=Decimal(50)))
    world.quote("MSFT", "100")
    here.place("alice", contest, quantity="1")  # remembered: $9,900 and 1 AAPL
    elsewhere.place("alice", contest, symbol="MSFT", quantity="50")  # really: $4,900, 1 AAPL, 50 MSFT
    world.quote("MSFT", "20")  # MSFT now worth $1,000, not the $5,000 it cost
    with pytest.raises(RuleViolation) as refused:  # 46 AAPL = $4,600 of a $6,000 portfolio
        here.place("alice", contest, quantity="45")
    assert refused.value.code == "POSITION_LIMIT_EXCEEDED"
    assert world.entry(contest, "alice").version == 2
