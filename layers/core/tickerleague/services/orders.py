"""Placing, cancelling and reading orders; filling and closing open ones (used by matching and contest end).

Every change of a portfolio is one transaction (`adapters.dynamodb.orders.commit`) conditioned on the entry version
that was read: optimistic concurrency. A lost race comes back with the entry's fresh value, the decision is taken
again on it (the rules may now refuse), and the commit is retried, a bounded number of times with jitter.

Placing an order costs one round trip, the TransactWriteItems, when this container placed the player's previous
order in the last few seconds (`services.placement_memory`: it remembers the contest and the entry it wrote, and
the quote comes from the market's per-container cache). Otherwise it costs two: one BatchGetItem (contest, entry,
latest quote, the new order's marker) first. A refusal is only ever decided on what was just read. A buy under a
maxPositionPct rule reads the other positions' quotes (one more), and the first buy of a symbol by an entry adds it
to the active-symbols set (one more, at most once per symbol per container every few minutes).

The order rate limit costs no call of its own: it is GCRA on the entry item (`orderTat`, `domain.rate_limit`), decided
on the entry the transaction is conditioned on and moved by that same transaction, so concurrent placements in any
number of containers can never over-admit (each admission bumps the version the others are conditioned on). A
refusal decided on a remembered entry is read again before it is answered. The bucket is per entry (per user per
contest); requests that never reach the transaction are limited by `http.rate_limit` instead.

Nothing is placed twice for one client id: the order's marker (its clientOrderId, or else the request's
Idempotency-Key: `domain.client_orders`) is written in the order's transaction on the condition that it does not
exist, so a retry whose first answer was lost (the order committed, the Idempotency-Key record never completed)
finds the original order, by the read or by that condition, and answers it instead of placing another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tickerleague import metrics
from tickerleague.adapters.dynamodb.plumbing import backoff_seconds
from tickerleague.config import settings
from tickerleague.domain.changes import Outcome, PlacementSnapshot, PortfolioChange
from tickerleague.domain.client_orders import OrderMarker, fingerprint_of, order_fingerprint, order_marker
from tickerleague.domain.contests import Contest
from tickerleague.domain.entries import Entry
from tickerleague.domain.market_calendar import TradingCalendar
from tickerleague.domain.money import ZERO
from tickerleague.domain.principal import Principal
from tickerleague.domain.quotes import Quote, QuoteProviderError, is_stale
from tickerleague.domain.rate_limit import Bucket, Decision, decide
from tickerleague.domain.symbols import SymbolUniverse
from tickerleague.domain.trading import (
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    closed_order,
    decide_placement,
    expiry_of,
    fill_open_order,
    filled_order,
    not_joined,
    release,
    require_known_symbol,
    require_tradable,
    validate_request,
)
from tickerleague.errors import (
    ClientOrderIdReused,
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    NotFound,
    RateLimited,
    RuleViolation,
    ServiceUnavailable,
)
from tickerleague.ids import is_ulid, new_ulid
from tickerleague.services.active_symbols import remember_bought_symbol
from tickerleague.services.placement_memory import PlacementMemory, Recalled
from tickerleague.services.ports import Cursors, OrderStore

logger = logging.getLogger("tickerleague.orders")

# A lost race is retried while both limits allow: enough for dozens of simultaneous orders on one entry, well
# inside the API function's 10 s timeout.
MAX_COMMIT_ATTEMPTS = 100
MAX_COMMIT_SECONDS = 8.0


# ---------------------------------------------------------------------------------------------------- ports
QuoteSource = Callable[[str, datetime], Quote]  # services.market.current_quote(symbol, now)


def _current_quote(symbol: str, now: datetime) -> Quote:
    from tickerleague.services import market

    return market.current_quote(symbol, now, purpose="order")


@dataclass(frozen=True)
class TradingPorts:
    store: OrderStore
    quotes: QuoteSource
    calendar: TradingCalendar
    universe: SymbolUniverse
    sleep: Callable[[float], None] = time.sleep
    max_quote_age: timedelta = field(default_factory=lambda: timedelta(seconds=settings().quote_max_age_seconds))
    serialize_entry_writes: bool = True  # see `entry_lock`
    memory: PlacementMemory | None = None  # see `services.placement_memory`; None: every placement reads first
    order_limit: Bucket | None = None  # the per-entry order rate limit kept in the transaction; None: not limited


# ---------------------------------------------------------------------------------------------------- entry locks
_ENTRY_LOCKS = tuple(threading.RLock() for _ in range(256))


@contextmanager
def entry_lock(contest_id: str, user_id: str, *, enabled: bool = True) -> Iterator[None]:
    """Serialise this process's own read-decide-commit cycles on one entry. A Lambda container serves one request
    at a time, so there it changes nothing; where one process serves many requests at once (the local gateway's
    threads), it turns what would be lost races, each costing a wasted transaction, into a short wait.
    Correctness never depends on it: the version condition of the transaction does that, across processes."""
    if not enabled:
        yield
        return
    with _ENTRY_LOCKS[hash((contest_id, user_id)) % len(_ENTRY_LOCKS)]:
        yield


def default_ports() -> TradingPorts:
    from tickerleague.adapters.dynamodb import orders as orders_table
    from tickerleague.domain.market_calendar import calendar_from_config
    from tickerleague.services.placement_memory import default_memory

    return TradingPorts(
        store=orders_table.OrderTable(), quotes=_current_quote,
        calendar=calendar_from_config(settings().market_calendar), universe=SymbolUniverse.default(),
        memory=default_memory(), order_limit=order_bucket(),
    )


def order_bucket() -> Bucket | None:
    """The order bucket of the settings (the contract's numbers), or None when rate limits are off."""
    config = settings()
    if not config.rate_limit_enabled:
        return None
    return Bucket("orders", config.rate_limit_orders_burst, config.rate_limit_orders_per_second)


def _backoff(attempt: int, sleep: Callable[[float], None]) -> None:
    """A lost race waits a jittered moment before deciding again."""
    sleep(backoff_seconds(attempt, base=0.004, cap=1.0))


def _attempts() -> Iterator[int]:
    """Attempt numbers until the attempt or time budget runs out."""
    deadline = time.monotonic() + MAX_COMMIT_SECONDS
    for attempt in range(MAX_COMMIT_ATTEMPTS):
        if attempt and time.monotonic() > deadline:
            return
        yield attempt


def _too_busy() -> ServiceUnavailable:
    return ServiceUnavailable("This portfolio is changing too fast right now; try again.",
                              headers={"Retry-After": "1"})


# ---------------------------------------------------------------------------------------------------- placing
@dataclass(frozen=True)
class PlaceResult:
    order: Order
    created: bool  # False: the marker was seen before and this is the original order
    limit: Decision | None = None  # the order rate limit's decision, when the transaction took it (headers)
    replayed: bool = False  # the original order of an earlier request under the same Idempotency-Key


def _refused(limit: Decision) -> RateLimited:
    refused = RateLimited(limit.retry_after_seconds)
    refused.headers.update(limit.headers())
    return refused


def _epoch_ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)


