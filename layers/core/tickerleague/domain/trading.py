"""Trading as pure functions: order validation, every acceptance rule of an order (contest active, market open,
symbol known and allowed, caller joined), the rules of a contest, fill and reservation arithmetic, average cost,
realized/unrealized P&L, valuation and the ledger replay that reconciliation compares against.

No I/O. Every amount is a `Decimal`; cash is kept to the cent and prices to 4 dp, rounding half-even.

The ledger. Every fill keeps this identity exact, to the cent:

    cash + sum(cost basis) + fees paid - sum(realized P&L) == starting cash

- a buy of q at p costs `notional + commission`, where `notional = round_cent(q * p)`; the position's cost basis
  grows by the notional, the commission goes to `fees_paid`;
- a sell of q credits `notional - commission`; it removes `round_cent(cost_basis * q / held)` of cost basis (all of
  it when the position is closed) and realizes `notional - removed` (realized P&L is gross of commissions, which
  are counted once, in fees);
- reservations move nothing: an open buy limit reserves `notional at the limit + commission` of the cash it still
  holds (`reserved_cash`), an open sell reserves shares (`reserved_quantity`). A reserved buy fills at a price at
  or below its limit, so the reservation always covers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from tickerleague.clock import iso
from tickerleague.domain.contests import Contest, ContestRules, ContestStatus, visible_to
from tickerleague.domain.market_calendar import TradingCalendar
from tickerleague.domain.money import ZERO, decimal_places, to_cash, to_price
from tickerleague.domain.portfolio import Portfolio, Position
from tickerleague.domain.quotes import Quote
from tickerleague.domain.symbols import SymbolUniverse
from tickerleague.errors import DomainError, NotFound, RuleViolation, ValidationFailed

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
TimeInForce = Literal["day", "gtc"]
OrderStatus = Literal["filled", "open", "cancelled", "expired", "rejected"]

SIDES: tuple[Side, ...] = ("buy", "sell")
ORDER_TYPES: tuple[OrderType, ...] = ("market", "limit")
TIMES_IN_FORCE: tuple[TimeInForce, ...] = ("day", "gtc")
ORDER_STATUSES: tuple[OrderStatus, ...] = ("filled", "open", "cancelled", "expired", "rejected")

MAX_QUANTITY_PLACES = 6
MAX_PRICE_PLACES = 4
# Far beyond any real order; it keeps products of quantity and price well inside the Decimal context.
MAX_QUANTITY = Decimal("1000000000")
MAX_LIMIT_PRICE = Decimal("1000000000")
HUNDRED = Decimal(100)
# tradesByDay keeps this many days, so the entry item does not grow with the contest's length.
TRADE_DAYS_KEPT = 7


# ---------------------------------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = "day"
    client_order_id: str | None = None


def quantity_problem(quantity: Decimal) -> str | None:
    if quantity <= 0:
        return "must be greater than 0"
    if decimal_places(quantity) > MAX_QUANTITY_PLACES:
        return f"must have at most {MAX_QUANTITY_PLACES} decimal places"
    if quantity > MAX_QUANTITY:
        return f"must be at most {MAX_QUANTITY}"
    return None


def limit_price_problem(order_type: OrderType, limit: Decimal | None) -> str | None:
    """A limit order needs a positive limit price of at most 4 decimals; a market order takes none."""
    if order_type != "limit":
        return "must not be given for a market order" if limit is not None else None
    if limit is None:
        return "is required for a limit order"
    if limit <= 0:
        return "must be greater than 0"
    if decimal_places(limit) > MAX_PRICE_PLACES:
        return f"must have at most {MAX_PRICE_PLACES} decimal places"
    if limit > MAX_LIMIT_PRICE:
        return f"must be at most {MAX_LIMIT_PRICE}"
    return None


def request_errors(request: OrderRequest) -> dict[str, str]:
    """Field errors that need no contest: quantity and limit price shape, limit price presence."""
    problems = {"quantity": quantity_problem(request.quantity),
                "limitPrice": limit_price_problem(request.order_type, request.limit_price)}
    return {field: problem for field, problem in problems.items() if problem}


def validate_request(request: OrderRequest) -> None:
    """422 VALIDATION_FAILED naming every bad field; runs before any read."""
    errors = request_errors(request)
    if errors:
        raise ValidationFailed(errors)


def validate_for_rules(request: OrderRequest, rules: ContestRules) -> None:
    """A whole number of shares unless the contest allows fractions (422 VALIDATION_FAILED)."""
    if not rules.allow_fractional and request.quantity != request.quantity.to_integral_value():
        raise ValidationFailed({"quantity": "must be a whole number of shares in this contest"})


# ---------------------------------------------------------------------------------------------------- acceptance
# Every rule that decides whether an order is taken at all; `decide_placement` then decides how it fills.
def not_joined(contest: Contest, *, is_admin: bool) -> DomainError:
    """The answer to a caller without an entry: NOT_JOINED where they may see the contest, else 404."""
    if visible_to(contest, is_admin=is_admin, is_entrant=False):
        return RuleViolation("You have not joined this contest.", code="NOT_JOINED")
    return NotFound("No such contest.")


def require_tradable(contest: Contest, request: OrderRequest, now: datetime, calendar: TradingCalendar) -> None:
    """The contest is active (and not past its end), the quantity suits its rules, the market is open."""
    if contest.status is not ContestStatus.ACTIVE or now >= contest.ends_at:
        raise RuleViolation(f"The contest is {contest.status.value}; orders are taken only while it is active.",
                            code="CONTEST_NOT_ACTIVE", details={"status": contest.status.value})
    validate_for_rules(request, contest.rules)
    if not calendar.is_open(now):
        raise RuleViolation("The market is closed.", code="MARKET_CLOSED",
                            details={"nextOpen": iso(calendar.next_open(now))})


def require_known_symbol(contest: Contest, symbol: str, universe: SymbolUniverse) -> str:
    """The canonical symbol, known to the universe and allowed by the contest (UNKNOWN_SYMBOL, SYMBOL_NOT_ALLOWED)."""
    known = universe.get(symbol)
    if known is None:
        raise RuleViolation(f"{symbol} is not a symbol we know.", code="UNKNOWN_SYMBOL", details={"symbol": symbol})
    allowed = contest.rules.allowed_symbols
    if allowed is not None and known.symbol not in allowed:
        raise RuleViolation(f"{known.symbol} may not be traded in this contest.", code="SYMBOL_NOT_ALLOWED",
                            details={"symbol": known.symbol})
    return known.symbol


# ---------------------------------------------------------------------------------------------------- arithmetic
def notional_of(quantity: Decimal, price: Decimal) -> Decimal:
    """quantity x price, to the cent, half-even."""
    return to_cash(quantity * price)


def commission_of(rules: ContestRules) -> Decimal:
    return to_cash(rules.commission_per_trade)


def buy_reservation(quantity: Decimal, limit_price: Decimal, commission: Decimal) -> Decimal:
    """Cash an open buy limit holds back: its notional at the limit plus the commission."""
    return notional_of(quantity, limit_price) + commission


def crosses(side: Side, limit_price: Decimal, price: Decimal) -> bool:
    """Whether a limit order may fill at `price`: a buy at or below its limit, a sell at or above."""
    return price <= limit_price if side == "buy" else price >= limit_price


def average_cost(position: Position) -> Decimal:
    """Cost basis per share held, to 4 dp (0 for an empty position)."""
    if position.quantity <= 0:
        return to_price(ZERO)
    return to_price(position.cost_basis / position.quantity)


@dataclass(frozen=True)
class Fill:
    side: Side
    symbol: str
    quantity: Decimal
    price: Decimal
    notional: Decimal
    commission: Decimal
    cost_removed: Decimal = ZERO  # sells: cost basis taken off the position
    realized_pnl: Decimal = ZERO  # sells: notional - cost removed

    @property
    def cash_delta(self) -> Decimal:
        if self.side == "buy":
            return -(self.notional + self.commission)
        return self.notional - self.commission


def _position(portfolio: Portfolio, symbol: str) -> Position:
    return portfolio.positions.get(symbol) or Position(symbol=symbol)


def _with_position(portfolio: Portfolio, position: Position, **changes: Decimal) -> Portfolio:
    positions = dict(portfolio.positions)
    positions[position.symbol] = position
    return replace(portfolio, positions=positions, **changes)


def _buy(portfolio: Portfolio, symbol: str, quantity: Decimal, notional: Decimal,
         commission: Decimal) -> Portfolio:
    position = _position(portfolio, symbol)
    grown = replace(position, quantity=position.quantity + quantity, cost_basis=position.cost_basis + notional)
    return _with_position(portfolio, grown, cash=portfolio.cash - notional - commission,
                          fees_paid=portfolio.fees_paid + commission)


def cost_removed_by_sale(position: Position, quantity: Decimal) -> Decimal:
    """The share of cost basis that leaves with `quantity` shares: all of it when the position closes."""
    if quantity >= position.quantity:
        return position.cost_basis
    return to_cash(position.cost_basis * quantity / position.quantity)


def _sell(portfolio: Portfolio, symbol: str, quantity: Decimal, notional: Decimal,
          commission: Decimal) -> tuple[Portfolio, Decimal]:
    position = _position(portfolio, symbol)
    removed = cost_removed_by_sale(position, quantity)
    shrunk = replace(
        position, quantity=position.quantity - quantity, cost_basis=position.cost_basis - removed,
        realized_pnl=position.realized_pnl + notional - removed,
    )
    changed = _with_position(portfolio, shrunk, cash=portfolio.cash + notional - commission,
                             fees_paid=portfolio.fees_paid + commission)
    return changed, removed


def _insufficient_cash(needed: Decimal, available: Decimal) -> RuleViolation:
    return RuleViolation(
        f"This order needs {needed:f} of cash; {available:f} is available.", code="INSUFFICIENT_CASH",
        details={"needed": f"{needed:f}", "available": f"{available:f}"},
    )


def _insufficient_shares(symbol: str, needed: Decimal, available: Decimal) -> RuleViolation:
    return RuleViolation(
        f"This order sells {needed.normalize():f} {symbol}; {available.normalize():f} are available.",
        code="INSUFFICIENT_SHARES",
        details={"symbol": symbol, "needed": f"{needed.normalize():f}", "available": f"{available.normalize():f}"},
    )


def apply_fill(portfolio: Portfolio, *, side: Side, symbol: str, quantity: Decimal, price: Decimal,
               commission: Decimal) -> tuple[Portfolio, Fill]:
    """Fill `quantity` at `price` against what is available (reservations are not spent): INSUFFICIENT_CASH or
    INSUFFICIENT_SHARES when it does not fit. Release a reservation first to fill the order that holds it."""
    notional = notional_of(quantity, price)
    if side == "buy":
        cost = notional + commission
        if cost > portfolio.available_cash:
            raise _insufficient_cash(cost, portfolio.available_cash)
        return _buy(portfolio, symbol, quantity, notional, commission), Fill(
            side, symbol, quantity, price, notional, commission)
    available = _position(portfolio, symbol).available_quantity
    if quantity > available:
        raise _insufficient_shares(symbol, quantity, available)
    if commission - notional > portfolio.available_cash:  # a sale worth less than its commission
        raise _insufficient_cash(commission - notional, portfolio.available_cash)
    changed, removed = _sell(portfolio, symbol, quantity, notional, commission)
    return changed, Fill(side, symbol, quantity, price, notional, commission, cost_removed=removed,
                         realized_pnl=notional - removed)


def reserve_cash(portfolio: Portfolio, amount: Decimal) -> Portfolio:
    if amount > portfolio.available_cash:
        raise _insufficient_cash(amount, portfolio.available_cash)
    return replace(portfolio, reserved_cash=portfolio.reserved_cash + amount)


def release_cash(portfolio: Portfolio, amount: Decimal) -> Portfolio:
    return replace(portfolio, reserved_cash=max(ZERO, portfolio.reserved_cash - amount))


def reserve_shares(portfolio: Portfolio, symbol: str, quantity: Decimal) -> Portfolio:
    position = _position(portfolio, symbol)
    if quantity > position.available_quantity:
        raise _insufficient_shares(symbol, quantity, position.available_quantity)
    return _with_position(portfolio, replace(position, reserved_quantity=position.reserved_quantity + quantity))


def release_shares(portfolio: Portfolio, symbol: str, quantity: Decimal) -> Portfolio:
    position = _position(portfolio, symbol)
    released = replace(position, reserved_quantity=max(ZERO, position.reserved_quantity - quantity))
    return _with_position(portfolio, released)


@dataclass(frozen=True)
class Reservation:
    """What an open order holds back: cash for a buy, shares for a sell."""

    cash: Decimal = ZERO
    quantity: Decimal = ZERO


def release(portfolio: Portfolio, symbol: str, reservation: Reservation) -> Portfolio:
    """Give back what an open order held (on fill, cancel or expiry)."""
    if reservation.cash:
        portfolio = release_cash(portfolio, reservation.cash)
    if reservation.quantity:
        portfolio = release_shares(portfolio, symbol, reservation.quantity)
    return portfolio


# ---------------------------------------------------------------------------------------------------- rules
def count_trade(trades_by_day: Mapping[str, int], day: date) -> dict[str, int]:
    """One more trade on the session `day`; days older than TRADE_DAYS_KEPT are dropped."""
    oldest = (day - timedelta(days=TRADE_DAYS_KEPT)).isoformat()
    kept = {key: count for key, count in trades_by_day.items() if key > oldest}
    kept[day.isoformat()] = kept.get(day.isoformat(), 0) + 1
    return kept


def check_min_price(rules: ContestRules, symbol: str, price: Decimal) -> None:
    if rules.min_price is not None and price < rules.min_price:
        raise RuleViolation(
            f"{symbol} trades at {to_price(price):f}, below this contest's minimum of {rules.min_price:f}.",
            code="PRICE_BELOW_MINIMUM", details={"symbol": symbol, "minPrice": f"{rules.min_price:f}"},
        )


def check_trades_per_day(rules: ContestRules, trades_today: int) -> None:
    if rules.max_trades_per_day is not None and trades_today >= rules.max_trades_per_day:
        raise RuleViolation(
            f"This contest allows {rules.max_trades_per_day} orders per trading day.", code="TRADE_LIMIT_REACHED",
            details={"maxTradesPerDay": rules.max_trades_per_day},
        )


def market_value(portfolio: Portfolio, prices: Mapping[str, Decimal]) -> Decimal:
    """The contract's `totalValue = cash + sum(quantity x price)`, rounded once, to the cent, half-even (rounding each
    position first could differ by a cent); a position without a price counts at its cost basis."""
    total = portfolio.cash
    for symbol, position in portfolio.positions.items():
        if position.quantity > 0:
            price = prices.get(symbol)
            total += position.quantity * price if price is not None else position.cost_basis
    return to_cash(total)


def check_position_limit(rules: ContestRules, portfolio: Portfolio, *, symbol: str, quantity: Decimal,
                         price: Decimal, commission: Decimal, prices: Mapping[str, Decimal]) -> None:
    """POSITION_LIMIT_EXCEEDED when, after buying `quantity` at `price`, the position (valued at `price`) would be
    more than maxPositionPct of the portfolio (valued at `prices`, this symbol at `price`)."""
    if rules.max_position_pct is None:
        return
    marks = {**prices, symbol: price}
    held = _position(portfolio, symbol).quantity
    position_after = notional_of(held + quantity, price)
    total_after = market_value(portfolio, marks) - commission  # cash becomes shares worth what they cost
    if total_after <= 0 or position_after * HUNDRED > rules.max_position_pct * total_after:
        raise RuleViolation(
            f"This order would make {symbol} more than {rules.max_position_pct:f}% of the portfolio.",
            code="POSITION_LIMIT_EXCEEDED", details={"symbol": symbol, "maxPositionPct": f"{rules.max_position_pct:f}"},
        )


@dataclass(frozen=True)
class Placement:
    """What accepting an order does to the portfolio: it fills now, or it opens and reserves."""

    portfolio: Portfolio
    status: OrderStatus  # "filled" or "open"
    fill: Fill | None
    reservation: Reservation
    trades_by_day: dict[str, int]


def decide_placement(request: OrderRequest, rules: ContestRules, portfolio: Portfolio, *, quote_price: Decimal,
                     trades_by_day: Mapping[str, int], session_day: date,
                     prices: Mapping[str, Decimal]) -> Placement:
    """Every trading rule after the symbol and quote checks, in the contract's order: minimum price, trades per
    day, position limit, cash, shares. A market order, or a limit order the quote already crosses, fills now at
    the quote; any other limit order opens and reserves."""
    symbol, quantity = request.symbol, request.quantity
    check_min_price(rules, symbol, quote_price)
    if request.limit_price is not None and request.side == "buy":
        check_min_price(rules, symbol, request.limit_price)
    check_trades_per_day(rules, trades_by_day.get(session_day.isoformat(), 0))
    commission = commission_of(rules)
    fills_now = request.limit_price is None or crosses(request.side, request.limit_price, quote_price)
    price = quote_price if fills_now or request.limit_price is None else request.limit_price
    if request.side == "buy":
        check_position_limit(rules, portfolio, symbol=symbol, quantity=quantity, price=price, commission=commission,
                             prices=prices)
    counted = count_trade(trades_by_day, session_day)
    if fills_now:
        filled, fill = apply_fill(portfolio, side=request.side, symbol=symbol, quantity=quantity, price=quote_price,
                                  commission=commission)
        return Placement(filled, "filled", fill, Reservation(), counted)
    assert request.limit_price is not None
    if request.side == "buy":
        amount = buy_reservation(quantity, request.limit_price, commission)
        return Placement(reserve_cash(portfolio, amount), "open", None, Reservation(cash=amount), counted)
    return Placement(reserve_shares(portfolio, symbol, quantity), "open", None, Reservation(quantity=quantity),
                     counted)


def fill_open_order(portfolio: Portfolio, *, side: Side, symbol: str, quantity: Decimal, price: Decimal,
                    commission: Decimal, reservation: Reservation) -> tuple[Portfolio, Fill]:
    """An open order fills: its reservation comes back, then the fill is applied against what is available."""
    return apply_fill(release(portfolio, symbol, reservation), side=side, symbol=symbol, quantity=quantity,
                      price=price, commission=commission)


# ---------------------------------------------------------------------------------------------------- valuation
@dataclass(frozen=True)
class PositionValuation:
    symbol: str
    quantity: Decimal
    avg_cost: Decimal
    last_price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True)
class Valuation:
    cash: Decimal  # includes reserved cash: it is still the entry's money
    positions: tuple[PositionValuation, ...]
    total_value: Decimal  # cash + sum(quantity x last price), rounded once (not the sum of the rounded market values)
    return_pct: Decimal  # (total - starting) / starting x 100, to 4 dp


def return_pct(total_value: Decimal, starting_cash: Decimal) -> Decimal:
    if starting_cash <= 0:
        return to_price(ZERO)
    return to_price((total_value - starting_cash) * HUNDRED / starting_cash)


def value(portfolio: Portfolio, prices: Mapping[str, Decimal]) -> Valuation:
    """Mark every open position to `prices` (a position without a price is marked at its average cost, so it
    adds no unrealized P&L). Positions are listed alphabetically; closed ones are left out."""
    positions: list[PositionValuation] = []
    for symbol in sorted(portfolio.positions):
        position = portfolio.positions[symbol]
        if position.quantity <= 0:
            continue
        avg = average_cost(position)
        last = to_price(prices[symbol]) if symbol in prices else avg
        worth = notional_of(position.quantity, last) if symbol in prices else position.cost_basis
        positions.append(PositionValuation(
            symbol=symbol, quantity=position.quantity, avg_cost=avg, last_price=last, market_value=worth,
            unrealized_pnl=worth - position.cost_basis, realized_pnl=position.realized_pnl,
        ))
    total = market_value(portfolio, {item.symbol: item.last_price for item in positions if item.symbol in prices})
    return Valuation(cash=portfolio.cash, positions=tuple(positions), total_value=total,
                     return_pct=return_pct(total, portfolio.starting_cash))


def ledger_imbalance(portfolio: Portfolio) -> Decimal:
    """cash + sum(cost basis) + fees - sum(realized P&L) - starting cash: zero for every consistent portfolio."""
    cost = sum((position.cost_basis for position in portfolio.positions.values()), ZERO)
    realized = sum((position.realized_pnl for position in portfolio.positions.values()), ZERO)
    return portfolio.cash + cost + portfolio.fees_paid - realized - portfolio.starting_cash


# ---------------------------------------------------------------------------------------------------- replay
@dataclass(frozen=True)
class LedgerLine:
    """One order as the ledger sees it. `fill_seq` is the entry version the fill produced: it orders fills
    exactly, whatever order they were placed in."""

    order_id: str
    symbol: str
    side: Side
    status: OrderStatus
    quantity: Decimal
    notional: Decimal | None = None
    commission: Decimal | None = None
    fill_seq: int | None = None
    reservation: Reservation = Reservation()


def replay(starting_cash: Decimal, lines: Iterable[LedgerLine]) -> Portfolio:
    """The portfolio the order ledger implies: fills applied in fill order (without the rules: a broken ledger
    is reported, not refused), plus the reservations of the orders still open."""
    portfolio = Portfolio.fresh(starting_cash)
    ordered = list(lines)
    fills = sorted((line for line in ordered if line.status == "filled"),
                   key=lambda line: (line.fill_seq or 0, line.order_id))
    for line in fills:
        notional, commission = line.notional or ZERO, line.commission or ZERO
        if line.side == "buy":
            portfolio = _buy(portfolio, line.symbol, line.quantity, notional, commission)
        else:
            portfolio, _ = _sell(portfolio, line.symbol, line.quantity, notional, commission)
    for line in ordered:
        if line.status != "open":
            continue
        if line.reservation.cash:
            portfolio = replace(portfolio, reserved_cash=portfolio.reserved_cash + line.reservation.cash)
        if line.reservation.quantity:
            position = _position(portfolio, line.symbol)
            portfolio = _with_position(
                portfolio, replace(position, reserved_quantity=position.reserved_quantity + line.reservation.quantity))
    return portfolio


@dataclass(frozen=True)
class Difference:
    field: str  # "cash", "reservedCash", "feesPaid", "positions.AAPL.quantity", ...
    stored: Decimal
    expected: Decimal


def differences(stored: Portfolio, expected: Portfolio) -> list[Difference]:
    """Every money field where the stored portfolio differs from the replayed one (exact Decimal comparison)."""
    found: list[Difference] = []

    def compare(name: str, have: Decimal, want: Decimal) -> None:
        if have != want:
            found.append(Difference(name, have, want))

    compare("cash", stored.cash, expected.cash)
    compare("reservedCash", stored.reserved_cash, expected.reserved_cash)
    compare("feesPaid", stored.fees_paid, expected.fees_paid)
    for symbol in sorted(set(stored.positions) | set(expected.positions)):
        have, want = _position(stored, symbol), _position(expected, symbol)
        compare(f"positions.{symbol}.quantity", have.quantity, want.quantity)
        compare(f"positions.{symbol}.reservedQuantity", have.reserved_quantity, want.reserved_quantity)
        compare(f"positions.{symbol}.costBasis", have.cost_basis, want.cost_basis)
        compare(f"positions.{symbol}.realizedPnl", have.realized_pnl, want.realized_pnl)
    return found


# ---------------------------------------------------------------------------------------------------- orders
@dataclass(frozen=True)
class Order:
    """An order as stored. `quote` is the quote it used: the fill's for a filled order, the one seen at
    placement for any other. `expires_at` is when an open order lapses: the session close for `day`, None for
    `gtc` (which lapses when its contest ends). `fill_seq` is the entry version its fill produced."""

    order_id: str
    contest_id: str
    user_id: str
    entry_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    time_in_force: TimeInForce
    status: OrderStatus
    created_at: datetime
    client_order_id: str | None = None
    quote: Quote | None = None
    filled_quantity: Decimal = ZERO
    filled_price: Decimal | None = None
    commission: Decimal | None = None
    notional: Decimal | None = None
    filled_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    reservation: Reservation = Reservation()
    expires_at: datetime | None = None
    fill_seq: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def ledger_line(self) -> LedgerLine:
        return LedgerLine(
            order_id=self.order_id, symbol=self.symbol, side=self.side, status=self.status,
            quantity=self.filled_quantity if self.status == "filled" else self.quantity,
            notional=self.notional, commission=self.commission, fill_seq=self.fill_seq,
            reservation=self.reservation,
        )


def filled_order(order: Order, fill: Fill, quote: Quote, at: datetime, fill_seq: int) -> Order:
    return replace(
        order, status="filled", quote=quote, filled_quantity=fill.quantity, filled_price=fill.price,
        commission=fill.commission, notional=fill.notional, filled_at=at, closed_at=at, fill_seq=fill_seq,
        reservation=Reservation(),
    )


def closed_order(order: Order, status: OrderStatus, at: datetime, reason: str) -> Order:
    """An open order that ends without a fill: cancelled, expired or rejected; it holds nothing any more."""
    return replace(order, status=status, closed_at=at, close_reason=reason, reservation=Reservation())


def expiry_of(time_in_force: TimeInForce, session_close: datetime | None) -> datetime | None:
    """A day order lapses at its session's close; a gtc order only when the contest ends."""
    return session_close if time_in_force == "day" else None


def is_expired(order: Order, now: datetime) -> bool:
    return order.is_open and order.expires_at is not None and now >= order.expires_at
