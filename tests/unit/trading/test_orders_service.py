"""Placing, cancelling and reading orders against a moto table: every rule, its order, and every error code."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.adapters.dynamodb.active_symbols import active_symbols
from tickerleague.domain.contests import ContestRules, ContestStatus, Visibility
from tickerleague.domain.quotes import QuoteProviderError
from tickerleague.domain.trading import ledger_imbalance
from tickerleague.errors import (
    Conflict,
    DomainError,
    InvalidCursor,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    ValidationFailed,
)
from tickerleague.http.paging import CURSORS
from tickerleague.services import orders as orders_service

from tests.support.trading import ClosedCalendar, D, World, principal


def code_of(call: Any) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


@pytest.fixture
def active(world: World) -> Any:
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "187.43")
    world.quote("MSFT", "400.00")
    return contest


# ---------------------------------------------------------------------------------------------------- fills
def test_a_market_buy_fills_at_the_quote_and_records_it(world: World, active: Any) -> None:
    result = world.place("alice", active, quantity="10")
    order = result.order
    assert result.created and order.status == "filled"
    assert order.filled_price == D("187.4300") and order.notional == D("1874.30") and order.commission == D("0.00")
    assert order.quote is not None and order.quote.price == D("187.4300") and order.quote.as_of == world.now
    assert order.filled_at == world.now and order.fill_seq == 1
    entry = world.entry(active, "alice")
    assert entry.portfolio.cash == D("98125.70") and entry.version == 1
    assert entry.portfolio.positions["AAPL"].quantity == D("10")
    assert orders_table.get_order(active.contest_id, "alice", order.order_id) == order


def test_commission_is_charged_on_both_sides(world: World) -> None:
    contest = world.contest(rules=ContestRules(commission_per_trade=D("4.95")))
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    world.place("alice", contest, quantity="10")
    world.place("alice", contest, side="sell", quantity="4")
    portfolio = world.entry(contest, "alice").portfolio
    assert portfolio.cash == D("100000.00") - D("1004.95") + D("395.05")
    assert portfolio.fees_paid == D("9.90") and ledger_imbalance(portfolio) == 0


def test_symbols_are_canonicalised(world: World, active: Any) -> None:
    assert world.place("alice", active, symbol="aapl").order.symbol == "AAPL"


def test_a_limit_buy_that_crosses_fills_now_at_the_quote(world: World, active: Any) -> None:
    order = world.place("alice", active, order_type="limit", limit_price="190").order
    assert order.status == "filled" and order.filled_price == D("187.4300") and order.limit_price == D("190")


def test_a_limit_buy_that_does_not_cross_opens_and_reserves(world: World, active: Any) -> None:
    order = world.place("alice", active, order_type="limit", limit_price="180.005", quantity="3").order
    assert order.status == "open" and order.filled_quantity == 0 and order.filled_price is None
    assert order.reservation.cash == D("540.02")  # 540.015 half-even
    assert order.expires_at is not None and order.expires_at > world.now  # a day order: the session's close
    portfolio = world.entry(active, "alice").portfolio
    assert portfolio.cash == D("100000.00") and portfolio.reserved_cash == D("540.02")
    assert [open_.order_id for open_ in orders_table.open_orders_for_symbol("AAPL")] == [order.order_id]


def test_a_gtc_order_has_no_session_expiry(world: World, active: Any) -> None:
    order = world.place("alice", active, order_type="limit", limit_price="100", time_in_force="gtc").order
    assert order.status == "open" and order.expires_at is None


def test_a_limit_sell_reserves_shares(world: World, active: Any) -> None:
    world.place("alice", active, quantity="10")
    order = world.place("alice", active, side="sell", order_type="limit", limit_price="200", quantity="6").order
    assert order.status == "open" and order.reservation.quantity == D("6")
    assert world.entry(active, "alice").portfolio.positions["AAPL"].reserved_quantity == D("6")
    assert code_of(lambda: world.place("alice", active, side="sell", quantity="5")) == "INSUFFICIENT_SHARES"
    assert world.place("alice", active, side="sell", quantity="4").order.status == "filled"


# ---------------------------------------------------------------------------------------------------- who and when
def test_unknown_contest_is_404(world: World) -> None:
    world.quote("AAPL", "10")
    with pytest.raises(NotFound):
        world.place("alice", replace(world.contest(), contest_id="01" + "A" * 24))


def test_not_a_ulid_is_404(world: World, active: Any) -> None:
    with pytest.raises(NotFound):
        world.place("alice", replace(active, contest_id="../etc"))


def test_not_joined_public_contest_is_not_joined(world: World, active: Any) -> None:
    assert code_of(lambda: world.place("bob", active)) == "NOT_JOINED"


def test_not_joined_private_or_draft_contest_is_404(world: World) -> None:
    private = world.contest(visibility=Visibility.PRIVATE)
    draft = world.contest(status=ContestStatus.DRAFT)
    world.quote("AAPL", "10")
    assert code_of(lambda: world.place("bob", private)) == "NOT_FOUND"
    assert code_of(lambda: world.place("bob", draft)) == "NOT_FOUND"
    assert code_of(lambda: world.place("admin", draft, role="admin")) == "NOT_JOINED"


def test_an_entry_awaiting_payment_cannot_trade(world: World) -> None:
    contest = world.contest()
    world.join(contest, "alice", status="pending_payment")
    world.quote("AAPL", "10")
    assert code_of(lambda: world.place("alice", contest)) == "NOT_JOINED"


@pytest.mark.parametrize("status", [ContestStatus.SCHEDULED, ContestStatus.ENDED, ContestStatus.CANCELLED])
def test_only_active_contests_trade(world: World, status: ContestStatus) -> None:
    contest = world.contest(status=status)
    world.join(contest, "alice")
    world.quote("AAPL", "10")
    assert code_of(lambda: world.place("alice", contest)) == "CONTEST_NOT_ACTIVE"


def test_an_active_contest_past_its_end_does_not_trade(world: World) -> None:
    contest = world.contest(ends_at=world.now - timedelta(seconds=1))
    world.join(contest, "alice")
    world.quote("AAPL", "10")
    assert code_of(lambda: world.place("alice", contest)) == "CONTEST_NOT_ACTIVE"


def test_market_closed(world: World, active: Any) -> None:
    closed = world.with_calendar(ClosedCalendar())
    assert code_of(lambda: closed.place("alice", active)) == "MARKET_CLOSED"


def test_fractions_need_the_rule(world: World, active: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        world.place("alice", active, quantity="1.5")
    assert "quantity" in caught.value.fields
    contest = world.contest(rules=ContestRules(allow_fractional=True))
    world.join(contest, "alice")
    assert world.place("alice", contest, quantity="0.123456").order.filled_quantity == D("0.123456")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-3"}, "quantity"),
        ({"quantity": "1.0000001"}, "quantity"),
        ({"order_type": "limit"}, "limitPrice"),
        ({"limit_price": "10"}, "limitPrice"),
        ({"order_type": "limit", "limit_price": "0"}, "limitPrice"),
        ({"order_type": "limit", "limit_price": "1.00001"}, "limitPrice"),
    ],
)
def test_validation_runs_first(world: World, changes: dict[str, str], field: str) -> None:
    contest = world.contest(status=ContestStatus.ENDED)  # even before the contest is looked at
    with pytest.raises(ValidationFailed) as caught:
        world.place("alice", contest, **changes)  # type: ignore[arg-type]
    assert field in caught.value.fields


# ---------------------------------------------------------------------------------------------------- symbols, quotes
def test_unknown_and_disallowed_symbols(world: World) -> None:
    contest = world.contest(rules=ContestRules(allowed_symbols=("MSFT",)))
    world.join(contest, "alice")
    world.quote("AAPL", "10")
    assert code_of(lambda: world.place("alice", contest, symbol="ZZZZZZ")) == "UNKNOWN_SYMBOL"
    assert code_of(lambda: world.place("alice", contest, symbol="AAPL")) == "SYMBOL_NOT_ALLOWED"


def test_a_stale_quote_is_refreshed_before_filling(world: World, active: Any) -> None:
    world.quote("KO", "60.00", at=world.now - timedelta(minutes=10))
    fresh = world.quote("KO", "61.00", at=world.now - timedelta(minutes=10))
    world.provider.quotes["KO"] = replace(fresh, as_of=world.now)
    order = world.place("alice", active, symbol="KO").order
    assert order.filled_price == D("61.0000") and order.quote is not None and order.quote.as_of == world.now
    assert world.provider.calls == ["KO"]


def test_a_fresh_stored_quote_needs_no_provider(world: World, active: Any) -> None:
    world.place("alice", active)
    assert world.provider.calls == []


def test_a_provider_failure_never_fills_on_an_old_price(world: World, active: Any) -> None:
    world.quote("KO", "60.00", at=world.now - timedelta(minutes=10))
    world.provider.failure = QuoteProviderError(True, "down", provider="test")
    assert code_of(lambda: world.place("alice", active, symbol="KO")) == "QUOTE_STALE"
    with pytest.raises(ServiceUnavailable):
        world.place("alice", active, symbol="PEP")  # no price at all
    world.provider.failure = RuleViolation("stale", code="QUOTE_STALE")
    assert code_of(lambda: world.place("alice", active, symbol="KO")) == "QUOTE_STALE"
    assert world.entry(active, "alice").version == 0


# ---------------------------------------------------------------------------------------------------- contest rules
def test_min_price(world: World) -> None:
    contest = world.contest(rules=ContestRules(min_price=D("5.00")))
    world.join(contest, "alice")
    world.quote("F", "4.99")
    assert code_of(lambda: world.place("alice", contest, symbol="F")) == "PRICE_BELOW_MINIMUM"


def test_trades_per_day_count_every_accepted_order(world: World) -> None:
    contest = world.contest(rules=ContestRules(max_trades_per_day=2))
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    world.place("alice", contest, quantity="1")
    world.place("alice", contest, quantity="1", order_type="limit", limit_price="50")
    assert code_of(lambda: world.place("alice", contest, quantity="1")) == "TRADE_LIMIT_REACHED"
    # The next session (the next UTC day on the 24x7 calendar) starts a new count.
    world.quote("AAPL", "100", at=world.now + timedelta(days=1))
    assert world.place("alice", contest, quantity="1", now=world.now + timedelta(days=1)).created


def test_position_limit(world: World) -> None:
    contest = world.contest(rules=ContestRules(max_position_pct=D("25")), starting_cash="10000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    world.quote("MSFT", "100")
    assert code_of(lambda: world.place("alice", contest, quantity="26")) == "POSITION_LIMIT_EXCEEDED"
    world.place("alice", contest, quantity="25")
    world.place("alice", contest, symbol="MSFT", quantity="20")
    world.quote("MSFT", "200")  # the portfolio is now worth 12000: 30 AAPL is exactly 25 %
    assert world.place("alice", contest, quantity="5").order.status == "filled"
    assert code_of(lambda: world.place("alice", contest, quantity="1")) == "POSITION_LIMIT_EXCEEDED"


def test_insufficient_cash_counts_reserved_cash(world: World) -> None:
    contest = world.contest(starting_cash="1000.00", rules=ContestRules(commission_per_trade=D("1.00")))
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    world.place("alice", contest, quantity="5", order_type="limit", limit_price="90")  # reserves 451.00
    assert code_of(lambda: world.place("alice", contest, quantity="6")) == "INSUFFICIENT_CASH"  # 601 > 549
    assert world.place("alice", contest, quantity="5").created  # 501 <= 549
    portfolio = world.entry(contest, "alice").portfolio
    assert portfolio.cash == D("499.00") and portfolio.reserved_cash == D("451.00")


def test_insufficient_shares(world: World, active: Any) -> None:
    assert code_of(lambda: world.place("alice", active, side="sell", quantity="1")) == "INSUFFICIENT_SHARES"


def test_rules_in_contract_order(world: World) -> None:
    """Several rules broken at once: the first in the contract's order answers."""
    contest = world.contest(rules=ContestRules(allowed_symbols=("MSFT",), min_price=D("500")))
    world.join(contest, "alice")
    world.quote("AAPL", "10")
    world.quote("MSFT", "400")
    closed = world.with_calendar(ClosedCalendar())
    assert code_of(lambda: closed.place("alice", contest, quantity="1.5")) == "VALIDATION_FAILED"
    assert code_of(lambda: closed.place("alice", contest)) == "MARKET_CLOSED"
    assert code_of(lambda: world.place("alice", contest)) == "SYMBOL_NOT_ALLOWED"
    assert code_of(lambda: world.place("alice", contest, symbol="MSFT")) == "PRICE_BELOW_MINIMUM"