def _quote_stale(symbol: str) -> RuleViolation:
    return RuleViolation(f"There is no current price for {symbol}; try again shortly.", code="QUOTE_STALE",
                         details={"symbol": symbol})


def fresh_quote(stored: Quote | None, symbol: str, now: datetime, ports: TradingPorts) -> Quote:
    """The stored latest quote if it is fresh, else one fetched now. A provider failure never fills on a bad
    price: QUOTE_STALE when only an old quote exists, 503 when there is none at all."""
    if stored is not None and not is_stale(stored, now, ports.max_quote_age):
        return stored
    try:
        quote = ports.quotes(symbol, now)
    except QuoteProviderError as error:
        if stored is not None:
            raise _quote_stale(symbol) from error
        raise ServiceUnavailable("Prices are unavailable right now; try again shortly.") from error
    except ServiceUnavailable:
        if stored is not None:
            raise _quote_stale(symbol) from None
        raise
    if is_stale(quote, now, ports.max_quote_age):
        raise _quote_stale(symbol)
    return quote


def _fingerprint(request: OrderRequest) -> str:
    return order_fingerprint(symbol=request.symbol, side=request.side, order_type=request.order_type,
                             quantity=request.quantity, limit_price=request.limit_price,
                             time_in_force=request.time_in_force)


def _marker_reused(marker: OrderMarker) -> DomainError:
    if marker.from_key:
        return IdempotencyKeyReused(details={"header": "Idempotency-Key"})
    return ClientOrderIdReused(details={"field": "clientOrderId"})


def _original(store: OrderStore, contest_id: str, user_id: str, order_id: str, *, request: OrderRequest,
              marker: OrderMarker, stored_hash: str | None) -> PlaceResult:
    """The order a marker points at; another order under the same marker is 422, decided from the marker's
    fingerprint before any read (a marker without one, written before fingerprints: from the order)."""
    if stored_hash is not None and stored_hash != _fingerprint(request):
        raise _marker_reused(marker)
    order = store.get_order(contest_id, user_id, order_id)
    if order is None:  # a marker is written in the same transaction as its order
        raise ServiceUnavailable("The original order could not be read; try again.")
    if stored_hash is None and fingerprint_of(order) != _fingerprint(request):
        raise _marker_reused(marker)
    return PlaceResult(order, created=False, replayed=marker.from_key)


