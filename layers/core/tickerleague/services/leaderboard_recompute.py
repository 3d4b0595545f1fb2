"""Leaderboard recompute: live standings every minute, and the final standings frozen at endsAt.

Design and capacity math: docs/design/leaderboard.md. In short:
- A recompute values every active entry at the latest quotes, ranks them (`tickerleague.domain.ranking`) and writes a
  new *run*: its pages, its rank shards, then flips the board head to it (conditional: never backwards, never over
  final standings). Readers only ever see whole runs (the reads: `services.leaderboard_reads`).
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tickerleague import metrics
from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import leaderboard as board
from tickerleague.adapters.dynamodb.leaderboard import BoardHead, RunToWrite
from tickerleague.adapters.dynamodb.plumbing import Meter
from tickerleague.adapters.dynamodb.prices import StoredPrices
from tickerleague.clock import epoch_seconds, iso_ms, utcnow
from tickerleague.domain.contests import Contest
from tickerleague.domain.ranking import EntryFacts, Standing, epochs_after, merge_changes, same_standings, standings
from tickerleague.errors import NotFound
from tickerleague.ids import new_ulid
from tickerleague.services.ports import ContestDirectory, PriceSource

logger = logging.getLogger("tickerleague.leaderboard")

FULL_EVERY = timedelta(minutes=30)  # re-read every entry at least this often, whatever the change feed says
MAX_GAP = timedelta(minutes=10)  # a warm state older than this (the job skipped the contest) is not trusted
CHANGE_MARGIN = timedelta(minutes=2)  # re-read changes this far before the last read: clock skew, GSI lag, slow commits
LIVE_PAGE_LIFETIME = timedelta(hours=1)  # pages of a replaced run serve cursors already handed out, then expire
HISTORY_RETENTION = timedelta(days=400)  # live runs' rank shards (the history) live this long after endsAt


def _directory(given: ContestDirectory | None) -> ContestDirectory:
    if given is not None:
        return given
    from tickerleague.services.contests import StoredContests  # imported when used: not at cold start

    return StoredContests()


# ---------------------------------------------------------------------------------------------------- prices
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
        since = iso_ms(warm.read_from - CHANGE_MARGIN)
        changed = entries_table.read_entry_facts(contest_id, report.meter, changed_since=since)
        report.mode, report.entries_read = "incremental", len(changed)
        return merge_changes(warm.entries, changed), warm.full_at
    everything = entries_table.read_entry_facts(contest_id, report.meter)
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
    directory = _directory(contests)
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
    contest = _directory(contests).get(contest_id)
    if contest is None:
        raise NotFound(f"No contest {contest_id} to finish.")
    entries = entries_table.read_entry_facts_consistent(contest_id, meter)
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
