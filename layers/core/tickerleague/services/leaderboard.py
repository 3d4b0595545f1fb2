"""Leaderboards: live standings recomputed every minute, final standings frozen at endsAt, and the three reads.

Design and capacity math: docs/design/leaderboard.md. In short:
- A recompute values every active entry at the latest quotes, ranks them (`tickerleague.domain.ranking`) and writes a
  new *run*: its pages, its rank shards, then flips the board head to it (conditional: never backwards, never over
  final standings). Readers only ever see whole runs.
- Reads of entries grow with what changed: the job keeps the previous run's entries in memory (per warm container)
  and reads only entries whose `updatedAt` moved since (GSI3), plus every held symbol's latest quote. A cold
  container, or every FULL_EVERY, reads all entries again (the safety net for any write that missed `updatedAt`).
- When nothing a reader can see changed, no run is written: the head's `asOf` is re-dated instead.
- The final standings are computed once, at endsAt prices, from a strongly consistent read of every entry, and
  published with a condition that no final run exists; later recomputes and retried end steps leave them alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from tickerleague import metrics
from tickerleague.adapters.dynamodb import leaderboard as board
from tickerleague.adapters.dynamodb.leaderboard import BoardHead, HistoryPoint, Meter, Row, RunToWrite
from tickerleague.clock import epoch_seconds, iso, iso_ms, parse_iso_utc, utcnow
from tickerleague.domain.contests import Contest, ContestStatus
from tickerleague.domain.money import ZERO, cash_str, pct_str
from tickerleague.domain.principal import Principal
from tickerleague.domain.ranking import (
    ROWS_PER_PAGE,
    EntryFacts,
    Standing,
    epochs_after,
    page_to_probe,
    pages_for,
    rank_from_probe,
    same_standings,
    standings,
)
from tickerleague.errors import InvalidCursor, NotFound
from tickerleague.ids import is_ulid, new_ulid
from tickerleague.services.ports import Cursors

logger = logging.getLogger("tickerleague.leaderboard")

FULL_EVERY = timedelta(minutes=30)  # re-read every entry at least this often, whatever the change feed says
MAX_GAP = timedelta(minutes=10)  # a warm state older than this (the job skipped the contest) is not trusted
CHANGE_MARGIN = timedelta(minutes=2)  # re-read changes this far before the last read: clock skew, GSI lag, slow commits
LIVE_PAGE_LIFETIME = timedelta(hours=1)  # pages of a replaced run serve cursors already handed out, then expire
HISTORY_RETENTION = timedelta(days=400)  # live runs' rank shards (the history) live this long after endsAt
PRICE_LOOKUPS_IN_PARALLEL = 16


# ---------------------------------------------------------------------------------------------------- ports
class PriceSource(Protocol):
    """Prices to mark positions with, as Decimals quantized to 4 dp; a symbol without one is left out."""

    def latest(self, symbols: Sequence[str]) -> dict[str, Decimal]: ...

    def at(self, symbols: Sequence[str], when: datetime) -> dict[str, Decimal]: ...


class ContestDirectory(Protocol):
    def visible(self, viewer: Principal | None, reference: str) -> Contest:
        """The contest by id or slug if `viewer` may see it, else NotFound."""
        ...

    def active(self) -> list[Contest]: ...

    def get(self, contest_id: str) -> Contest | None: ...


class StoredPrices:
    """Prices from the market-data engineer's quote items (latest quote; snapshot at or before a time)."""

    def latest(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        from tickerleague.adapters.dynamodb import quotes

        return {symbol: quote.price for symbol, quote in quotes.get_latest_many(symbols).items()} if symbols else {}

    def at(self, symbols: Sequence[str], when: datetime) -> dict[str, Decimal]:
        """The last snapshot at or before `when`; without one, the latest quote if it is not newer than `when`."""
        from tickerleague.adapters.dynamodb import quotes

        def one(symbol: str) -> tuple[str, Decimal | None]:
            quote = quotes.quote_at(symbol, when)
            if quote is None:
                latest = quotes.get_latest(symbol)
                quote = latest if latest is not None and latest.as_of <= when else None
            return symbol, quote.price if quote is not None else None

        with ThreadPoolExecutor(max_workers=PRICE_LOOKUPS_IN_PARALLEL) as pool:
            found = list(pool.map(one, symbols))
        return {symbol: price for symbol, price in found if price is not None}


class RememberedPrices:
    """One job invocation's latest prices, so contests sharing symbols read each quote once."""

    def __init__(self, source: PriceSource) -> None:
        self.source = source
        self._known: dict[str, Decimal | None] = {}

    def latest(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        missing = [symbol for symbol in symbols if symbol not in self._known]
        if missing:
            found = self.source.latest(missing)
            self._known.update({symbol: found.get(symbol) for symbol in missing})
        return {symbol: price for symbol in symbols if (price := self._known.get(symbol)) is not None}

    def at(self, symbols: Sequence[str], when: datetime) -> dict[str, Decimal]:
        return self.source.at(symbols, when)


class StoredContests:
    """The contests engineer's repository and visibility rules."""

    def visible(self, viewer: Principal | None, reference: str) -> Contest:
        from tickerleague.services import contests

        return contests.get_contest(viewer, reference).contest

    def active(self) -> list[Contest]:
        from tickerleague.adapters.dynamodb import contests

        return contests.ids_in_status(ContestStatus.ACTIVE)

    def get(self, contest_id: str) -> Contest | None:
        from tickerleague.adapters.dynamodb import contests

        return contests.get(contest_id)


# ---------------------------------------------------------------------------------------------------- warm state
@dataclass
class WarmBoard:
    """What one container remembers of a contest between recomputes (lost on a cold start: then a full read)."""

    entries: dict[str, EntryFacts]  # by entry id, inactive ones included (a later change may reactivate them)
    read_from: datetime  # the start of the last entry read: changes after it are read next time
    full_at: datetime  # the last full read
    ranked: list[Standing]
    run_id: str | None  # the run `ranked` was published as, None when the publish lost


_warm: dict[str, WarmBoard] = {}
_warm_lock = threading.Lock()


def forget_warm_state() -> None:
    """Drop every remembered board (tests; a container that must start over)."""
    with _warm_lock:
        _warm.clear()


def _usable(warm: WarmBoard | None, now: datetime) -> WarmBoard | None:
    if warm is None or now - warm.full_at >= FULL_EVERY or now - warm.read_from >= MAX_GAP or warm.read_from > now:
        return None
    return warm


def merge_changes(entries: Mapping[str, EntryFacts], changed: Iterable[EntryFacts]) -> dict[str, EntryFacts]:
    """The entries with each changed one replaced by its newer copy (a copy read twice, or read late from the index,
    never replaces a newer one: `version` decides)."""
    merged = dict(entries)
    for facts in changed:
        known = merged.get(facts.entry_id)
        if known is None or facts.version >= known.version:
            merged[facts.entry_id] = facts
    return merged


def _symbols(entries: Iterable[EntryFacts]) -> list[str]:
    return sorted({symbol for facts in entries if facts.active for symbol in facts.symbols})


# ---------------------------------------------------------------------------------------------------- recompute
@dataclass
class RunReport:
    contest_id: str
    outcome: str  # published | unchanged | superseded | skipped_ended | skipped_final
    mode: str = ""  # full | incremental | final
    entries: int = 0
    entries_read: int = 0
    ranked: int = 0
    symbols: int = 0  # held symbols priced (their quotes are read by the market-data adapter, not metered here)
    run_id: str | None = None
    seconds: float = 0.0
    meter: Meter = field(default_factory=Meter)

    def log_fields(self) -> dict[str, Any]:
        return {"contestId": self.contest_id, "outcome": self.outcome, "mode": self.mode, "entries": self.entries,
                "entriesRead": self.entries_read, "ranked": self.ranked, "symbols": self.symbols, "runId": self.run_id,
                "seconds": round(self.seconds, 3), **self.meter.summary()}


def _run(contest: Contest, run_id: str, at: datetime, ranked: list[Standing], head: BoardHead | None,
         *, final: bool) -> RunToWrite:
    epochs = epochs_after(head.epochs if head else [], len(ranked), board.run_key(at, run_id))
    return RunToWrite(
        contest_id=contest.contest_id, run_id=run_id, at=at, final=final, ranked=ranked, epochs=epochs,
        page_expires_at=None if final else epoch_seconds(at + LIVE_PAGE_LIFETIME),
        shard_expires_at=None if final else epoch_seconds(contest.ends_at + HISTORY_RETENTION),
    )


def _write(run: RunToWrite, meter: Meter) -> bool:
    """Pages and rank shards first, the head last: a reader never follows the head to a run that is not all there."""
    board.batch_write(board.page_items(run) + board.shard_items(run), meter)
    return board.publish(run, meter)


def _current_entries(contest_id: str, warm: WarmBoard | None, now: datetime,
                     report: RunReport) -> tuple[dict[str, EntryFacts], datetime]:
    """Every entry as of now, and when they were last all read: the remembered ones updated with the changes since
    the last read (minus a margin), or, without a usable warm state, all of them read again."""
    if warm is not None:
        changed = board.read_entries(contest_id, report.meter, changed_since=iso_ms(warm.read_from - CHANGE_MARGIN))
        report.mode, report.entries_read = "incremental", len(changed)
        return merge_changes(warm.entries, changed), warm.full_at
    everything = board.read_entries(contest_id, report.meter)
    report.mode, report.entries_read = "full", len(everything)
    return {facts.entry_id: facts for facts in everything}, now


def recompute_contest(contest: Contest, now: datetime, prices: PriceSource, *, incremental: bool = True) -> RunReport:
    """One live recompute of one active contest (see the module docstring)."""
    started = time.perf_counter()
    report = RunReport(contest.contest_id, "published")
    meter = report.meter
    if now >= contest.ends_at:
        report.outcome = "skipped_ended"  # the lifecycle's end step computes the final standings
        return report
    head = board.get_head(contest.contest_id, meter, with_rows=False)
    if head is not None and head.final:
        report.outcome = "skipped_final"
        return report
    with _warm_lock:
        warm = _usable(_warm.get(contest.contest_id), now) if incremental else None
    entries, full_at = _current_entries(contest.contest_id, warm, now, report)
    symbols = _symbols(entries.values())
    ranked = standings(entries.values(), prices.latest(symbols))
    report.entries, report.ranked, report.symbols = len(entries), len(ranked), len(symbols)
    published_id: str | None
    unchanged = (warm is not None and head is not None and warm.run_id == head.run_id
                 and same_standings(warm.ranked, ranked))
    if unchanged and head is not None:
        board.confirm(contest.contest_id, head.run_id, now, meter)
        report.outcome, report.run_id, published_id = "unchanged", head.run_id, head.run_id
    else:
        run = _run(contest, new_ulid(), now, ranked, head, final=False)
        published = _write(run, meter)
        report.outcome, report.run_id = ("published" if published else "superseded"), run.run_id
        published_id = run.run_id if published else None
    with _warm_lock:
        _warm[contest.contest_id] = WarmBoard(entries, now, full_at, ranked, published_id)
    report.seconds = time.perf_counter() - started
    return report


def _count_changed(report: RunReport) -> None:
    """`LeaderboardEntriesChanged{mode}`: the entries a run read as changed (every entry on a full or final read).
    A measurement per run, not a fact to count once: a retried run is another run and is counted again."""
    if report.mode and not report.outcome.startswith("skipped"):
        metrics.count("LeaderboardEntriesChanged", report.entries_read, mode=report.mode)


class RecomputeFailed(ExceptionGroup[Exception]):
    """Some contests could not be recomputed (the others were): the invocation fails, so its error metric fires."""


def recompute_active(now: datetime | None = None, *, prices: PriceSource | None = None,
                     contests: ContestDirectory | None = None) -> list[RunReport]:
    """The scheduled job: every active contest (GSI2 `CONTESTS#active`), one after the other, quotes read once."""
    with metrics.timed("LeaderboardRecomputeMs", mode="live"):  # the whole run, also when a contest fails
        return _recompute_active(now or utcnow(), prices, contests)


def _recompute_active(moment: datetime, prices: PriceSource | None,
                      contests: ContestDirectory | None) -> list[RunReport]:
    directory = contests or StoredContests()
    shared = RememberedPrices(prices or StoredPrices())
    active = directory.active()
    with _warm_lock:
        for gone in set(_warm) - {contest.contest_id for contest in active}:
            del _warm[gone]
    reports: list[RunReport] = []
    failures: list[Exception] = []
    for contest in active:
        try:
            report = recompute_contest(contest, moment, shared)
        except Exception as error:  # one broken contest must not starve the others; re-raised below as a group
            logger.exception("leaderboard recompute failed", extra={"contestId": contest.contest_id})
            failures.append(error)
            continue
        logger.info("leaderboard recompute", extra=report.log_fields())
        _count_changed(report)
        reports.append(report)
    if failures:
        raise RecomputeFailed(f"{len(failures)} of {len(active)} contests failed", failures)
    return reports


def compute_final_standings(contest_id: str, ended_at: datetime, *, prices: PriceSource | None = None,
                            contests: ContestDirectory | None = None) -> RunReport:
    """The lifecycle end step's hook: standings at `ended_at` prices, computed once and frozen (`final: true`).

    Idempotent: when a final run is already published this does nothing, and publishing is conditional on there
    being none, so neither a retried end step nor a recompute that was still running can change them."""
    with metrics.timed("LeaderboardRecomputeMs", mode="final"):
        report = _compute_final_standings(contest_id, ended_at, prices, contests)
    _count_changed(report)
    return report


def _compute_final_standings(contest_id: str, ended_at: datetime, prices: PriceSource | None,
                             contests: ContestDirectory | None) -> RunReport:
    started = time.perf_counter()
    report = RunReport(contest_id, "published", mode="final")
    meter = report.meter
    head = board.get_head(contest_id, meter, with_rows=False)
    if head is not None and head.final:
        report.outcome, report.run_id = "skipped_final", head.run_id
        return report
    contest = (contests or StoredContests()).get(contest_id)
    if contest is None:
        raise NotFound(f"No contest {contest_id} to finish.")
    entries = board.read_entries_consistent(contest_id, meter)
    symbols = _symbols(entries)
    ranked = standings(entries, (prices or StoredPrices()).at(symbols, ended_at))
    run = _run(contest, board.FINAL_RUN_ID, ended_at, ranked, head, final=True)
    report.outcome = "published" if _write(run, meter) else "superseded"
    report.run_id, report.symbols, report.ranked = run.run_id, len(symbols), len(ranked)
    report.entries = report.entries_read = len(entries)
    with _warm_lock:
        _warm.pop(contest_id, None)
    report.seconds = time.perf_counter() - started
    logger.info("final standings", extra=report.log_fields())
    return report


# ---------------------------------------------------------------------------------------------------- reads
@dataclass(frozen=True)
class BoardView:
    as_of: str | None  # ISO seconds; None before the first standings
    final: bool
    rows: list[Row]
    next_cursor: str | None


@dataclass(frozen=True)
class MyStanding:
    rank: int
    total_value: str
    return_pct: str
    out_of: int
    as_of: str | None


def _wire_time(stamp: str) -> str:
    parsed = parse_iso_utc(stamp)
    return iso(parsed) if parsed is not None else stamp


def _scope(contest_id: str) -> str:
    return f"leaderboard|{contest_id}"


def _run_cursor(cursors: Cursors, contest_id: str, run_id: str, offset: int, *, out_of: int) -> str | None:
    if offset >= out_of:
        return None
    return cursors.seal(_scope(contest_id), {"r": run_id, "o": offset, "n": out_of})


def _slice(pages: Mapping[int, Sequence[Row]], span: range, offset: int, limit: int,
           page_size: int) -> list[Row] | None:
    """Rows [offset, offset + limit) from the pages of `span`, or None when one of them is missing (expired)."""
    if any(number not in pages for number in span):
        return None
    rows = [row for number in span for row in pages[number]]
    start = offset - span.start * page_size if span else 0
    return rows[start:start + limit]


def _from_run(cursors: Cursors, contest_id: str, head: BoardHead, offset: int, limit: int, *,
              meter: Meter) -> BoardView:
    span = pages_for(offset, limit, head.out_of, head.page_size)
    pages: dict[int, Sequence[Row]] = {0: head.rows} if 0 in span else {}
    stored = board.get_pages(contest_id, head.run_id, [number for number in span if number != 0], meter)
    pages.update({number: page.rows for number, page in stored.items()})
    rows = _slice(pages, span, offset, limit, head.page_size) or []
    return BoardView(_wire_time(head.as_of), head.final, rows,
                     _run_cursor(cursors, contest_id, head.run_id, offset + limit, out_of=head.out_of))


def _preview(cursors: Cursors, contest: Contest, positions: list[str | None] | None, limit: int,
             meter: Meter) -> BoardView:
    """Before the first standings: every active entrant at starting cash, tied first, in joining order."""
    from tickerleague.config import settings

    shards = settings().entry_shards
    start: list[str | None] = positions if positions is not None else [None] * shards
    page = board.preview_entries(contest.contest_id, start, limit, meter)
    rows: list[Row] = [(1, facts.entry_id, facts.user_id, facts.display_name, cash_str(facts.starting_cash),
                        pct_str(ZERO)) for facts in page.entries]
    more = any(position != "" for position in page.positions)
    cursor = cursors.seal(_scope(contest.contest_id), {"p": page.positions}) if more else None
    return BoardView(None, False, rows, cursor)


def _run_position(position: dict[str, Any]) -> tuple[str, int, int]:
    run_id, offset, out_of = position.get("r"), position.get("o"), position.get("n")
    if not isinstance(run_id, str) or not isinstance(offset, int) or not isinstance(out_of, int) or offset < 0:
        raise InvalidCursor()
    return run_id, offset, out_of


def _preview_position(position: dict[str, Any]) -> list[str | None]:
    from tickerleague.config import settings

    positions = position.get("p")
    if (not isinstance(positions, list) or len(positions) != settings().entry_shards
            or not all(item is None or isinstance(item, str) for item in positions)):
        raise InvalidCursor()
    return positions


def leaderboard_page(viewer: Principal | None, reference: str, limit: int, cursor: str | None, *, cursors: Cursors,
                     contests: ContestDirectory | None = None) -> BoardView:
    """GET /v1/contests/{contestIdOrSlug}/leaderboard. The first page is one read (the head holds page 0); a later
    page is one read of the run its cursor names (two pages in one BatchGetItem when the rows straddle them). A
    cursor whose run has expired continues at the same offset in the current run."""
    contest = (contests or StoredContests()).visible(viewer, reference)
    position = cursors.open(_scope(contest.contest_id), cursor)
    meter = Meter()
    if position is not None and "p" in position:
        return _preview(cursors, contest, _preview_position(position), limit, meter)
    if position is not None:
        run_id, offset, out_of = _run_position(position)
        span = pages_for(offset, limit, out_of)
        stored = board.get_pages(contest.contest_id, run_id, span, meter)
        some = next(iter(stored.values()), None)
        rows = _slice({number: page.rows for number, page in stored.items()}, span, offset, limit, ROWS_PER_PAGE)
        if some is not None and rows is not None:
            return BoardView(_wire_time(some.as_of), some.final, rows,
                             _run_cursor(cursors, contest.contest_id, run_id, offset + limit, out_of=some.out_of))
    else:
        offset = 0
    head = board.get_head(contest.contest_id, meter)
    if head is None:
        return _preview(cursors, contest, None, limit, meter)
    return _from_run(cursors, contest.contest_id, head, offset, limit, meter=meter)


def my_standing(principal: Principal, contest_id: str, now: datetime | None = None, *,
                contests: ContestDirectory | None = None) -> MyStanding:
    """GET /v1/contests/{contestId}/leaderboard/me: the head, then the caller's rank shard (two reads). An entrant
    who joined after the last recompute is placed among the published values (a few reads more, once)."""
    if not is_ulid(contest_id):
        raise NotFound("You have not joined this contest.")
    meter = Meter()
    head = board.get_head(contest_id, meter, with_rows=False)
    if head is not None:
        point = board.get_point(contest_id, head, principal.user_id, meter)
        if point is not None:
            return MyStanding(point[0], point[1], point[2], head.out_of, _wire_time(head.as_of))
    from tickerleague.adapters.dynamodb import entries as entries_table

    entry = entries_table.get_entry(contest_id, principal.user_id, consistent=False)
    if entry is None or entry.status != "active" or (head is not None and head.final):
        raise NotFound("You have not joined this contest.")
    if head is None:
        contest = (contests or StoredContests()).get(contest_id)
        out_of = contest.entry_count if contest is not None else 1
        return MyStanding(1, cash_str(entry.portfolio.starting_cash), pct_str(ZERO), max(out_of, 1), None)
    from tickerleague.services.portfolio import value_portfolio

    mine = value_portfolio(entry, now or utcnow())
    probe = page_to_probe(mine.total_value, head.floors)
    values: list[Decimal] = []
    if probe is not None:
        page = board.get_pages(contest_id, head.run_id, [probe], meter).get(probe)
        values = [Decimal(row[4]) for row in page.rows] if page is not None else []
    rank = rank_from_probe(mine.total_value, probe, values, head.out_of, head.page_size)
    return MyStanding(rank, cash_str(mine.total_value), pct_str(mine.return_pct), head.out_of + 1,
                      _wire_time(head.as_of))


def history(principal: Principal, contest_id: str) -> list[HistoryPoint]:
    """GET /v1/contests/{contestId}/portfolio/history: one point per recompute that ranked the caller, oldest first.
    Reads grow with the number of recomputes (one ~4 KB shard item each), not with the number of players."""
    if not is_ulid(contest_id):
        raise NotFound("You have not joined this contest.")
    meter = Meter()
    head = board.get_head(contest_id, meter, with_rows=False)
    points = board.history_of(contest_id, head.epochs, principal.user_id, meter) if head is not None else []
    if not points:
        from tickerleague.adapters.dynamodb import entries as entries_table

        if entries_table.get_entry(contest_id, principal.user_id, consistent=False) is None:
            raise NotFound("You have not joined this contest.")
    return [HistoryPoint(_wire_time(point.at), point.rank, point.total_value, point.return_pct) for point in points]
