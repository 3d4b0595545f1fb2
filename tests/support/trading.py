"""Builders for trading tests: contests, entries and quotes straight into the table, and controllable ports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tickerleague.domain.contests import (
    Contest,
    ContestDefinition,
    ContestRules,
    ContestStatus,
    Visibility,
)
from tickerleague.domain.entries import Entry
from tickerleague.domain.market_calendar import TwentyFourSeven
from tickerleague.domain.portfolio import Portfolio
from tickerleague.domain.quotes import Quote
from tickerleague.domain.symbols import SymbolUniverse
from tickerleague.domain.trading import OrderRequest
from tickerleague.http.principal import Principal
from tickerleague.ids import new_ulid
from tickerleague.services.orders import PlaceResult, TradingPorts, place_order

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


def D(text: str) -> Decimal:
    return Decimal(text)


def principal(user_id: str, role: str = "user") -> Principal:
    return Principal(user_id=user_id, role=role, session_id="s")


class ScriptedQuotes:
    """The `current_quote` port: answers from a dict, or fails like a provider outage when told to."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}
        self.failure: Exception | None = None
        self.calls: list[str] = []

    def __call__(self, symbol: str, now: datetime) -> Quote:
        self.calls.append(symbol)
        if self.failure is not None:
            raise self.failure
        from tickerleague.errors import RuleViolation

        if symbol not in self.quotes:
            raise RuleViolation("no quote", code="QUOTE_STALE")
        return self.quotes[symbol]


class ClosedCalendar(TwentyFourSeven):
    name = "closed"

    def is_open(self, at: datetime) -> bool:
        return False


@dataclass
class World:
    ports: TradingPorts
    provider: ScriptedQuotes
    now: datetime = NOW
    contests: dict[str, Contest] = field(default_factory=dict)

    def contest(
        self,
        *,
        status: ContestStatus = ContestStatus.ACTIVE,
        rules: ContestRules | None = None,
        visibility: Visibility = Visibility.PUBLIC,
        starting_cash: str = "100000.00",
        ends_at: datetime | None = None,
    ) -> Contest:
        from tickerleague.adapters.dynamodb.contests import contest_to_item

        contest_id = new_ulid()
        definition = ContestDefinition(
            name=f"Cup {contest_id[-4:]}",
            description="",
            starts_at=self.now - timedelta(days=1),
            ends_at=ends_at or self.now + timedelta(days=30),
            starting_cash=D(starting_cash),
            visibility=visibility,
            rules=rules or ContestRules(),
        )
        contest = Contest(
            contest_id=contest_id,
            slug=f"cup-{contest_id.lower()}",
            status=status,
            definition=definition,
            created_at=self.now - timedelta(days=2),
            updated_at=self.now - timedelta(days=2),
            created_by="admin",
        )
        contest_to_item(contest).save()
        self.contests[contest_id] = contest
        return contest

    def join(self, contest: Contest, user_id: str, *, status: str = "active") -> Entry:
        from tickerleague.adapters.dynamodb import entries as entries_table
        from tickerleague.adapters.dynamodb import plumbing
        from tickerleague.clock import iso_ms
        from tickerleague.config import settings

        entry = Entry(
            entry_id=new_ulid(),
            contest_id=contest.contest_id,
            user_id=user_id,
            display_name=user_id,
            status=status,
            joined_at=iso_ms(self.now - timedelta(hours=1)),
            portfolio=Portfolio.fresh(contest.definition.starting_cash),
        )
        plumbing.client().put_item(
            TableName=settings().table_name, Item=plumbing.to_attribute_map(entries_table.entry_to_item(entry))
        )
        return entry

    def quote(self, symbol: str, price: str, *, at: datetime | None = None, source: str = "test") -> Quote:
        """Store a latest quote (what the refresh job would do) and let the provider answer it too."""
        from tickerleague.adapters.dynamodb.quotes import LatestQuoteItem

        quote = Quote(symbol, D(price), at or self.now, source)
        LatestQuoteItem.new(quote, at or self.now).save()  # overwrite, even backwards: tests move prices at will
        self.provider.quotes[symbol] = quote
        return quote

    def place(
        self,
        user_id: str,
        contest: Contest,
        *,
        symbol: str = "AAPL",
        side: str = "buy",
        quantity: str = "10",
        order_type: str = "market",
        limit_price: str | None = None,
        time_in_force: str = "day",
        client_order_id: str | None = None,
        role: str = "user",
        now: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> PlaceResult:
        request = OrderRequest(
            symbol=symbol,
            side=side,
            quantity=D(quantity),
            order_type=order_type,  # type: ignore[arg-type]
            limit_price=D(limit_price) if limit_price is not None else None,
            time_in_force=time_in_force,
            client_order_id=client_order_id,  # type: ignore[arg-type]
        )
        return place_order(
            principal(user_id, role),
            contest.contest_id,
            request,
            now or self.now,
            self.ports,
            idempotency_key=idempotency_key,
        )

    def entry(self, contest: Contest, user_id: str) -> Entry:
        from tickerleague.adapters.dynamodb import entries as entries_table

        found = entries_table.get_entry(contest.contest_id, user_id)
        assert found is not None
        return found

    def with_calendar(self, calendar: Any) -> World:
        return replace(self, ports=replace(self.ports, calendar=calendar))


def make_world() -> World:
    from tickerleague.adapters.dynamodb import orders as orders_table
    from tickerleague.services.active_symbols import forget_active_symbol_cache

    forget_active_symbol_cache()
    provider = ScriptedQuotes()
    ports = TradingPorts(
        store=orders_table.OrderTable(),
        quotes=provider,
        calendar=TwentyFourSeven(),
        universe=SymbolUniverse.default(),
        sleep=lambda _: None,
        max_quote_age=timedelta(seconds=120),
    )
    return World(ports=ports, provider=provider)
