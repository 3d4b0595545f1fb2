"""Orders under faults: market and limit placement, cancel and the matcher's fills, with DynamoDB failing at each
write and read. After every fault the portfolio reconciles with the orders that exist (no cash moved without its
order, no reservation left behind), the caller saw 503 with Retry-After or a success, and the retry ends in
exactly one effect."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from tickerleague.clock import utcnow

from tests.support import faults
from tests.support.events import Caller, HttpAnswer, api_event, call
from tests.support.faults import Injector, assert_retryable
from tests.support.trading import World, make_world
from tests.unit.contests.helpers import World as People

START = Decimal("100000.00")
PRICE = "187.43"
BUY = {"symbol": "AAPL", "side": "buy", "quantity": "10", "type": "market"}
LIMIT = {"symbol": "AAPL", "side": "buy", "quantity": "4", "type": "limit", "limitPrice": "150", "timeInForce": "gtc"}


@pytest.fixture
def trading(world: People) -> World:
    return replace(make_world(), now=utcnow())


@pytest.fixture
def player(trading: World, world: People) -> tuple[str, Caller]:
    contest = trading.contest()
    caller = Caller(f"trader-{contest.contest_id[-8:]}")
    trading.join(contest, caller.user_id)
    trading.quote("AAPL", PRICE)
    return contest.contest_id, caller


def place(contest_id: str, caller: Caller, body: dict[str, Any], headers: dict[str, str] | None = None) -> HttpAnswer:
    from functions import orders

    return call(
        orders.place,
        api_event(
            "POST",
            f"/v1/contests/{contest_id}/orders",
            resource="/v1/contests/{contestId}/orders",
            body=body,
            headers=headers,
            path_params={"contestId": contest_id},
            caller=caller,
        ),
    )


def cancel(contest_id: str, caller: Caller, order_id: str) -> HttpAnswer:
    from functions import orders

    return call(
        orders.cancel,
        api_event(
            "DELETE",
            f"/v1/contests/{contest_id}/orders/{order_id}",
            resource="/v1/contests/{contestId}/orders/{orderId}",
            path_params={"contestId": contest_id, "orderId": order_id},
            caller=caller,
        ),
    )


def orders_of(contest_id: str, user_id: str) -> list[Any]:
    from tickerleague.adapters.dynamodb import orders as table

    return table.orders_of_entry(contest_id, user_id)


def reconcile(contest_id: str, user_id: str) -> None:
    """Cash and positions are exactly what the stored orders say: fills moved cash and shares, open orders hold
    their reservation, nothing else."""
    from tickerleague.adapters.dynamodb import orders as table

    entry = table.get_entry(contest_id, user_id)
    assert entry is not None
    portfolio = entry.portfolio
    stored = orders_of(contest_id, user_id)
    filled = [order for order in stored if order.status == "filled"]
    spent = sum(((o.filled_price or 0) * o.quantity + o.commission for o in filled if o.side == "buy"), Decimal(0))
    shares = sum((o.quantity for o in filled if o.side == "buy"), Decimal(0))
    reserved = sum((o.reservation.cash for o in stored if o.is_open and o.reservation is not None), Decimal(0))
    assert portfolio.cash == START - spent, (portfolio.cash, spent)
    held = portfolio.positions.get("AAPL")
    assert (held.quantity if held else Decimal(0)) == shares
    assert portfolio.reserved_cash == reserved


# ------------------------------------------------------------------------------------------------ market orders
@pytest.mark.parametrize("fault", sorted(faults.DYNAMODB_FAULTS))
def test_a_failed_market_order_moves_nothing_and_the_retry_fills_once(
    player: tuple[str, Caller], inject: Injector, fault: str
) -> None:
    contest_id, caller = player
    inject.fail("TransactWriteItems", faults.DYNAMODB_FAULTS[fault], times=faults.PERSISTENT)
    assert_retryable(place(contest_id, caller, BUY))
    assert orders_of(contest_id, caller.user_id) == []
    reconcile(contest_id, caller.user_id)
    inject.clear()
    again = place(contest_id, caller, BUY)
    assert again.status == 201 and again.body["status"] == "filled"
    assert len(orders_of(contest_id, caller.user_id)) == 1
    reconcile(contest_id, caller.user_id)


def test_conflicting_transactions_are_retried_inside_the_request(player: tuple[str, Caller], inject: Injector) -> None:
    contest_id, caller = player
    inject.fail("TransactWriteItems", faults.transaction_conflict(), times=3)
    answer = place(contest_id, caller, BUY)
    assert answer.status == 201, answer.body
    assert inject.fired == 3 and len(orders_of(contest_id, caller.user_id)) == 1
    reconcile(contest_id, caller.user_id)


def test_a_failed_read_before_placing_is_503_and_moves_nothing(player: tuple[str, Caller], inject: Injector) -> None:
    contest_id, caller = player
    inject.fail("BatchGetItem", faults.throttling(), times=faults.PERSISTENT)  # the entry, the order, the quote
    answer = place(contest_id, caller, BUY)
    assert inject.fired, inject.calls
    assert_retryable(answer)
    assert orders_of(contest_id, caller.user_id) == []
    inject.clear()
    assert place(contest_id, caller, BUY).status == 201
    reconcile(contest_id, caller.user_id)


def test_an_order_committed_whose_answer_was_lost_is_the_original_on_retry_by_client_order_id(
    player: tuple[str, Caller], inject: Injector
) -> None:
    contest_id, caller = player
    body = {**BUY, "clientOrderId": "lost-answer-1"}
    inject.fail("TransactWriteItems", faults.read_timeout(), after=True)
    assert_retryable(place(contest_id, caller, body))
    again = place(contest_id, caller, body)
    assert again.status == 200, again.body  # the original order, not a second one
    assert len(orders_of(contest_id, caller.user_id)) == 1
    reconcile(contest_id, caller.user_id)


def test_an_order_committed_whose_answer_was_lost_is_the_original_on_retry_by_idempotency_key(
    player: tuple[str, Caller], inject: Injector
) -> None:
    contest_id, caller = player
    key = {"Idempotency-Key": "order-lost-answer-1"}
    inject.fail("TransactWriteItems", faults.read_timeout(), after=True)
    assert_retryable(place(contest_id, caller, BUY, key))
    assert place(contest_id, caller, BUY, key).status in (200, 201)
    assert len(orders_of(contest_id, caller.user_id)) == 1


@pytest.mark.parametrize("fault", ["throttling", "read_timeout"])
def test_the_active_symbol_write_after_the_fill_failing_never_makes_a_second_order(
    player: tuple[str, Caller], inject: Injector, fault: str
) -> None:
    contest_id, caller = player
    inject.fail("UpdateItem", faults.DYNAMODB_FAULTS[fault], times=faults.PERSISTENT)  # after the commit
    answer = place(contest_id, caller, BUY)
    assert inject.fired
    if answer.status == 503:  # told to retry: the retry must not buy again
        assert_retryable(answer)
        inject.clear()
        place(contest_id, caller, BUY)
    assert answer.status in (201, 503)
    assert len(orders_of(contest_id, caller.user_id)) == 1
    reconcile(contest_id, caller.user_id)


# ------------------------------------------------------------------------------------------------ limit, cancel
@pytest.mark.parametrize("fault", ["throttling", "internal500", "read_timeout"])
def test_a_failed_limit_order_reserves_nothing_and_the_retry_opens_one(
    player: tuple[str, Caller], inject: Injector, fault: str
) -> None:
    contest_id, caller = player
    inject.fail("TransactWriteItems", faults.DYNAMODB_FAULTS[fault], times=faults.PERSISTENT)
    assert_retryable(place(contest_id, caller, LIMIT))
    reconcile(contest_id, caller.user_id)
    inject.clear()
    opened = place(contest_id, caller, LIMIT)
    assert opened.status == 201 and opened.body["status"] == "open"
    reconcile(contest_id, caller.user_id)


@pytest.mark.parametrize("fault", ["throughput", "internal500", "connect_timeout"])
def test_a_failed_cancel_keeps_the_order_and_its_reservation_and_the_retry_cancels_once(
    player: tuple[str, Caller], inject: Injector, fault: str
) -> None:
    contest_id, caller = player
    order_id = place(contest_id, caller, LIMIT).body["id"]
    inject.fail("TransactWriteItems", faults.DYNAMODB_FAULTS[fault], times=faults.PERSISTENT)
    assert_retryable(cancel(contest_id, caller, order_id))
    assert [order.status for order in orders_of(contest_id, caller.user_id)] == ["open"]
    reconcile(contest_id, caller.user_id)
    inject.clear()
    assert cancel(contest_id, caller, order_id).status == 200
    assert [order.status for order in orders_of(contest_id, caller.user_id)] == ["cancelled"]
    reconcile(contest_id, caller.user_id)
    assert cancel(contest_id, caller, order_id).error_code == "ORDER_NOT_CANCELLABLE"


def test_a_cancel_committed_whose_answer_was_lost_is_cancelled_once(
    player: tuple[str, Caller], inject: Injector
) -> None:
    contest_id, caller = player
    order_id = place(contest_id, caller, LIMIT).body["id"]
    inject.fail("TransactWriteItems", faults.read_timeout(), after=True)
    assert_retryable(cancel(contest_id, caller, order_id))
    again = cancel(contest_id, caller, order_id)
    assert again.status == 409 and again.error_code == "ORDER_NOT_CANCELLABLE"  # already cancelled: says so
    reconcile(contest_id, caller.user_id)


# ------------------------------------------------------------------------------------------------ matching
def _match(trading: World) -> Any:
    from tickerleague.domain.market_calendar import TwentyFourSeven
    from tickerleague.services.matching import match_open_orders

    return match_open_orders(utcnow(), calendar=TwentyFourSeven(), sleep=lambda _: None)


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("TransactWriteItems", "throttling"),
        ("TransactWriteItems", "read_timeout"),
        ("Query", "internal500"),
        ("BatchGetItem", "throughput"),
        ("GetItem", "connect_timeout"),
    ],
)
def test_a_matching_run_that_fails_fills_nothing_twice_and_the_next_run_fills_once(
    trading: World, player: tuple[str, Caller], inject: Injector, operation: str, fault: str
) -> None:
    contest_id, caller = player
    order_id = place(contest_id, caller, LIMIT).body["id"]
    trading.quote("AAPL", "149.50")  # crosses the limit
    inject.fail(operation, faults.DYNAMODB_FAULTS[fault], times=faults.PERSISTENT)
    with pytest.raises(Exception) as raised:
        _match(trading)
    from tickerleague.http.unavailable import is_transient

    assert is_transient(raised.value), raised.value  # the job fails for its retry; an API caller would see 503
    with inject.off():
        assert [o.status for o in orders_of(contest_id, caller.user_id)] == ["open"]
        reconcile(contest_id, caller.user_id)
    inject.clear()
    _match(trading)
    _match(trading)  # an overlapping or repeated run changes nothing more
    (filled,) = orders_of(contest_id, caller.user_id)
    assert filled.order_id == order_id and filled.status == "filled" and filled.filled_price == Decimal("149.50")
    reconcile(contest_id, caller.user_id)


def test_a_fill_committed_whose_answer_was_lost_is_filled_once(
    trading: World, player: tuple[str, Caller], inject: Injector
) -> None:
    contest_id, caller = player
    place(contest_id, caller, LIMIT)
    trading.quote("AAPL", "149.50")
    inject.fail("TransactWriteItems", faults.read_timeout(), after=True)
    with pytest.raises(ReadTimeoutError):  # the job fails (its retry is the next run)
        _match(trading)
    _match(trading)
    assert [o.status for o in orders_of(contest_id, caller.user_id)] == ["filled"]
    reconcile(contest_id, caller.user_id)
