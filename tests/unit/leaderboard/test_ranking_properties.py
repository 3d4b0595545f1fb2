"""Properties of the pure ranking module: competition ranks, a total and stable order, permutation invariance,
the same valuation as the trading engine, page and shard arithmetic."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tickerleague.domain import ranking
from tickerleague.domain.portfolio import Portfolio, Position
from tickerleague.domain.ranking import EntryFacts, Holding, ShardEpoch, Standing
from tickerleague.domain.trading import value

CENTS = st.integers(min_value=-(10**9), max_value=10**12).map(lambda cents: Decimal(cents).scaleb(-2))
JOINED = st.integers(min_value=0, max_value=50).map(lambda second: f"2026-12-01T14:00:{second:02d}.000Z")
IDS = st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)


@st.composite
def boards(draw: st.DrawFn, max_size: int = 60) -> list[Standing]:
    # Few distinct values so that ties are common.
    values = draw(st.lists(CENTS, min_size=1, max_size=5))
    count = draw(st.integers(min_value=0, max_value=max_size))
    ids = draw(st.lists(IDS, min_size=count, max_size=count, unique=True))
    return [
        Standing(0, entry_id, f"u-{entry_id}", "name", draw(JOINED), draw(st.sampled_from(values)), Decimal(0))
        for entry_id in ids
    ]


@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(boards())
def test_rank_is_one_plus_the_number_of_strictly_greater_values(unranked: list[Standing]) -> None:
    ranked = ranking.rank(unranked)
    assert len(ranked) == len(unranked)
    for standing in ranked:
        assert standing.rank == 1 + sum(1 for other in unranked if other.total_value > standing.total_value)


@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(boards())
def test_ties_share_a_rank_and_the_next_rank_skips(unranked: list[Standing]) -> None:
    ranked = ranking.rank(unranked)
    for before, after in itertools.pairwise(ranked):
        if before.total_value == after.total_value:
            assert after.rank == before.rank
        else:
            assert before.total_value > after.total_value
            assert after.rank == ranked.index(after) + 1  # 1, 2, 2, 4: the rank is the position of the first of a tie


@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(boards())
def test_order_is_total_within_a_tie_earlier_join_then_entry_id(unranked: list[Standing]) -> None:
    ranked = ranking.rank(unranked)
    keys = [(-standing.total_value, standing.joined_at, standing.entry_id) for standing in ranked]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)  # no two rows compare equal: the order is total


@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(boards(), st.randoms(use_true_random=False))
def test_ranking_is_permutation_invariant_and_stable(unranked: list[Standing], rng: random.Random) -> None:
    shuffled = list(unranked)
    rng.shuffle(shuffled)
    ranked = ranking.rank(unranked)
    assert ranking.rank(shuffled) == ranked
    assert ranking.rank(ranked) == ranked  # ranking a ranked board changes nothing


def test_the_contract_example_one_two_two_four() -> None:
    rows = [
        Standing(0, entry_id, "u", "n", joined, Decimal(total), Decimal(0))
        for entry_id, joined, total in [
            ("D", "2026-12-01T14:00:03.000Z", "90.00"),
            ("C", "2026-12-01T14:00:02.000Z", "100.00"),
            ("B", "2026-12-01T14:00:01.000Z", "100.00"),
            ("A", "2026-12-01T14:00:09.000Z", "120.00"),
        ]
    ]
    assert [(standing.rank, standing.entry_id) for standing in ranking.rank(rows)] == [
        (1, "A"),
        (2, "B"),
        (2, "C"),
        (4, "D"),
    ]


# ---------------------------------------------------------------------------------------------------- valuation
QUANTITIES = st.integers(min_value=0, max_value=10**6).map(Decimal)
PRICES = st.integers(min_value=1, max_value=10**9).map(lambda ticks: Decimal(ticks).scaleb(-4))


@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(
    cash=CENTS,
    held=st.dictionaries(st.sampled_from(["AAPL", "MSFT", "NVDA", "TSLA"]), st.tuples(QUANTITIES, CENTS), max_size=4),
    prices=st.dictionaries(st.sampled_from(["AAPL", "MSFT", "NVDA"]), PRICES, max_size=3),
    start=st.integers(min_value=100, max_value=10**9).map(Decimal),
)
def test_value_of_is_the_trading_engines_valuation(
    cash: Decimal, held: dict[str, tuple[Decimal, Decimal]], prices: dict[str, Decimal], start: Decimal
) -> None:
    portfolio = Portfolio(
        starting_cash=start,
        cash=cash,
        positions={
            symbol: Position(symbol, quantity=quantity, cost_basis=cost) for symbol, (quantity, cost) in held.items()
        },
    )
    facts = EntryFacts(
        "e",
        "u",
        "n",
        "t",
        start,
        cash,
        tuple(Holding(symbol, quantity, cost) for symbol, (quantity, cost) in sorted(held.items()) if quantity > 0),
        0,
        True,
    )
    expected = value(portfolio, prices)
    assert ranking.value_of(facts, prices) == (expected.total_value, expected.return_pct)


def test_standings_leave_out_inactive_entries() -> None:
    active = EntryFacts("a", "u1", "n", "t", Decimal(100), Decimal(100), (), 0, True)
    refunded = EntryFacts("b", "u2", "n", "t", Decimal(100), Decimal(900), (), 0, False)
    assert [standing.entry_id for standing in ranking.standings([active, refunded], {})] == ["a"]


# ---------------------------------------------------------------------------------------------------- pages and probes
@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(
    offset=st.integers(min_value=0, max_value=1000),
    limit=st.integers(min_value=1, max_value=100),
    total=st.integers(min_value=0, max_value=1000),
)
def test_pages_for_covers_exactly_the_requested_rows(offset: int, limit: int, total: int) -> None:
    span = ranking.pages_for(offset, limit, total)
    wanted = set(range(offset, min(offset + limit, total)))
    covered = {row for page in span for row in range(page * 100, page * 100 + 100)} & set(range(total))
    assert wanted <= covered and len(span) <= 2
    assert all(any(row // 100 == page for row in wanted) for page in span)  # no page read for nothing


@settings(max_examples=200, deadline=None)  # no wall-clock limits: the machine may be busy
@given(
    values=st.lists(st.integers(min_value=0, max_value=40), max_size=450), probe=st.integers(min_value=-1, max_value=41)
)
def test_rank_of_a_late_joiner_from_page_floors_matches_counting(values: list[int], probe: int) -> None:
    ordered = sorted((Decimal(item) for item in values), reverse=True)
    pages = [ordered[start : start + 100] for start in range(0, len(ordered), 100)]
    floors = [page[-1] for page in pages]
    page = ranking.page_to_probe(Decimal(probe), floors)
    rank = ranking.rank_from_probe(Decimal(probe), page, pages[page] if page is not None else [], len(ordered))
    assert rank == 1 + sum(1 for item in ordered if item > probe)


# ---------------------------------------------------------------------------------------------------- shards
@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(st.lists(IDS, min_size=1, max_size=50), st.integers(min_value=0, max_value=10))
def test_doubling_the_shard_count_splits_each_shard_in_two(users: list[str], power: int) -> None:
    for user in users:
        small = ranking.shard_of(user, 2**power)
        assert ranking.shard_of(user, 2 ** (power + 1)) in (small, small + 2**power)


@settings(deadline=None)  # no wall-clock limits: the machine may be busy
@given(st.integers(min_value=0, max_value=3_000_000))
def test_shard_count_keeps_shards_small(entries: int) -> None:
    count = ranking.shard_count_for(entries)
    assert count & (count - 1) == 0 and 1 <= count <= ranking.MAX_SHARDS
    if count < ranking.MAX_SHARDS:
        assert entries <= count * ranking.ENTRIES_PER_SHARD
        assert count == 1 or entries > count // 2 * ranking.ENTRIES_PER_SHARD


def test_epochs_grow_only_when_outgrown_fourfold() -> None:
    first = ranking.epochs_after([], 100, "r1")
    assert first == [ShardEpoch("r1", 2)]
    assert ranking.epochs_after(first, 250, "r2") == first  # 4 shards wanted, fewer than 4 x 2: stay
    grown = ranking.epochs_after(first, 1000, "r3")
    assert grown == [ShardEpoch("r1", 2), ShardEpoch("r3", 16)]
    assert ranking.epochs_after(grown, 10, "r4") == grown  # never shrinks


@settings(deadline=None)
@given(st.lists(st.lists(st.integers(min_value=0, max_value=99), max_size=8, unique=True), min_size=1, max_size=5),
       st.integers(min_value=1, max_value=12))
def test_merge_shards_pages_through_every_row_once_in_sort_key_order(
        shards: list[list[int]], limit: int) -> None:
    # Each shard's rows, sorted, as (sort key, row); a shard reads at most `limit` rows past its position per page.
    keyed = [[(f"{key:03d}", (shard, key)) for key in sorted(keys)] for shard, keys in enumerate(shards)]
    positions: list[str | None] = [None] * len(keyed)
    listed: list[tuple[int, int]] = []
    for _ in range(100):
        per_shard = []
        for shard, rows in enumerate(keyed):
            after = positions[shard]
            rest = [] if after == "" else [row for row in rows if after is None or row[0] > after]
            per_shard.append((rest[:limit], len(rest) <= limit))
        page, positions = ranking.merge_shards(per_shard, positions, limit)
        assert len(page) <= limit
        listed += page
        if all(position == "" for position in positions):
            break
    assert all(position == "" for position in positions)  # every shard ends exhausted: the cursor stops
    everything = sorted((f"{key:03d}", shard) for shard, keys in enumerate(shards) for key in keys)
    assert listed == [(shard, int(key)) for key, shard in everything]


def test_merge_changes_keeps_the_newer_version_of_each_entry() -> None:
    def facts(entry_id: str, version: int) -> EntryFacts:
        return EntryFacts(entry_id, "u", "n", "2026-12-01T14:00:00.000Z", Decimal(100), Decimal(version), (), version,
                          True)

    known = {"a": facts("a", 3), "b": facts("b", 1)}
    merged = ranking.merge_changes(known, [facts("a", 2), facts("b", 2), facts("c", 0), facts("b", 1)])
    assert {entry_id: item.version for entry_id, item in merged.items()} == {"a": 3, "b": 2, "c": 0}
    assert known["b"].version == 1  # the remembered entries are not changed in place