# ---------------------------------------------------------------------------------------------------- idempotency
def test_the_same_client_order_id_answers_the_original(world: World, active: Any) -> None:
    first = world.place("alice", active, client_order_id="order-1")
    world.quote("AAPL", "150")
    again = world.place("alice", active, client_order_id="order-1")
    assert first.created and not again.created and again.order == first.order
    assert world.entry(active, "alice").portfolio.positions["AAPL"].quantity == D("10")
    # Even once the market has closed, the retry still gets its answer.
    closed = world.with_calendar(ClosedCalendar())
    assert closed.place("alice", active, client_order_id="order-1").order.order_id == first.order.order_id


def test_the_same_client_order_id_with_another_order_is_refused(world: World, active: Any) -> None:
    first = world.place("alice", active, client_order_id="order-1")
    assert code_of(lambda: world.place("alice", active, client_order_id="order-1", quantity="99")) == (
        "CLIENT_ORDER_ID_REUSED")
    assert code_of(lambda: world.place("alice", active, client_order_id="order-1", side="sell")) == (
        "CLIENT_ORDER_ID_REUSED")
    # 10 and 10.0 shares, aapl and AAPL: the same order.
    assert world.place("alice", active, client_order_id="order-1", quantity="10.0", symbol="aapl").order == first.order
    assert world.entry(active, "alice").portfolio.positions["AAPL"].quantity == D("10")