def _position_prices(store: OrderStore, entry: Entry, contest: Contest, request: OrderRequest,
                     known: dict[str, Decimal]) -> dict[str, Decimal]:
    """Prices of the other open positions, needed only to value the portfolio for a maxPositionPct buy; only
    those not already `known` are read."""
    if contest.rules.max_position_pct is None or request.side != "buy":
        return known
    others = [symbol for symbol, position in entry.portfolio.positions.items()
              if position.quantity > 0 and symbol != request.symbol and symbol not in known]
    if not others:
        return known
    return {**known, **{symbol: quote.price for symbol, quote in store.latest_quotes(others).items()}}


def _new_order(entry: Entry, request: OrderRequest, *, status: OrderStatus, quote: Quote, fill: Fill | None,
               now: datetime, calendar: TradingCalendar, order_id: str) -> Order:
    order = Order(
        order_id=order_id, contest_id=entry.contest_id, user_id=entry.user_id, entry_id=entry.entry_id,
        symbol=request.symbol, side=request.side, order_type=request.order_type, quantity=request.quantity,
        limit_price=request.limit_price, time_in_force=request.time_in_force, status="open", created_at=now,
        client_order_id=request.client_order_id, quote=quote,
        expires_at=expiry_of(request.time_in_force, calendar.session_close_for(now)),
    )
    if status == "filled" and fill is not None:
        return filled_order(order, fill, quote, now, entry.version + 1)
    return order


def place_order(principal: Principal, contest_id: str, request: OrderRequest, now: datetime,
                ports: TradingPorts | None = None, *, idempotency_key: str | None = None) -> PlaceResult:
    """POST /v1/contests/{contestId}/orders. The checks run in the contract's order; the same clientOrderId
    again answers the original order (never a second fill), and so does the same Idempotency-Key of an order
    without a clientOrderId (`replayed`), however the first answer was lost."""
    ports = ports or default_ports()
    marker = order_marker(request.client_order_id, idempotency_key)
    try:
        validate_request(request)
        with entry_lock(contest_id, principal.user_id, enabled=ports.serialize_entry_writes):
            result = _place(principal, contest_id, request, now, ports, marker=marker)
    except DomainError as error:
        if not isinstance(error, ServiceUnavailable):  # refused: the caller's request, not our outage
            metrics.count("OrdersRefused", code=error.code)
        if isinstance(error, RateLimited):
            metrics.count("RateLimitRefusals", bucket="orders")
        raise
    if result.created:
        metrics.count("OrdersPlaced", type=request.order_type)
    return result


def _place(principal: Principal, contest_id: str, request: OrderRequest, now: datetime,
           ports: TradingPorts, *, marker: OrderMarker | None) -> PlaceResult:
    recalled = ports.memory.recall(contest_id, principal.user_id) if ports.memory else None
    if recalled is not None and ports.memory is not None:
        try:
            return _place_recalled(principal, recalled, request, now, ports, marker=marker)
        # Never refuse on remembered state (a rule, or the rate limit on a remembered TAT): read, then decide again.
        except (RuleViolation, NotFound, Conflict, RateLimited):
            ports.memory.forget_entry(contest_id, principal.user_id)
    known = ports.universe.get(request.symbol)
    snapshot = ports.store.load_placement(
        contest_id, principal.user_id, known.symbol if known else None, marker, now=now,
    ) if is_ulid(contest_id) else PlacementSnapshot(None, None, None, None)
    contest = snapshot.contest
    if contest is None:
        raise NotFound("No such contest.")
    if ports.memory is not None:
        ports.memory.learn_contest(contest)
    if snapshot.original_order_id is not None and marker is not None:
        return _original(ports.store, contest_id, principal.user_id, snapshot.original_order_id, request=request,
                         marker=marker, stored_hash=snapshot.original_order_hash)
    entry = snapshot.entry
    if entry is None or entry.status != "active":
        raise not_joined(contest, is_admin=principal.is_admin)
    require_tradable(contest, request, now, ports.calendar)
    symbol = require_known_symbol(contest, request.symbol, ports.universe)
    quote = fresh_quote(snapshot.quote, symbol, now, ports)
    request = replace(request, symbol=symbol)
    return _commit_placement(ports, principal, contest, entry=entry, request=request, quote=quote, now=now,
                             marker=marker)


