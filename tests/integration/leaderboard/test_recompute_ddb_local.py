"""A recompute over a few thousand entries against DynamoDB Local (AWS's emulator: real conditions, real GSIs),
checked against a brute-force valuation with the trading engine's own arithmetic."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest
from tickerleague.adapters.dynamodb import leaderboard as board
from tickerleague.adapters.dynamodb.plumbing import Meter
from tickerleague.adapters.dynamodb.prices import StoredPrices
from tickerleague.domain.contests import Contest
from tickerleague.domain.entries import Entry
from tickerleague.domain.trading import value
from tickerleague.http.paging import CURSORS
from tickerleague.http.principal import Principal
from tickerleague.services import leaderboard_reads as reads
from tickerleague.services import leaderboard_recompute as recompute

from tests.support.leaderboard import T0, entry_item, make_contest, put_entries, put_quote, trade

pytestmark = pytest.mark.integration

ENTRIES = 3000
SYMBOLS = [f"S{index:02d}" for index in range(50)]


def expected_board(entries: Sequence[Entry], prices: dict[str, Decimal]) -> list[tuple[int, str, str, str]]:
    """(rank, entryId, totalValue, returnPct) by brute force: trading.value per entry, counted ranks."""
    valued = [(value(entry.portfolio, prices), entry) for entry in entries if entry.status == "active"]
    valued.sort(key=lambda pair: (-pair[0].total_value, pair[1].joined_at, pair[1].entry_id))
    totals = [valuation.total_value for valuation, _ in valued]
    return [(1 + sum(1 for other in totals if other > valuation.total_value), entry.entry_id,
             f"{valuation.total_value:.2f}", f"{valuation.return_pct:.4f}") for valuation, entry in valued]


def listed_board(contest: Contest) -> list[tuple[int, str, str, str]]:
    rows: list[tuple[int, str, str, str]] = []
    cursor = None
    while True:
        page = reads.leaderboard_page(None, contest.contest_id, 100, cursor, cursors=CURSORS)
        rows += [(row[0], row[1], row[4], row[5]) for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            return rows


@pytest.fixture
def world(ddb_table: str) -> tuple[Contest, list[Entry], dict[str, Decimal], random.Random]:
    recompute.forget_warm_state()
    rng = random.Random(20261201)
    contest = make_contest()
    prices = {symbol: Decimal(rng.randint(100, 50000)).scaleb(-2) for symbol in SYMBOLS}
    for symbol, price in prices.items():
        put_quote(symbol, str(price), T0 - timedelta(minutes=1))
    entries = []
    for index in range(ENTRIES):
        held = {symbol: (str(rng.randint(1, 50)), f"{rng.randint(100, 900000) / 100:.2f}")
                for symbol in rng.sample(SYMBOLS, rng.randint(0, 4))}
        cash = Decimal(rng.choice([100000, 99000, 50000, rng.randint(0, 100000)])).quantize(Decimal("0.01"))
        entries.append(entry_item(contest, cash=cash, positions=held, joined_at=T0 - timedelta(seconds=5000 - index),
                                  status="active" if index % 97 else "refunded"))
    put_entries(entries)
    return contest, entries, prices, rng


def test_full_then_incremental_recompute_match_brute_force(
        world: tuple[Contest, list[Entry], dict[str, Decimal], random.Random]) -> None:
    contest, entries, prices, rng = world

    first = recompute.recompute_contest(contest, T0, StoredPrices())
    assert (first.outcome, first.mode, first.entries_read) == ("published", "full", ENTRIES)
    want = expected_board(entries, prices)
    assert listed_board(contest) == want
    assert any(rank != position + 1 for position, (rank, *_) in enumerate(want))  # the data has ties

    # 1% trade and a few quotes move: only the traders are read again.
    traders = rng.sample(range(ENTRIES), ENTRIES // 100)
    for index in traders:
        entries[index] = trade(entries[index], T0 + timedelta(seconds=20), cash=entries[index].portfolio.cash + 777)
    for symbol in SYMBOLS[:10]:
        prices[symbol] += Decimal("1.25")
        put_quote(symbol, str(prices[symbol]), T0 + timedelta(seconds=40))
    second = recompute.recompute_contest(contest, T0 + timedelta(minutes=1), StoredPrices())
    assert (second.outcome, second.mode, second.entries_read) == ("published", "incremental", len(traders))
    want = expected_board(entries, prices)
    assert listed_board(contest) == want

    # My rank and my history agree with the board.
    rank, entry_id, total, pct = want[1234]
    mine = next(entry for entry in entries if entry.entry_id == entry_id)
    caller = Principal(mine.user_id, "user", "s")
    assert reads.my_standing(caller, contest.contest_id) == reads.MyStanding(
        rank, total, pct, len(want), "2026-12-01T15:01:00Z")
    assert [point.rank for point in reads.history(caller, contest.contest_id)][-1] == rank


def test_final_standings_are_frozen_on_dynamodb_local(
        world: tuple[Contest, list[Entry], dict[str, Decimal], random.Random]) -> None:
    contest, entries, prices, _ = world
    recompute.recompute_contest(contest, T0, StoredPrices())
    final = recompute.compute_final_standings(contest.contest_id, contest.ends_at)
    assert final.outcome == "published"
    frozen = listed_board(contest)
    assert frozen == expected_board(entries, prices)  # the last snapshot before endsAt is the one seeded

    for symbol in SYMBOLS:
        put_quote(symbol, "1.00", contest.ends_at - timedelta(seconds=1))  # a later-known price before the end
    again = recompute.compute_final_standings(contest.contest_id, contest.ends_at)
    late = recompute.recompute_contest(contest, contest.ends_at - timedelta(seconds=2), StoredPrices())
    assert (again.outcome, late.outcome) == ("skipped_final", "skipped_final")
    head = board.get_head(contest.contest_id, Meter())
    assert head is not None and head.final and listed_board(contest) == frozen