def test_a_reused_client_order_id_is_refused_from_the_marker_alone(world: World, active: Any) -> None:
    """The marker's fingerprint decides: the original order is never read for a refusal."""
    world.place("alice", active, client_order_id="order-1")

    class NoOrderReads:
        def __getattr__(self, name: str) -> Any:
            return getattr(orders_table.OrderTable, name)

        def get_order(self, *args: Any) -> Any:
            raise AssertionError("the original order was read")

    blind = replace(world, ports=replace(world.ports, store=NoOrderReads()))  # type: ignore[arg-type]
    assert code_of(lambda: blind.place("alice", active, client_order_id="order-1", quantity="2")) == (
        "CLIENT_ORDER_ID_REUSED")


def test_client_order_ids_belong_to_one_entry(world: World, active: Any) -> None:
    world.join(active, "bob")
    assert world.place("alice", active, client_order_id="x").created
    assert world.place("bob", active, client_order_id="x").created


def test_a_marker_conflict_at_commit_answers_the_original(world: World, active: Any) -> None:
    """Two requests with one clientOrderId read no marker; the second loses at commit and answers the first."""
    original = world.place("alice", active, client_order_id="race")

    class NoMarkerYet:
        def __getattr__(self, name: str) -> Any:
            return getattr(orders_table.OrderTable, name)

        def load_placement(self, *args: Any, **kwargs: Any) -> Any:
            return replace(orders_table.load_placement(*args, **kwargs), original_order_id=None)

    racing = replace(world, ports=replace(world.ports, store=NoMarkerYet()))  # type: ignore[arg-type]
    again = racing.place("alice", active, client_order_id="race")
    assert not again.created and again.order.order_id == original.order.order_id
    assert world.entry(active, "alice").version == 1


