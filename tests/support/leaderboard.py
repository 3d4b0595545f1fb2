"""Seeding helpers for leaderboard tests (unit on moto, integration on DynamoDB Local, and the benchmark).

Entries are written the way the join and the trading engine write them (`entries.entry_to_item`, `updatedAt` and
`version` bumped by every portfolio change), straight to the table, so a test controls every value and time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tickerleague.adapters.dynamodb import contests as contests_repo
from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb import quotes as quotes_repo
from tickerleague.clock import iso_ms
from tickerleague.config import settings
from tickerleague.domain.contests import Contest, ContestDefinition, ContestStatus, Visibility
from tickerleague.domain.entries import Entry
from tickerleague.domain.portfolio import Portfolio, Position
from tickerleague.domain.quotes import Quote
from tickerleague.errors import NotFound
from tickerleague.http.principal import Principal
from tickerleague.ids import new_ulid

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
START = Decimal("100000.00")


def make_contest(
    *,
    status: ContestStatus = ContestStatus.ACTIVE,
    visibility: Visibility = Visibility.PUBLIC,
    starts_at: datetime = T0 - timedelta(hours=1),
    ends_at: datetime = T0 + timedelta(days=1),
    starting_cash: Decimal = START,
    name: str | None = None,
    store: bool = True,
) -> Contest:
    contest_id = new_ulid()
    definition = ContestDefinition(
        name=name or f"Cup {contest_id[-6:]}",
        description="",
        starts_at=starts_at,
        ends_at=ends_at,
        starting_cash=starting_cash,
        visibility=visibility,
    )
    contest = Contest(
        contest_id=contest_id,
        slug=f"cup-{contest_id[-8:].lower()}",
        status=status,
        definition=definition,
        created_at=T0 - timedelta(days=2),
        updated_at=T0 - timedelta(days=2),
        created_by="admin",
        invite_code="INVITE1234" if visibility is Visibility.PRIVATE else None,
    )
    if store:
        contests_repo.insert(contest, None)
    return contest


def portfolio(
    cash: Decimal, positions: Mapping[str, tuple[str, str]] | None = None, starting_cash: Decimal = START
) -> Portfolio:
    """positions: {symbol: (quantity, cost basis)}."""
    return Portfolio(
        starting_cash=starting_cash,
        cash=cash,
        positions={
            symbol: Position(symbol=symbol, quantity=Decimal(quantity), cost_basis=Decimal(cost))
            for symbol, (quantity, cost) in (positions or {}).items()
        },
    )


def entry_item(
    contest: Contest,
    *,
    user_id: str | None = None,
    joined_at: datetime = T0 - timedelta(minutes=30),
    cash: Decimal = START,
    positions: Mapping[str, tuple[str, str]] | None = None,
    status: str = "active",
    display_name: str | None = None,
    entry_id: str | None = None,
) -> Entry:
    user = user_id or new_ulid()
    return Entry(
        entry_id=entry_id or new_ulid(),
        contest_id=contest.contest_id,
        user_id=user,
        display_name=display_name or f"Player {user[-5:]}",
        status=status,
        joined_at=iso_ms(joined_at),
        portfolio=portfolio(cash, positions, contest.definition.starting_cash),
    )


def put_entries(entries: Sequence[Entry]) -> None:
    client = plumbing.client()
    table = settings().table_name
    for start in range(0, len(entries), 25):
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": plumbing.to_attribute_map(entries_table.entry_to_item(entry))}}
            for entry in entries[start : start + 25]
        ]
        while requests:
            response = client.batch_write_item(RequestItems={table: requests})
            requests = (response.get("UnprocessedItems") or {}).get(table, [])


def add_entry(contest: Contest, **kwargs: Any) -> Entry:
    entry = entry_item(contest, **kwargs)
    put_entries([entry])
    return entry


def trade(
    entry: Entry,
    at: datetime,
    *,
    cash: Decimal | None = None,
    positions: Mapping[str, tuple[str, str]] | None = None,
    status: str | None = None,
) -> Entry:
    """A portfolio change as the trading engine writes it: new values, version + 1, updatedAt = the write's time."""
    changed = replace(
        entry,
        portfolio=portfolio(
            cash if cash is not None else entry.portfolio.cash,
            positions
            if positions is not None
            else {symbol: (str(p.quantity), str(p.cost_basis)) for symbol, p in entry.portfolio.positions.items()},
            entry.portfolio.starting_cash,
        ),
        status=status or entry.status,
        version=entry.version + 1,
        updated_at=iso_ms(at),
    )
    put_entries([changed])
    return changed


def put_quote(symbol: str, price: str, as_of: datetime) -> None:
    quote = Quote(symbol, Decimal(price), as_of, "test")
    quotes_repo.put_latest(quote, as_of)
    quotes_repo.put_snapshots([quote])


class FixedPrices:
    """A PriceSource with prices set by the test; `at` answers `historical` when given."""

    def __init__(self, latest: Mapping[str, str], historical: Mapping[str, str] | None = None) -> None:
        self.prices = {symbol: Decimal(price) for symbol, price in latest.items()}
        self.historical = {symbol: Decimal(price) for symbol, price in (historical or latest).items()}
        self.latest_calls: list[list[str]] = []

    def latest(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        self.latest_calls.append(list(symbols))
        return {symbol: self.prices[symbol] for symbol in symbols if symbol in self.prices}

    def at(self, symbols: Sequence[str], when: datetime) -> dict[str, Decimal]:
        return {symbol: self.historical[symbol] for symbol in symbols if symbol in self.historical}


class FixedContests:
    """A ContestDirectory over contests held in memory (visibility as the contests engineer defines it)."""

    def __init__(self, *contests: Contest) -> None:
        self.contests = {contest.contest_id: contest for contest in contests}

    def visible(self, viewer: Principal | None, reference: str) -> Contest:
        contest = self.contests.get(reference)
        if contest is None:
            raise NotFound()
        return contest

    def active(self) -> list[Contest]:
        return [contest for contest in self.contests.values() if contest.status is ContestStatus.ACTIVE]

    def get(self, contest_id: str) -> Contest | None:
        return self.contests.get(contest_id)
