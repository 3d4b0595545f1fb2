"""Standings as pure functions: value every entry, rank, cut into pages, spread over rank shards. No I/O.

Ranking (the contract): by `totalValue` descending; equal values share a rank and the next rank skips ("1, 2, 2, 4",
competition ranking: rank = 1 + the number of strictly greater values); within a tie the earlier `joinedAt` is listed
first, then the smaller `entryId`, so the order is total and every recompute of the same values lists the same rows.

Valuation is the trading engineer's (`tickerleague.domain.trading.value`): `totalValue = cash + sum(quantity x price)`
rounded once to the cent, with cash including reserved cash, a held symbol without a price counting at its cost
basis, and `returnPct = (totalValue - startingCash) / startingCash x 100` to 4 dp. `value_of` is the same
arithmetic on the few facts a recompute keeps per entry (a test holds the two equal), because building a full
`Valuation` per entry for 100,000 entries a minute would be most of the job's CPU.
"""

from __future__ import annotations

import hashlib
import heapq
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tickerleague.domain.money import to_cash, to_price
from tickerleague.domain.trading import return_pct

ROWS_PER_PAGE = 100  # = the API's largest `limit`: any request touches at most two stored pages
ENTRIES_PER_SHARD = 64  # target size of a rank shard: ~4 KB, so one history point costs 0.5 RCU to read
MAX_SHARDS = 16_384  # 1,000,000 entries -> 61 per shard
SHARD_GROWTH = 4  # a contest moves to more shards only when it has outgrown its count four times over

Row = tuple[int, str, str, str, str, str]  # rank, entryId, userId, displayName, totalValue, returnPct (wire strings)


