"""Nightly reconciliation: replay every entry's order ledger and compare it with the stored portfolio.

For each entry of each contest that is active or ended recently: read its orders, replay the filled ones in fill
order from the starting cash (plus the reservations of the open ones), and compare cash, reserved cash, fees and
every position's quantity, reserved quantity, cost basis and realized P&L, exactly. Each difference is reported
(a metric and an audit record, wired by the job); balances are never changed: a difference is for a human.

A portfolio that changes while it is being read would show false differences, so the entry's version is read after
its orders: when it moved, the entry is read again (a few times, then skipped as busy and counted).

As it reads every entry of the active contests anyway, the run also rebuilds the active-symbols set (symbols held
or with open orders there), unless a placement added a symbol meanwhile (then the set is left for the next night).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from tickerleague.domain.contests import Contest, ContestStatus
from tickerleague.domain.entries import Entry
from tickerleague.domain.trading import Difference, Order, differences, replay
from tickerleague.services.matching import MatchingStore

logger = logging.getLogger("tickerleague.reconciliation")

READ_ATTEMPTS = 3
ENDED_LOOKBACK = timedelta(days=3)


class ReconciliationStore(MatchingStore, Protocol):
    def replace_active_symbols(self, symbols: set[str], expected_rev: int) -> bool: ...


@dataclass(frozen=True)
class EntryDifference:
    contest_id: str
    entry_id: str
    user_id: str
    difference: Difference


@dataclass
class ReconciliationReport:
    contests: int = 0
    entries: int = 0
    busy: int = 0  # entries that kept changing while read: not compared this time
    differences: list[EntryDifference] = field(default_factory=list)
    symbols_pruned: bool = False


def _store() -> ReconciliationStore:
    from tickerleague.adapters.dynamodb.orders import OrderTable

    return OrderTable()


def _contests_to_check(now: datetime) -> list[Contest]:
    from tickerleague.adapters.dynamodb import contests as contests_table

    active = contests_table.ids_in_status(ContestStatus.ACTIVE)
    ended = [contest for contest in contests_table.ids_in_status(ContestStatus.ENDED)
             if contest.ends_at >= now - ENDED_LOOKBACK]
    return active + ended


def read_consistently(store: ReconciliationStore, entry: Entry) -> tuple[Entry, list[Order]] | None:
    """The entry and its orders as of one version, or None when it kept changing."""
    version = entry.version
    for _ in range(READ_ATTEMPTS):
        orders = store.orders_of_entry(entry.contest_id, entry.user_id)
        current = store.get_entry(entry.contest_id, entry.user_id)
        if current is None:
            return None
        if current.version == version:
            return current, orders
        version = current.version
    return None


def reconcile_entry(entry: Entry, orders: Iterable[Order]) -> list[Difference]:
    """Pure: where the stored portfolio differs from its replayed ledger."""
    expected = replay(entry.portfolio.starting_cash, (order.ledger_line() for order in orders))
    return differences(entry.portfolio, expected)


def _symbols_in_play(entry: Entry, orders: Iterable[Order]) -> set[str]:
    held = {symbol for symbol, position in entry.portfolio.positions.items()
            if position.quantity > 0 or position.reserved_quantity > 0}
    return held | {order.symbol for order in orders if order.is_open}


def reconcile(now: datetime, *, on_difference: Callable[[EntryDifference], None],
              store: ReconciliationStore | None = None, contests: list[Contest] | None = None) -> ReconciliationReport:
    """One nightly run. `on_difference` is called once for each difference found."""
    store = store or _store()
    checked = contests if contests is not None else _contests_to_check(now)
    _, symbols_rev = store.active_symbols()
    in_play: set[str] = set()
    complete = True
    report = ReconciliationReport(contests=len(checked))
    for contest in checked:
        for listed in store.entries_of_contest(contest.contest_id):
            read = read_consistently(store, listed)
            if read is None:
                report.busy += 1
                complete = False
                continue
            entry, orders = read
            report.entries += 1
            if contest.status is ContestStatus.ACTIVE:
                in_play |= _symbols_in_play(entry, orders)
            for difference in reconcile_entry(entry, orders):
                found = EntryDifference(contest.contest_id, entry.entry_id, entry.user_id, difference)
                report.differences.append(found)
                on_difference(found)
    if complete and contests is None:
        report.symbols_pruned = store.replace_active_symbols(in_play, symbols_rev)
    logger.info("reconciliation: %d contests, %d entries, %d busy, %d differences", report.contests,
                report.entries, report.busy, len(report.differences))
    return report
