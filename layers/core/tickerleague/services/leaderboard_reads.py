"""Leaderboard reads: a contest's standings page by page, the caller's standing, and the caller's value history.

Readers only ever see whole runs, as the recompute (`services.leaderboard_recompute`) published them; design and
read costs: docs/design/leaderboard.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import leaderboard as board
from tickerleague.adapters.dynamodb.leaderboard import BoardHead
from tickerleague.adapters.dynamodb.plumbing import Meter
from tickerleague.clock import iso, parse_iso_utc, utcnow
from tickerleague.domain.contests import Contest
from tickerleague.domain.money import ZERO, cash_str, pct_str
from tickerleague.domain.principal import Principal
from tickerleague.domain.ranking import ROWS_PER_PAGE, HistoryPoint, Row, page_to_probe, pages_for, rank_from_probe
from tickerleague.errors import InvalidCursor, NotFound
from tickerleague.ids import is_ulid
from tickerleague.services.ports import ContestDirectory, Cursors


def _directory(given: ContestDirectory | None) -> ContestDirectory:
    if given is not None:
        return given
    from tickerleague.services.contests import StoredContests  # imported when used: not at cold start

    return StoredContests()


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
    page = entries_table.preview_entries(contest.contest_id, start, limit, meter)
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
    contest = _directory(contests).visible(viewer, reference)
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
    entry = entries_table.get_entry(contest_id, principal.user_id, consistent=False)
    if entry is None or entry.status != "active" or (head is not None and head.final):
        raise NotFound("You have not joined this contest.")
    if head is None:
        contest = _directory(contests).get(contest_id)
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
    if not points and entries_table.get_entry(contest_id, principal.user_id, consistent=False) is None:
        raise NotFound("You have not joined this contest.")
    return [HistoryPoint(_wire_time(point.at), point.rank, point.total_value, point.return_pct) for point in points]