def _place_recalled(principal: Principal, recalled: Recalled, request: OrderRequest, now: datetime,
                    ports: TradingPorts, *, marker: OrderMarker | None) -> PlaceResult:
    """The same checks on the remembered contest and entry, the quote from the market's cache; a marker seen
    before (clientOrderId or Idempotency-Key) is found by the transaction's marker condition instead of a read."""
    contest = recalled.contest
    require_tradable(contest, request, now, ports.calendar)
    symbol = require_known_symbol(contest, request.symbol, ports.universe)
    quote = fresh_quote(None, symbol, now, ports)
    request = replace(request, symbol=symbol)
    return _commit_placement(ports, principal, contest, entry=recalled.entry, request=request, quote=quote, now=now,
                             marker=marker)


def _commit_placement(ports: TradingPorts, principal: Principal, contest: Contest, *, entry: Entry,
                      request: OrderRequest, quote: Quote, now: datetime,
                      marker: OrderMarker | None) -> PlaceResult:
    session_day = ports.calendar.session_date(now) or now.date()
    prices = _position_prices(ports.store, entry, contest, request, known={})
    order_id = new_ulid()
    for attempt in _attempts():
        # The rate limit first (a refused order is 429 whatever else it breaks), on the entry the commit is
        # conditioned on: a lost race re-decides it on the fresh entry.
        limit = decide(ports.order_limit, entry.order_tat_ms or None, _epoch_ms(now)) if ports.order_limit else None
        if limit is not None and not limit.allowed:
            raise _refused(limit)
        placement = decide_placement(
            request, contest.rules, entry.portfolio, quote_price=quote.price,
            trades_by_day=entry.trades_by_day or {}, session_day=session_day, prices=prices,
        )
        order = _new_order(entry, request, status=placement.status, quote=quote, fill=placement.fill, now=now,
                           calendar=ports.calendar, order_id=order_id)
        if placement.status == "open":
            order = replace(order, reservation=placement.reservation)
        change = PortfolioChange(entry, placement.portfolio, trades_by_day=placement.trades_by_day,
                                 order_tat_ms=limit.tat_ms if limit is not None else None)
        result = ports.store.commit(change, order, new_order=True, now=now, marker=marker)
        if result.outcome is Outcome.COMMITTED:
            if ports.memory is not None and result.entry is not None:
                ports.memory.learn_entry(result.entry)
            remember_bought_symbol(ports.store, entry, request)
            return PlaceResult(order, created=True, limit=limit)
        if result.outcome is Outcome.DUPLICATE and result.original_order_id and marker is not None:
            return _original(ports.store, entry.contest_id, entry.user_id, result.original_order_id, request=request,
                             marker=marker, stored_hash=result.original_order_hash)
        if result.outcome is Outcome.STALE_ENTRY:
            fresh = result.entry or ports.store.get_entry(entry.contest_id, entry.user_id)
            if fresh is None or fresh.status != "active":
                raise not_joined(contest, is_admin=principal.is_admin)
            entry = fresh
            prices = _position_prices(ports.store, entry, contest, request, known=prices)
        elif result.outcome is Outcome.ORDER_CHANGED:
            order_id = new_ulid()  # an id collision: take another
        _backoff(attempt, ports.sleep)
    raise _too_busy()


# ---------------------------------------------------------------------------------------------------- open orders
@dataclass(frozen=True)
class Closing:
    """How an open order ends: `filled` at `quote` (with `commission`), or cancelled/expired/rejected."""

    status: OrderStatus
    reason: str
    quote: Quote | None = None
    commission: Decimal = ZERO


def _close_decision(entry: Entry, order: Order, closing: Closing, now: datetime) -> tuple[PortfolioChange, Order]:
    """The new portfolio and order when `order` ends as `closing` says (a fill that no longer fits is rejected)."""
    quote = closing.quote
    if closing.status == "filled" and quote is not None:
        try:
            portfolio, fill = fill_open_order(
                entry.portfolio, side=order.side, symbol=order.symbol, quantity=order.quantity,
                price=quote.price, commission=closing.commission, reservation=order.reservation,
            )
        except RuleViolation as violation:
            closing = Closing("rejected", f"{violation.code}: {violation.message}")
        else:
            return (PortfolioChange(entry, portfolio, require_active=False),
                    filled_order(order, fill, quote, now, entry.version + 1))
    portfolio = release(entry.portfolio, order.symbol, order.reservation)
    return (PortfolioChange(entry, portfolio, require_active=False),
            closed_order(order, closing.status, now, closing.reason))


