"""What one container remembers between a player's order placements, so the next order can go straight to its
transaction (one round trip) instead of reading the contest and the entry first.

Nothing remembered is trusted for what the transaction guards, and nothing remembered refuses an order:
- the entry: the placement's transaction conditions on its version and status. A stale memory loses that race, the
  transaction answers the fresh entry (ReturnValuesOnConditionCheckFailure), and the decision is taken again on it;
- the contest: remembered only while active and for at most `ttl_seconds` from the read that found it (never
  extended by using it). Once active, a contest's rules and end cannot change (`domain.contests.apply_edit`), only
  its status: the end is checked against the clock; a cancel made in this container is learned at once
  (`contest_left_active`: a read of an older revision still in flight cannot bring the contest back), one made in
  another container reaches this one's placements within `ttl_seconds`, the same bounded delay the authorizer's cache
  gives a suspension;
- a refusal decided on remembered state is never answered: placing forgets the entry and decides again on fresh reads.

`PLACEMENT_MEMORY_SECONDS=0` turns it off (every placement reads first). docs/design/trading.md weighs the trade.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from tickerleague.domain.contests import Contest, ContestStatus

if TYPE_CHECKING:
    from tickerleague.domain.entries import Entry


@dataclass(frozen=True)
class Recalled:
    contest: Contest
    entry: Entry


class PlacementMemory:
    """Active contests and the entries this container last wrote, each until `ttl_seconds` after it was learned.
    Thread-safe and bounded (least recently used goes first)."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._contests: OrderedDict[str, tuple[Contest, float]] = OrderedDict()
        self._entries: OrderedDict[tuple[str, str], tuple[Entry, float]] = OrderedDict()
        self._left_active: OrderedDict[str, tuple[int, float]] = OrderedDict()  # contest id -> (revision, until)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    def recall(self, contest_id: str, user_id: str) -> Recalled | None:
        """The remembered contest and entry, or None unless both are remembered and current."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            contest = _current(self._contests, contest_id, now)
            entry = _current(self._entries, (contest_id, user_id), now)
        return Recalled(contest, entry) if contest is not None and entry is not None else None

    def learn_contest(self, contest: Contest) -> None:
        """A contest just read or written: remembered while active; a contest no longer active is forgotten, and
        so is any older revision of it learned later (a read that was in flight while it changed)."""
        if not self.enabled:
            return
        until = self._clock() + self.ttl_seconds
        with self._lock:
            if contest.status is not ContestStatus.ACTIVE:
                self._contests.pop(contest.contest_id, None)
                _put(self._left_active, contest.contest_id, contest.revision, until, self.max_entries)
                return
            left = _current(self._left_active, contest.contest_id, self._clock())
            if left is not None and contest.revision < left:
                return
            _put(self._contests, contest.contest_id, contest, until, self.max_entries)

    def learn_entry(self, entry: Entry) -> None:
        """An entry as this container just wrote or read it. Concurrent writers may report out of order: the
        highest version wins."""
        if not self.enabled:
            return
        key = (entry.contest_id, entry.user_id)
        with self._lock:
            known = self._entries.get(key)
            if known is not None and known[0].version > entry.version:
                return
            _put(self._entries, key, entry, self._clock() + self.ttl_seconds, self.max_entries)

    def forget_entry(self, contest_id: str, user_id: str) -> None:
        with self._lock:
            self._entries.pop((contest_id, user_id), None)

    def clear(self) -> None:
        with self._lock:
            self._contests.clear()
            self._entries.clear()
            self._left_active.clear()


def _current[K, V](items: OrderedDict[K, tuple[V, float]], key: K, now: float) -> V | None:
    found = items.get(key)
    if found is None:
        return None
    if now >= found[1]:
        del items[key]
        return None
    items.move_to_end(key)
    return found[0]


def _put[K, V](items: OrderedDict[K, tuple[V, float]], key: K, value: V, until: float, limit: int) -> None:
    items[key] = (value, until)
    items.move_to_end(key)
    while len(items) > limit:
        items.popitem(last=False)


@lru_cache(maxsize=1)
def default_memory() -> PlacementMemory:
    """This container's memory (`PLACEMENT_MEMORY_SECONDS`, default 5)."""
    from tickerleague.config import settings

    return PlacementMemory(settings().placement_memory_seconds)


def contest_left_active(contest: Contest) -> None:
    """`contest` (cancelled or ended) was just written in this container: its next placements read it again."""
    default_memory().learn_contest(contest)
