"""Open limit orders over time: filled when a later quote crosses, expired at the session close (day) or when the
contest ends (gtc and day), with an injected clock and quotes the test controls."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.domain.contests import ContestRules, ContestStatus
from tickerleague.domain.market_calendar import TwentyFourSeven
from tickerleague.domain.trading import ledger_imbalance
from tickerleague.services import lifecycle_hooks
from tickerleague.services.matching import expire_contest_orders, match_open_orders

from tests.support.trading import ClosedCalendar, D, World


def run(world: World, at: datetime, calendar: Any = None, contests: dict[str, Any] | None = None) -> Any:
    lookup = contests if contests is not None else world.contests
    return match_open_orders(
        at,
        calendar=calendar or TwentyFourSeven(),
        read_contest=lookup.get,
        max_age=timedelta(seconds=120),
        sleep=lambda _: None,
    )


def status_of(world: World, contest: Any, order_id: str, user: str = "alice") -> str:
    order = orders_table.get_order(contest.contest_id, user, order_id)
    assert order is not None
    return order.status


@pytest.fixture
def contest(world: World) -> Any:
    contest = world.contest(rules=ContestRules(commission_per_trade=D("1.00")))
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    return contest


def test_a_buy_fills_when_a_later_quote_crosses_at_that_price(world: World, contest: Any) -> None:
    opened = world.place("alice", contest, order_type="limit", limit_price="95", quantity="10").order
    later = world.now + timedelta(minutes=5)
    world.quote("AAPL", "96", at=later)
    assert run(world, later).filled == 0 and status_of(world, contest, opened.order_id) == "open"
    world.quote("AAPL", "94.50", at=later)
    report = run(world, later)
    assert report.filled == 1 and report.examined == 1
    filled = orders_table.get_order(contest.contest_id, "alice", opened.order_id)
    assert filled is not None and filled.status == "filled"
    assert filled.filled_price == D("94.5000") and filled.filled_at == later and filled.notional == D("945.00")
    assert filled.quote is not None and filled.quote.as_of == later
    portfolio = world.entry(contest, "alice").portfolio
    assert portfolio.reserved_cash == 0 and portfolio.cash == D("100000.00") - D("946.00")
    assert ledger_imbalance(portfolio) == 0
    assert list(orders_table.open_orders_for_symbol("AAPL")) == []
    assert run(world, later).filled == 0  # nothing left to do


def test_a_sell_fills_at_or_above_its_limit(world: World, contest: Any) -> None:
    world.place("alice", contest, quantity="10")
    opened = world.place("alice", contest, side="sell", order_type="limit", limit_price="110", quantity="4").order
    later = world.now + timedelta(minutes=1)
    world.quote("AAPL", "110.01", at=later)
    assert run(world, later).filled == 1
    portfolio = world.entry(contest, "alice").portfolio
    assert portfolio.positions["AAPL"].quantity == D("6") and portfolio.positions["AAPL"].reserved_quantity == 0
    assert status_of(world, contest, opened.order_id) == "filled"


def test_no_fill_on_a_stale_quote_or_a_closed_market(world: World, contest: Any) -> None:
    opened = world.place("alice", contest, order_type="limit", limit_price="95", time_in_force="gtc").order
    world.quote("AAPL", "90", at=world.now)
    assert run(world, world.now + timedelta(minutes=3)).filled == 0  # the crossing quote is 3 minutes old
    assert run(world, world.now, calendar=ClosedCalendar()).filled == 0
    assert status_of(world, contest, opened.order_id) == "open"
    assert run(world, world.now).filled == 1


def test_day_orders_expire_at_the_session_close_and_give_the_cash_back(world: World, contest: Any) -> None:
    day = world.place("alice", contest, order_type="limit", limit_price="50").order
    gtc = world.place("alice", contest, order_type="limit", limit_price="50", time_in_force="gtc").order
    assert day.expires_at is not None
    assert run(world, day.expires_at - timedelta(seconds=1)).expired == 0
    report = run(world, day.expires_at)
    assert report.expired == 1
    assert status_of(world, contest, day.order_id) == "expired" and status_of(world, contest, gtc.order_id) == "open"
    assert world.entry(contest, "alice").portfolio.reserved_cash == gtc.reservation.cash


def test_orders_of_a_contest_that_is_no_longer_active_expire(world: World, contest: Any) -> None:
    opened = world.place("alice", contest, order_type="limit", limit_price="50", time_in_force="gtc").order
    cancelled = {contest.contest_id: replace(contest, status=ContestStatus.CANCELLED)}
    assert run(world, world.now, contests=cancelled).expired == 1
    assert status_of(world, contest, opened.order_id) == "expired"
    assert world.entry(contest, "alice").portfolio.reserved_cash == 0


def test_a_fill_that_no_longer_fits_is_rejected_and_releases(world: World) -> None:
    """A sale worth less than its commission needs cash the entry no longer has: rejected, shares given back."""
    contest = world.contest(rules=ContestRules(commission_per_trade=D("10.00")), starting_cash="20.00")
    world.join(contest, "alice")
    world.quote("F", "1")
    world.place("alice", contest, symbol="F", quantity="1")  # cash 9.00
    world.quote("F", "0.40")
    opened = world.place(
        "alice", contest, symbol="F", side="sell", order_type="limit", limit_price="0.5", quantity="1"
    ).order
    later = world.now + timedelta(minutes=1)
    world.quote("F", "0.60", at=later)
    assert run(world, later).rejected == 1
    rejected = orders_table.get_order(contest.contest_id, "alice", opened.order_id)
    assert rejected is not None and rejected.status == "rejected" and "INSUFFICIENT_CASH" in str(rejected.close_reason)
    portfolio = world.entry(contest, "alice").portfolio
    assert portfolio.positions["F"].reserved_quantity == 0 and portfolio.cash == D("9.00")


def test_the_contest_end_hook_expires_every_open_order(world: World, contest: Any) -> None:
    world.join(contest, "bob")
    world.place("alice", contest, quantity="5")
    orders = [
        world.place("alice", contest, order_type="limit", limit_price="50").order,
        world.place("alice", contest, order_type="limit", limit_price="50", time_in_force="gtc").order,
        world.place("alice", contest, side="sell", order_type="limit", limit_price="500", quantity="5").order,
        world.place("bob", contest, order_type="limit", limit_price="60", time_in_force="gtc").order,
    ]
    ended_at = world.now + timedelta(days=1)
    assert expire_contest_orders(contest.contest_id, ended_at, sleep=lambda _: None) == 4
    assert expire_contest_orders(contest.contest_id, ended_at, sleep=lambda _: None) == 0  # idempotent
    for order in orders:
        stored = orders_table.get_order(contest.contest_id, order.user_id, order.order_id)
        assert stored is not None and stored.status == "expired" and stored.closed_at == ended_at
    for user in ("alice", "bob"):
        portfolio = world.entry(contest, user).portfolio
        assert portfolio.reserved_cash == 0 and ledger_imbalance(portfolio) == 0
    assert world.entry(contest, "alice").portfolio.positions["AAPL"].reserved_quantity == 0


def test_the_hook_is_registered_for_contest_end(world: World, contest: Any) -> None:
    opened = world.place("alice", contest, order_type="limit", limit_price="50", time_in_force="gtc").order
    lifecycle_hooks.on_contest_ended(contest.contest_id, world.now)
    assert status_of(world, contest, opened.order_id) == "expired"


# ---------------------------------------------------------------------------------------------------- the jobs
def test_the_scheduled_jobs_refresh_quotes_and_match(world: World) -> None:
    from tickerleague.clock import utcnow

    from functions.jobs import orders as orders_job
    from functions.jobs import quotes as quotes_job

    live = replace(world, now=utcnow())
    contest = live.contest()
    live.join(contest, "alice")
    live.quote("AAPL", "100")
    opened = live.place("alice", contest, order_type="limit", limit_price="1000000", time_in_force="gtc",
                        quantity="1").order
    assert opened.status == "filled"  # crosses at once: fills at the quote
    waiting = live.place("alice", contest, order_type="limit", limit_price="0.01", time_in_force="gtc",
                         quantity="1").order
    refreshed = quotes_job.refresh({}, None)
    assert refreshed["requested"] == 1 and refreshed["fetched"] == 1  # AAPL, from the simulated provider
    answer = orders_job.match({}, None)
    assert answer["symbols"] == 1 and answer["examined"] == 1 and answer["filled"] == 0
    assert status_of(live, contest, waiting.order_id) == "open"


def test_each_fill_is_counted_once_by_side_and_an_expiry_is_not_a_fill(world: World, contest: Any,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.emf import MetricsCapture

    world.place("alice", contest, quantity="10")
    world.place("alice", contest, order_type="limit", limit_price="95", quantity="2")
    world.place("alice", contest, side="sell", order_type="limit", limit_price="105", quantity="3")
    world.place("alice", contest, order_type="limit", limit_price="50", quantity="1")  # never crosses
    metrics = MetricsCapture(monkeypatch, capsys)
    later = world.now + timedelta(minutes=1)
    world.quote("AAPL", "94", at=later)
    assert run(world, later).filled == 1
    world.quote("AAPL", "106", at=later)
    assert run(world, later).filled == 1
    assert run(world, later).filled == 0  # a run that finds them closed counts nothing
    assert expire_contest_orders(contest.contest_id, later, sleep=lambda _: None) == 1
    assert metrics.take("OrdersFilled") == [("OrdersFilled", 1.0, {"type": "limit", "side": "buy"}),
                                            ("OrdersFilled", 1.0, {"type": "limit", "side": "sell"})]