@dataclass(frozen=True)
class CloseResult:
    ended: Order | None  # the order as this call ended it
    current: Order | None  # otherwise: the order as it stands (None when there is no such order)


def close_open_order(store: OrderStore, contest_id: str, user_id: str, order_id: str, *, closing: Closing,
                     now: datetime, sleep: Callable[[float], None] = time.sleep,
                     serialize: bool = True) -> CloseResult:
    """End one open order (fill, cancel, expire, reject) in ONE transaction with its reservation's release.
    Reads the order and its entry in one round trip; a lost race is retried on the fresh values it returns."""
    with entry_lock(contest_id, user_id, enabled=serialize):
        return _close(store, contest_id, user_id, order_id, closing=closing, now=now, sleep=sleep)


def _close(store: OrderStore, contest_id: str, user_id: str, order_id: str, *, closing: Closing, now: datetime,
           sleep: Callable[[float], None]) -> CloseResult:
    order, entry = store.load_order(contest_id, user_id, order_id)
    for attempt in _attempts():
        if order is None or entry is None or not order.is_open:
            return CloseResult(None, order)
        change, ended = _close_decision(entry, order, closing, now)
        result = store.commit(change, ended, new_order=False, now=now)
        if result.outcome is Outcome.COMMITTED:
            return CloseResult(ended, None)
        if result.outcome is Outcome.ORDER_CHANGED:
            order = result.order or store.get_order(contest_id, user_id, order_id)
        elif result.outcome is Outcome.STALE_ENTRY:
            entry = result.entry or store.get_entry(contest_id, user_id)
        _backoff(attempt, sleep)
    raise _too_busy()


def cancel_order(principal: Principal, contest_id: str, order_id: str, now: datetime,
                 ports: TradingPorts | None = None) -> Order:
    """DELETE /v1/contests/{contestId}/orders/{orderId}: an open order becomes cancelled and its reservation comes
    back; any other status is 409 ORDER_NOT_CANCELLABLE; an order that is not the caller's is 404."""
    ports = ports or default_ports()
    if not (is_ulid(contest_id) and is_ulid(order_id)):
        raise NotFound("No such order.")
    result = close_open_order(ports.store, contest_id, principal.user_id, order_id,
                              closing=Closing("cancelled", "cancelled by its owner"), now=now, sleep=ports.sleep,
                              serialize=ports.serialize_entry_writes)
    if result.ended is not None:
        if ports.memory is not None:  # the entry changed under what placing remembers: read it next time
            ports.memory.forget_entry(contest_id, principal.user_id)
        return result.ended
    if result.current is None:
        raise NotFound("No such order.")
    raise Conflict(f"The order is {result.current.status}; only open orders can be cancelled.",
                   code="ORDER_NOT_CANCELLABLE", details={"status": result.current.status})


# ---------------------------------------------------------------------------------------------------- reading
def get_order(principal: Principal, contest_id: str, order_id: str, ports: TradingPorts | None = None) -> Order:
    """One of the caller's orders; anything else (unknown, someone else's, malformed ids) is 404."""
    store = (ports or default_ports()).store
    order = store.get_order(contest_id, principal.user_id, order_id) if is_ulid(contest_id) and is_ulid(
        order_id) else None
    if order is None:
        raise NotFound("No such order.")
    return order


@dataclass(frozen=True)
class OrderList:
    orders: list[Order]
    next_cursor: str | None


def list_orders(principal: Principal, contest_id: str, *, status: str | None, limit: int, cursor: str | None,
                cursors: Cursors, ports: TradingPorts | None = None) -> OrderList:
    """The caller's orders in a contest, newest first; 404 when they have not joined it."""
    store = (ports or default_ports()).store
    if not is_ulid(contest_id):
        raise NotFound("No such contest.")
    scope = f"orders|{contest_id}|{principal.user_id}|{status or '*'}"
    start = cursors.open(scope, cursor)
    orders, position = store.list_orders(contest_id, principal.user_id, status=status, limit=limit,
                                         start=_string_position(start))
    if not orders and cursor is None and store.get_entry(contest_id, principal.user_id) is None:
        raise NotFound("You have not joined this contest.")
    return OrderList(orders, cursors.seal(scope, dict(position) if position else None))


def _string_position(position: dict[str, Any] | None) -> dict[str, str] | None:
    if position is None:
        return None
    if set(position) != {"PK", "SK"} or not all(isinstance(value, str) for value in position.values()):
        from tickerleague.errors import InvalidCursor

        raise InvalidCursor()
    return {"PK": position["PK"], "SK": position["SK"]}
