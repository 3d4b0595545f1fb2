"""Pure trading rules and arithmetic: validation, fills, reservations, average cost, P&L, valuation, replay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickerleague.domain.contests import ContestRules
from tickerleague.domain.portfolio import Portfolio, Position
from tickerleague.domain.trading import (
    LedgerLine,
    OrderRequest,
    Reservation,
    apply_fill,
    average_cost,
    buy_reservation,
    count_trade,
    crosses,
    decide_placement,
    differences,
    fill_open_order,
    ledger_imbalance,
    market_value,
    notional_of,
    release,
    replay,
    request_errors,
    reserve_cash,
    reserve_shares,
    validate_for_rules,
    value,
)
from tickerleague.errors import RuleViolation, ValidationFailed

from tests.support.trading import D

DAY = date(2026, 3, 2)


def request(**changes: object) -> OrderRequest:
    fields: dict[str, object] = {"symbol": "AAPL", "side": "buy", "quantity": D("10"), "order_type": "market"}
    fields.update(changes)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def place(
    portfolio: Portfolio,
    rules: ContestRules | None = None,
    price: str = "100",
    trades: int = 0,
    prices: dict[str, Decimal] | None = None,
    **changes: object,
):
    return decide_placement(
        request(**changes),
        rules or ContestRules(),
        portfolio,
        quote_price=D(price),
        trades_by_day={DAY.isoformat(): trades} if trades else {},
        session_day=DAY,
        prices=prices or {},
    )


# ---------------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": D("0")}, "quantity"),
        ({"quantity": D("-1")}, "quantity"),
        ({"quantity": D("1.1234567")}, "quantity"),
        ({"quantity": D("1e12")}, "quantity"),
        ({"order_type": "limit"}, "limitPrice"),
        ({"order_type": "limit", "limit_price": D("0")}, "limitPrice"),
        ({"order_type": "limit", "limit_price": D("-5")}, "limitPrice"),
        ({"order_type": "limit", "limit_price": D("10.12345")}, "limitPrice"),
        ({"limit_price": D("10")}, "limitPrice"),
    ],
)
def test_request_errors_name_the_field(changes: dict[str, object], field: str) -> None:
    assert field in request_errors(request(**changes))


def test_a_good_request_has_no_errors() -> None:
    assert request_errors(request(quantity=D("1.123456"), order_type="limit", limit_price=D("10.1234"))) == {}


def test_fractions_only_where_allowed() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_for_rules(request(quantity=D("1.5")), ContestRules(allow_fractional=False))
    assert caught.value.fields == {"quantity": "must be a whole number of shares in this contest"}
    validate_for_rules(request(quantity=D("1.5")), ContestRules(allow_fractional=True))
    validate_for_rules(request(quantity=D("2.000")), ContestRules(allow_fractional=False))


# ---------------------------------------------------------------------------------------------------- arithmetic
def test_notional_rounds_half_even_to_the_cent() -> None:
    assert notional_of(D("1"), D("0.0050")) == D("0.00")  # 0.005 -> 0.00 (half to even)
    assert notional_of(D("1"), D("0.0150")) == D("0.02")
    assert notional_of(D("3"), D("187.4333")) == D("562.30")


def test_buy_and_sell_keep_cost_basis_fees_and_realized_pnl() -> None:
    start = Portfolio.fresh(D("10000.00"))
    bought, fill = apply_fill(start, side="buy", symbol="AAPL", quantity=D("10"), price=D("100"), commission=D("1.00"))
    assert fill.notional == D("1000.00") and fill.cash_delta == D("-1001.00")
    assert bought.cash == D("8999.00") and bought.fees_paid == D("1.00")
    assert bought.positions["AAPL"].cost_basis == D("1000.00")
    bought, _ = apply_fill(bought, side="buy", symbol="AAPL", quantity=D("5"), price=D("130"), commission=D("1.00"))
    assert average_cost(bought.positions["AAPL"]) == D("110.0000")
    sold, fill = apply_fill(bought, side="sell", symbol="AAPL", quantity=D("6"), price=D("120"), commission=D("1.00"))
    assert fill.cost_removed == D("660.00")  # 1650 * 6 / 15
    assert fill.realized_pnl == D("60.00")
    position = sold.positions["AAPL"]
    assert position.quantity == D("9") and position.cost_basis == D("990.00") and position.realized_pnl == D("60.00")
    assert sold.cash == D("8999.00") - D("651.00") + D("719.00")
    closed, fill = apply_fill(sold, side="sell", symbol="AAPL", quantity=D("9"), price=D("100"), commission=D("0"))
    assert closed.positions["AAPL"].cost_basis == D("0") and fill.cost_removed == D("990.00")
    assert ledger_imbalance(closed) == 0


def test_insufficient_cash_counts_commission_and_reservations() -> None:
    start = Portfolio.fresh(D("1000.00"))
    apply_fill(start, side="buy", symbol="X", quantity=D("10"), price=D("99.90"), commission=D("1.00"))  # 1000.00 fits
    with pytest.raises(RuleViolation) as caught:
        apply_fill(start, side="buy", symbol="X", quantity=D("10"), price=D("99.90"), commission=D("1.01"))
    assert caught.value.code == "INSUFFICIENT_CASH"
    reserved = reserve_cash(start, D("500.00"))
    with pytest.raises(RuleViolation):
        apply_fill(reserved, side="buy", symbol="X", quantity=D("6"), price=D("100"), commission=D("0"))


def test_insufficient_shares_counts_reserved_shares() -> None:
    holding, _ = apply_fill(
        Portfolio.fresh(D("1000.00")), side="buy", symbol="X", quantity=D("5"), price=D("10"), commission=D("0")
    )
    reserved = reserve_shares(holding, "X", D("3"))
    with pytest.raises(RuleViolation) as caught:
        apply_fill(reserved, side="sell", symbol="X", quantity=D("3"), price=D("10"), commission=D("0"))
    assert caught.value.code == "INSUFFICIENT_SHARES"
    with pytest.raises(RuleViolation):
        apply_fill(holding, side="sell", symbol="Y", quantity=D("1"), price=D("10"), commission=D("0"))
    with pytest.raises(RuleViolation):
        reserve_shares(reserved, "X", D("3"))


def test_a_reserved_buy_always_covers_its_fill() -> None:
    start = Portfolio.fresh(D("1000.00"))
    amount = buy_reservation(D("10"), D("99.90"), D("1.00"))
    assert amount == D("1000.00")
    reserved = reserve_cash(start, amount)
    assert reserved.available_cash == 0
    filled, fill = fill_open_order(
        reserved,
        side="buy",
        symbol="X",
        quantity=D("10"),
        price=D("99.8999"),
        commission=D("1.00"),
        reservation=Reservation(cash=amount),
    )
    assert filled.reserved_cash == 0 and filled.cash == D("1000.00") - fill.notional - D("1.00")
    assert release(reserved, "X", Reservation(cash=amount)) == start


def test_crossing() -> None:
    assert crosses("buy", D("10"), D("10")) and crosses("buy", D("10"), D("9.99"))
    assert not crosses("buy", D("10"), D("10.01"))
    assert crosses("sell", D("10"), D("10")) and crosses("sell", D("10"), D("10.01"))
    assert not crosses("sell", D("10"), D("9.99"))


# ---------------------------------------------------------------------------------------------------- rules
def test_trades_per_day_counts_by_session_day_and_forgets_old_days() -> None:
    counted = count_trade({"2026-02-01": 5, "2026-03-01": 2}, DAY)
    assert counted == {"2026-03-01": 2, "2026-03-02": 1}
    with pytest.raises(RuleViolation) as caught:
        place(Portfolio.fresh(D("1000.00")), ContestRules(max_trades_per_day=3), trades=3)
    assert caught.value.code == "TRADE_LIMIT_REACHED"
    assert place(Portfolio.fresh(D("1000.00")), ContestRules(max_trades_per_day=3), trades=2, quantity=D("1"))


def test_min_price() -> None:
    with pytest.raises(RuleViolation) as caught:
        place(Portfolio.fresh(D("1000.00")), ContestRules(min_price=D("5.00")), price="4.99", quantity=D("1"))
    assert caught.value.code == "PRICE_BELOW_MINIMUM"
    assert place(Portfolio.fresh(D("1000.00")), ContestRules(min_price=D("5.00")), price="5", quantity=D("1"))


def test_position_limit_values_the_whole_portfolio() -> None:
    rules = ContestRules(max_position_pct=D("25"))
    start = Portfolio.fresh(D("10000.00"))
    assert place(start, rules, price="100", quantity=D("25")).status == "filled"  # exactly 25 %
    with pytest.raises(RuleViolation) as caught:
        place(start, rules, price="100", quantity=D("26"))
    assert caught.value.code == "POSITION_LIMIT_EXCEEDED"
    # Holding MSFT that has doubled: the portfolio is worth more, so more AAPL fits.
    holding, _ = apply_fill(start, side="buy", symbol="MSFT", quantity=D("20"), price=D("100"), commission=D("0"))
    assert place(holding, rules, price="100", quantity=D("29"), prices={"MSFT": D("200")}).status == "filled"
    with pytest.raises(RuleViolation):
        place(holding, rules, price="100", quantity=D("31"), prices={"MSFT": D("200")})


def test_rule_order_min_price_before_trade_limit_before_cash() -> None:
    poor = Portfolio.fresh(D("1.00"))
    with pytest.raises(RuleViolation) as caught:
        place(poor, ContestRules(min_price=D("5"), max_trades_per_day=1), price="1", trades=1)
    assert caught.value.code == "PRICE_BELOW_MINIMUM"
    with pytest.raises(RuleViolation) as caught:
        place(poor, ContestRules(max_trades_per_day=1), trades=1)
    assert caught.value.code == "TRADE_LIMIT_REACHED"
    with pytest.raises(RuleViolation) as caught:
        place(poor)
    assert caught.value.code == "INSUFFICIENT_CASH"


def test_limit_orders_fill_now_when_the_quote_crosses_else_reserve() -> None:
    start = Portfolio.fresh(D("10000.00"))
    now = place(start, price="99", order_type="limit", limit_price=D("100"))
    assert now.status == "filled" and now.fill is not None and now.fill.price == D("99")
    later = place(
        start, ContestRules(commission_per_trade=D("1.50")), price="101", order_type="limit", limit_price=D("100")
    )
    assert later.status == "open" and later.reservation.cash == D("1001.50")
    assert later.portfolio.reserved_cash == D("1001.50") and later.portfolio.cash == D("10000.00")
    holding, _ = apply_fill(start, side="buy", symbol="AAPL", quantity=D("10"), price=D("50"), commission=D("0"))
    sell = place(holding, price="99", side="sell", order_type="limit", limit_price=D("100"))
    assert sell.status == "open" and sell.portfolio.positions["AAPL"].reserved_quantity == D("10")


def test_an_open_buy_needs_the_cash_for_its_reservation() -> None:
    with pytest.raises(RuleViolation) as caught:
        place(Portfolio.fresh(D("999.99")), price="200", order_type="limit", limit_price=D("100"))
    assert caught.value.code == "INSUFFICIENT_CASH"


# ---------------------------------------------------------------------------------------------------- valuation
def test_valuation_marks_to_the_prices() -> None:
    holding, _ = apply_fill(
        Portfolio.fresh(D("10000.00")),
        side="buy",
        symbol="AAPL",
        quantity=D("3"),
        price=D("100.0001"),
        commission=D("0"),
    )
    holding = reserve_cash(holding, D("100.00"))
    valuation = value(holding, {"AAPL": D("110.12345")})
    (position,) = valuation.positions
    assert position.last_price == D("110.1234") and position.market_value == D("330.37")
    assert position.avg_cost == D("100.0000") and position.unrealized_pnl == D("30.37")
    assert valuation.cash == D("9700.00")  # reserved cash still counts
    assert valuation.total_value == D("10030.37") and valuation.return_pct == D("0.3037")


def test_total_value_rounds_cash_plus_quantity_times_price_once() -> None:
    # The contract: totalValue = cash + sum(quantity x lastPrice). 6 x 99.9625 = 599.775: the position's
    # marketValue rounds half-even to 599.78, but the total 99998.005 rounds to 99998.00, not 99998.01.
    holding, _ = apply_fill(
        Portfolio.fresh(D("99998.23")), side="buy", symbol="MSFT", quantity=D("6"), price=D("100"), commission=D("0")
    )
    valuation = value(holding, {"MSFT": D("99.9625")})
    (position,) = valuation.positions
    assert valuation.cash == D("99398.23") and position.market_value == D("599.78")
    assert valuation.total_value == D("99998.00")
    assert market_value(holding, {"MSFT": D("99.9625")}) == D("99998.00")


def test_a_position_without_a_price_is_marked_at_cost() -> None:
    holding, _ = apply_fill(
        Portfolio.fresh(D("1000.00")), side="buy", symbol="AAPL", quantity=D("3"), price=D("10"), commission=D("0")
    )
    valuation = value(holding, {})
    assert valuation.total_value == D("1000.00") and valuation.positions[0].unrealized_pnl == 0


def test_closed_positions_are_not_listed() -> None:
    holding, _ = apply_fill(
        Portfolio.fresh(D("1000.00")), side="buy", symbol="AAPL", quantity=D("3"), price=D("10"), commission=D("0")
    )
    closed, _ = apply_fill(holding, side="sell", symbol="AAPL", quantity=D("3"), price=D("12"), commission=D("0"))
    assert value(closed, {"AAPL": D("12")}).positions == ()
    assert value(closed, {}).total_value == D("1006.00")


# ---------------------------------------------------------------------------------------------------- replay
def test_replay_finds_every_difference() -> None:
    lines = [
        LedgerLine("1", "AAPL", "buy", "filled", D("10"), D("1000.00"), D("1.00"), 1),
        LedgerLine("2", "AAPL", "sell", "filled", D("4"), D("480.00"), D("1.00"), 2),
        LedgerLine("3", "AAPL", "sell", "open", D("2"), reservation=Reservation(quantity=D("2"))),
        LedgerLine("4", "MSFT", "buy", "open", D("1"), reservation=Reservation(cash=D("301.00"))),
        LedgerLine("5", "MSFT", "buy", "cancelled", D("1")),
    ]
    expected = replay(D("10000.00"), lines)
    assert expected.cash == D("9478.00") and expected.reserved_cash == D("301.00")
    assert expected.positions["AAPL"] == Position("AAPL", D("6"), D("2"), D("600.00"), D("80.00"))
    assert differences(expected, expected) == []
    tampered = Portfolio(
        expected.starting_cash,
        expected.cash + D("0.01"),
        expected.reserved_cash,
        expected.fees_paid,
        {"AAPL": Position("AAPL", D("7"), D("2"), D("600.00"), D("80.00"))},
    )
    found = {difference.field: difference for difference in differences(tampered, expected)}
    assert set(found) == {"cash", "positions.AAPL.quantity"}
    assert found["cash"].stored == D("9478.01") and found["cash"].expected == D("9478.00")


def test_replay_follows_fill_order_not_placement_order() -> None:
    # Order 1 (a limit buy placed first) filled after order 2: the sale's cost must come off the right holding.
    lines = [
        LedgerLine("1", "X", "buy", "filled", D("10"), D("500.00"), D("0"), 3),
        LedgerLine("2", "X", "buy", "filled", D("10"), D("1000.00"), D("0"), 1),
        LedgerLine("3", "X", "sell", "filled", D("5"), D("600.00"), D("0"), 2),
    ]
    expected = replay(D("5000.00"), lines)
    assert expected.positions["X"].cost_basis == D("1000.00")  # 1000 - 500 + 500


# ---------------------------------------------------------------------------------------------------- properties
fills = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(["AAPL", "MSFT", "KO"]),
        st.decimals(min_value=D("0.000001"), max_value=D("50"), places=6),
        st.decimals(min_value=D("0.0001"), max_value=D("900"), places=4),
        st.decimals(min_value=D("0"), max_value=D("9.99"), places=2),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(start=st.decimals(min_value=D("1.00"), max_value=D("10000000.00"), places=2), steps=fills)
def test_the_ledger_identity_holds_and_replay_reproduces_the_portfolio(start: Decimal, steps: list) -> None:
    """cash + sum(cost basis) + fees - sum(realized) == starting cash after any sequence of valid fills, nothing goes
    negative, and replaying the fills reproduces the portfolio exactly."""
    portfolio = Portfolio.fresh(start)
    lines: list[LedgerLine] = []
    for index, (side, symbol, wanted, price, commission) in enumerate(steps):
        held = portfolio.positions.get(symbol)
        quantity = min(wanted, held.quantity) if side == "sell" and held is not None and held.quantity > 0 else wanted
        try:
            portfolio, fill = apply_fill(
                portfolio, side=side, symbol=symbol, quantity=quantity, price=price, commission=commission
            )
        except RuleViolation:
            continue
        lines.append(LedgerLine(str(index), symbol, side, "filled", quantity, fill.notional, fill.commission, index))
        assert ledger_imbalance(portfolio) == 0
        assert portfolio.cash >= 0
        assert all(position.quantity >= 0 and position.cost_basis >= 0 for position in portfolio.positions.values())
    assert differences(portfolio, replay(start, lines)) == []
    valuation = value(portfolio, {})  # at cost: worth exactly what the ledger says is left
    assert valuation.total_value == start - portfolio.fees_paid + sum(
        (position.realized_pnl for position in portfolio.positions.values()), Decimal(0)
    )