@dataclass(frozen=True)
class HistoryPoint:
    """One player's standing at one computed run."""

    at: str  # ISO ms
    rank: int
    total_value: str
    return_pct: str


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str
    quantity: Decimal
    cost_basis: Decimal


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What a recompute keeps of one entry: enough to value, rank and list it, nothing else."""

    entry_id: str
    user_id: str
    display_name: str
    joined_at: str  # ISO 8601 UTC with milliseconds: sorts like the instant
    starting_cash: Decimal
    cash: Decimal  # includes cash reserved by open buy orders
    holdings: tuple[Holding, ...]  # positions with quantity > 0 (reserved shares included)
    version: int  # the entry item's write counter: of two copies, the higher one is newer
    active: bool  # only active entries are ranked (not pending payment, cancelled or refunded)

    @property
    def symbols(self) -> Iterable[str]:
        return (holding.symbol for holding in self.holdings)


@dataclass(frozen=True, slots=True)
class Standing:
    rank: int
    entry_id: str
    user_id: str
    display_name: str
    joined_at: str
    total_value: Decimal  # to the cent
    return_pct: Decimal  # to 4 dp


# ---------------------------------------------------------------------------------------------------- valuation
def value_of(facts: EntryFacts, prices: Mapping[str, Decimal]) -> tuple[Decimal, Decimal]:
    """(totalValue, returnPct) of an entry marked to `prices`; see the module docstring for the rules."""
    total = facts.cash
    for holding in facts.holdings:
        price = prices.get(holding.symbol)
        total += holding.quantity * to_price(price) if price is not None else holding.cost_basis
    total = to_cash(total)
    return total, return_pct(total, facts.starting_cash)


# ---------------------------------------------------------------------------------------------------- ranking
def _order_key(standing: Standing) -> tuple[Decimal, str, str]:
    return -standing.total_value, standing.joined_at, standing.entry_id


def rank(unranked: Iterable[Standing]) -> list[Standing]:
    """Sorted standings with competition ranks; the incoming `rank` fields are ignored."""
    ordered = sorted(unranked, key=_order_key)
    ranked: list[Standing] = []
    previous: Decimal | None = None
    current_rank = 0
    for position, standing in enumerate(ordered, start=1):
        if standing.total_value != previous:
            current_rank, previous = position, standing.total_value
        ranked.append(Standing(current_rank, standing.entry_id, standing.user_id, standing.display_name,
                               standing.joined_at, standing.total_value, standing.return_pct))
    return ranked


def standings(entries: Iterable[EntryFacts], prices: Mapping[str, Decimal]) -> list[Standing]:
    """Every active entry valued at `prices` and ranked."""
    unranked = []
    for facts in entries:
        if not facts.active:
            continue
        total, pct = value_of(facts, prices)
        unranked.append(Standing(0, facts.entry_id, facts.user_id, facts.display_name, facts.joined_at, total, pct))
    return rank(unranked)


def same_standings(before: Sequence[Standing], after: Sequence[Standing]) -> bool:
    """Whether a recompute changed nothing a reader can see (then no new run needs writing)."""
    return len(before) == len(after) and all(
        (a.entry_id, a.rank, a.total_value, a.return_pct, a.display_name)
        == (b.entry_id, b.rank, b.total_value, b.return_pct, b.display_name)
        for a, b in zip(before, after, strict=True)
    )


def page_to_probe(value: Decimal, page_floors: Sequence[Decimal]) -> int | None:
    """For an entrant who joined after the last recompute: the one published page whose values decide the rank
    `value` would have (the first page whose lowest value is <= `value`), or None when every row is above it.

    Pages are sorted descending, so their floors are too, and a page whose floor is above `value` is entirely above."""
    page = bisect_left([-floor for floor in page_floors], -value)
    return page if page < len(page_floors) else None


def rank_from_probe(value: Decimal, page: int | None, page_values: Sequence[Decimal], total: int,
                    page_size: int = ROWS_PER_PAGE) -> int:
    """1 + the number of published values strictly greater than `value` (see `page_to_probe`): every page before
    `page` is full and entirely greater, and nothing after it is."""
    if page is None:
        return 1 + total
    return 1 + page * page_size + sum(1 for row_value in page_values if row_value > value)


# ---------------------------------------------------------------------------------------------------- pages
def pages_of(ranked: Sequence[Standing], page_size: int = ROWS_PER_PAGE) -> list[Sequence[Standing]]:
    """The stored pages of a run: rows [n*size, (n+1)*size). An empty board still has one (empty) page 0."""
    return [ranked[start:start + page_size] for start in range(0, len(ranked), page_size)] or [ranked[:0]]


def pages_for(offset: int, limit: int, total: int, page_size: int = ROWS_PER_PAGE) -> range:
    """The page numbers holding rows [offset, offset + limit) of a board of `total` rows."""
    if offset >= total:
        return range(0)
    last_row = min(offset + limit, total) - 1
    return range(offset // page_size, last_row // page_size + 1)


# ---------------------------------------------------------------------------------------------------- rank shards
def shard_of(user_id: str, count: int) -> int:
    """The rank shard of a player. Keyed by user (the routes know the caller, not their entry id), with a stable
    hash (never Python's salted `hash`). `count` is a power of two, so shard s of 2^k splits into s and s + 2^k."""
    digest = hashlib.blake2b(user_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def shard_count_for(entries: int) -> int:
    """The power of two that keeps about ENTRIES_PER_SHARD players per shard."""
    wanted = max(1, -(-entries // ENTRIES_PER_SHARD))
    return min(MAX_SHARDS, 1 << (wanted - 1).bit_length())


@dataclass(frozen=True, slots=True)
class ShardEpoch:
    """From `since` (a run's sort key) on, the contest's rank shards are `count` many."""

    since: str
    count: int


def epochs_after(epochs: Sequence[ShardEpoch], entries: int, run_key: str) -> list[ShardEpoch]:
    """The shard epochs including this run: a new epoch starts only when the contest has outgrown the current count
    SHARD_GROWTH times (so the count changes a handful of times in a contest's life, and a history read spans at
    most that many partitions)."""
    wanted = shard_count_for(entries)
    if not epochs:
        return [ShardEpoch(run_key, wanted)]
    if wanted >= epochs[-1].count * SHARD_GROWTH:
        return [*epochs, ShardEpoch(run_key, wanted)]
    return list(epochs)


def epoch_windows(epochs: Sequence[ShardEpoch]) -> list[tuple[ShardEpoch, str | None]]:
    """Each epoch with the run key where the next one starts (None for the last)."""
    return [(epoch, epochs[index + 1].since if index + 1 < len(epochs) else None)
            for index, epoch in enumerate(epochs)]


def merge_shards[T](per_shard: Sequence[tuple[Sequence[tuple[str, T]], bool]], positions: Sequence[str | None],
                    limit: int) -> tuple[list[T], list[str | None]]:
    """A k-way merge of shards read in sort-key order: `per_shard[n]` is shard n's rows past `positions[n]` as
    (sort key, row) and whether the shard has no more. The first `limit` rows by (sort key, shard), and each shard's
    new position: the last sort key taken from it, "" when it is exhausted and all its rows were taken."""
    merged = heapq.merge(*[[(sort_key, shard, row) for sort_key, row in rows]
                           for shard, (rows, _) in enumerate(per_shard)])
    taken = [next(merged) for _ in range(min(limit, sum(len(rows) for rows, _ in per_shard)))]
    new_positions = list(positions)
    for sort_key, shard, _ in taken:
        new_positions[shard] = sort_key
    for shard, (rows, exhausted) in enumerate(per_shard):
        used = sum(1 for _, taken_shard, _ in taken if taken_shard == shard)
        if exhausted and used == len(rows):
            new_positions[shard] = ""
    return [row for _, _, row in taken], new_positions


def merge_changes(entries: Mapping[str, EntryFacts], changed: Iterable[EntryFacts]) -> dict[str, EntryFacts]:
    """The entries (by entry id) with each changed one replaced by its newer copy (a copy read twice, or read late
    from the index, never replaces a newer one: `version` decides)."""
    merged = dict(entries)
    for facts in changed:
        known = merged.get(facts.entry_id)
        if known is None or facts.version >= known.version:
            merged[facts.entry_id] = facts
    return merged
