"""Ports that services declare and the edge or the adapters implement.

Services reason about positions in a list (DynamoDB's LastEvaluatedKey, a run offset) and never see how the client
holds them: `Cursors` turns a position into an opaque string for a list `scope` and back. The HTTP edge implements it
with signed cursors (`tickerleague.http.paging.CURSORS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: a handler that needs one port does not import every port's types
    from collections.abc import Sequence
    from datetime import datetime
    from decimal import Decimal

    from tickerleague.domain.changes import CommitResult, PlacementSnapshot, PortfolioChange
    from tickerleague.domain.client_orders import OrderMarker
    from tickerleague.domain.contests import Contest
    from tickerleague.domain.entries import Entry
    from tickerleague.domain.principal import Principal
    from tickerleague.domain.quotes import Quote
    from tickerleague.domain.trading import Order


class Cursors(Protocol):
    def seal(self, scope: str, position: dict[str, Any] | None) -> str | None:
        """An opaque cursor for the next page, or None on the last page (no position)."""
        ...

    def open(self, scope: str, cursor: str | None) -> dict[str, Any] | None:
        """The position a cursor holds, None for the first page; INVALID_CURSOR when it was not made for `scope`."""
        ...


class OrderStore(Protocol):
    """What the order use cases need from storage (`adapters.dynamodb.orders.OrderTable` implements it). A new
    order's marker (`domain.client_orders.order_marker`) is read with the placement and written with the order."""

    def load_placement(self, contest_id: str, user_id: str, symbol: str | None, marker: OrderMarker | None, *,
                       now: datetime) -> PlacementSnapshot: ...

    def get_entry(self, contest_id: str, user_id: str) -> Entry | None: ...

    def get_order(self, contest_id: str, user_id: str, order_id: str) -> Order | None: ...

    def load_order(self, contest_id: str, user_id: str, order_id: str) -> tuple[Order | None, Entry | None]: ...

    def latest_quotes(self, symbols: Sequence[str]) -> dict[str, Quote]: ...

    def commit(self, change: PortfolioChange, order: Order, *, new_order: bool, now: datetime,
               marker: OrderMarker | None = None) -> CommitResult: ...

    def add_active_symbols(self, symbols: Sequence[str]) -> None: ...

    def list_orders(self, contest_id: str, user_id: str, *, status: str | None, limit: int,
                    start: dict[str, str] | None) -> tuple[list[Order], dict[str, str] | None]: ...


class PriceSource(Protocol):
    """Prices to mark positions with, as Decimals quantized to 4 dp; a symbol without one is left out
    (`adapters.dynamodb.prices.StoredPrices` implements it from the stored quotes)."""

    def latest(self, symbols: Sequence[str]) -> dict[str, Decimal]: ...

    def at(self, symbols: Sequence[str], when: datetime) -> dict[str, Decimal]: ...


class ContestDirectory(Protocol):
    """The contests a leaderboard is about (`services.contests.StoredContests` implements it)."""

    def visible(self, viewer: Principal | None, reference: str) -> Contest:
        """The contest by id or slug if `viewer` may see it, else NotFound."""
        ...

    def active(self) -> list[Contest]: ...

    def get(self, contest_id: str) -> Contest | None: ...