# ---------------------------------------------------------------------------------------------------- concurrency
class ChangesUnderfoot:
    """A store whose first commit finds the entry changed by someone else (a concurrent buy of `spend`)."""

    def __init__(self, world: World, contest: Any, spend: str) -> None:
        self.world, self.contest, self.spend, self.commits = world, contest, spend, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(orders_table.OrderTable, name)

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        self.commits += 1
        if self.commits == 1:
            self.world.place("alice", self.contest, quantity=self.spend)
        return orders_table.commit(*args, **kwargs)


def test_a_lost_race_is_decided_again_on_fresh_values(world: World) -> None:
    contest = world.contest(starting_cash="1000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    store = ChangesUnderfoot(world, contest, "3")
    racing = replace(world, ports=replace(world.ports, store=store))  # type: ignore[arg-type]
    order = racing.place("alice", contest, quantity="5").order
    assert store.commits == 2 and order.fill_seq == 2
    entry = world.entry(contest, "alice")
    assert entry.version == 2 and entry.portfolio.cash == D("200.00")


def test_a_lost_race_can_turn_into_a_refusal(world: World) -> None:
    contest = world.contest(starting_cash="1000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    racing = replace(world, ports=replace(world.ports, store=ChangesUnderfoot(world, contest, "6")))  # type: ignore[arg-type]
    assert code_of(lambda: racing.place("alice", contest, quantity="5")) == "INSUFFICIENT_CASH"
    assert world.entry(contest, "alice").portfolio.cash == D("400.00")


def test_endless_conflicts_give_up_with_503(world: World, active: Any) -> None:
    class AlwaysConflicting:
        def __getattr__(self, name: str) -> Any:
            return getattr(orders_table.OrderTable, name)

        def commit(self, *args: Any, **kwargs: Any) -> Any:
            return orders_table.CommitResult(orders_table.Outcome.CONFLICT)

    busy = replace(world, ports=replace(world.ports, store=AlwaysConflicting()))  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable) as caught:
        busy.place("alice", active)
    assert caught.value.headers == {"Retry-After": "1"}


# ---------------------------------------------------------------------------------------------------- cancel
def test_cancel_releases_the_reservation(world: World, active: Any) -> None:
    opened = world.place("alice", active, order_type="limit", limit_price="100", quantity="3").order
    cancelled = orders_service.cancel_order(
        principal("alice"), active.contest_id, opened.order_id, world.now, world.ports
    )
    assert cancelled.status == "cancelled" and cancelled.closed_at == world.now
    portfolio = world.entry(active, "alice").portfolio
    assert portfolio.reserved_cash == 0 and portfolio.cash == D("100000.00")
    assert list(orders_table.open_orders_for_symbol("AAPL")) == []
    with pytest.raises(Conflict) as caught:
        orders_service.cancel_order(principal("alice"), active.contest_id, opened.order_id, world.now, world.ports)
    assert caught.value.code == "ORDER_NOT_CANCELLABLE"


def test_cancel_a_sell_gives_the_shares_back(world: World, active: Any) -> None:
    world.place("alice", active, quantity="10")
    opened = world.place("alice", active, side="sell", order_type="limit", limit_price="500", quantity="10").order
    orders_service.cancel_order(principal("alice"), active.contest_id, opened.order_id, world.now, world.ports)
    assert world.entry(active, "alice").portfolio.positions["AAPL"].reserved_quantity == 0


def test_a_filled_order_is_not_cancellable(world: World, active: Any) -> None:
    filled = world.place("alice", active).order
    with pytest.raises(Conflict):
        orders_service.cancel_order(principal("alice"), active.contest_id, filled.order_id, world.now, world.ports)


def test_someone_elses_order_is_404(world: World, active: Any) -> None:
    world.join(active, "bob")
    opened = world.place("alice", active, order_type="limit", limit_price="100").order
    with pytest.raises(NotFound):
        orders_service.cancel_order(principal("bob"), active.contest_id, opened.order_id, world.now, world.ports)
    with pytest.raises(NotFound):
        orders_service.get_order(principal("bob"), active.contest_id, opened.order_id, world.ports)
    with pytest.raises(NotFound):
        orders_service.get_order(principal("alice"), active.contest_id, "not-an-id", world.ports)


# ---------------------------------------------------------------------------------------------------- listing
def test_orders_are_listed_newest_first_with_a_status_filter_and_cursors(world: World, active: Any) -> None:
    placed = [world.place("alice", active, quantity="1").order for _ in range(3)]
    opened = world.place("alice", active, order_type="limit", limit_price="1", quantity="1").order
    alice = principal("alice")
    everything = orders_service.list_orders(
        alice, active.contest_id, status=None, limit=10, cursor=None, cursors=CURSORS, ports=world.ports
    )
    assert [order.order_id for order in everything.orders] == [opened.order_id] + [
        order.order_id for order in reversed(placed)
    ]
    assert everything.next_cursor is None
    first = orders_service.list_orders(
        alice, active.contest_id, status="filled", limit=2, cursor=None, cursors=CURSORS, ports=world.ports
    )
    assert [order.order_id for order in first.orders] == [placed[2].order_id, placed[1].order_id]
    assert first.next_cursor is not None
    second = orders_service.list_orders(
        alice, active.contest_id, status="filled", limit=2, cursor=first.next_cursor, cursors=CURSORS, ports=world.ports
    )
    assert [order.order_id for order in second.orders] == [placed[0].order_id] and second.next_cursor is None
    with pytest.raises(InvalidCursor):  # a cursor of another filter
        orders_service.list_orders(
            alice, active.contest_id, status="open", limit=2, cursor=first.next_cursor, cursors=CURSORS,
            ports=world.ports,
        )
    with pytest.raises(InvalidCursor):
        orders_service.list_orders(
            alice, active.contest_id, status="filled", limit=2, cursor=first.next_cursor[:-2] + "xx", cursors=CURSORS,
            ports=world.ports,
        )


def test_listing_without_an_entry_is_404(world: World, active: Any) -> None:
    with pytest.raises(NotFound):
        orders_service.list_orders(
            principal("bob"), active.contest_id, status=None, limit=10, cursor=None, cursors=CURSORS, ports=world.ports
        )
    world.join(active, "bob")
    assert (
        orders_service.list_orders(
            principal("bob"), active.contest_id, status=None, limit=10, cursor=None, cursors=CURSORS, ports=world.ports
        ).orders
        == []
    )


# ---------------------------------------------------------------------------------------------------- active symbols
def test_a_first_buy_adds_the_symbol_to_the_active_set(world: World, active: Any) -> None:
    world.place("alice", active, quantity="1")
    world.place("alice", active, symbol="MSFT", quantity="1", order_type="limit", limit_price="1")
    symbols, rev = active_symbols()
    assert symbols == {"AAPL", "MSFT"} and rev == 2
    world.place("alice", active, quantity="1")  # already held: no write
    assert active_symbols()[1] == 2


def test_the_ledger_balances_after_a_mixed_session(world: World, active: Any) -> None:
    world.place("alice", active, quantity="10")
    world.place("alice", active, symbol="MSFT", quantity="3")
    world.place("alice", active, side="sell", quantity="4")
    world.place("alice", active, order_type="limit", limit_price="1", quantity="7")
    portfolio = world.entry(active, "alice").portfolio
    assert ledger_imbalance(portfolio) == Decimal(0)
