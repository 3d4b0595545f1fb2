"""Work that must happen when a contest ends, before its status becomes `ended`.

The lifecycle workflow's `end` step calls `on_contest_ended(contest_id, ended_at)` (ended_at = the contest's endsAt,
the instant whose prices count), then flips the contest to `ended`. Each capability's part is one "module:function"
path in `HOOKS` below, imported only when a contest ends (no import cost for the step's other actions): today the
trading engine's `services.matching:expire_open_orders_at_end` and the leaderboard's
`services.leaderboard_recompute:compute_final_standings`.

Contract for a hook: `hook(contest_id: str, ended_at: datetime) -> None`, idempotent (the step is retried, and an
execution re-armed after a restart of the local stack runs it again), and raising on failure so the step retries.
Hooks run in list order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime

ContestEndedHook = Callable[[str, datetime], None]

HOOKS: list[str] = [
    # trading: every open order expires, reservations back
    "tickerleague.services.matching:expire_open_orders_at_end",
    # leaderboard: final standings at endsAt, frozen
    "tickerleague.services.leaderboard_recompute:compute_final_standings",
]


def _resolve(path: str) -> ContestEndedHook:
    module_name, _, attribute = path.partition(":")
    hook: ContestEndedHook = getattr(importlib.import_module(module_name), attribute)
    return hook


def on_contest_ended(contest_id: str, ended_at: datetime) -> None:
    for path in HOOKS:
        _resolve(path)(contest_id, ended_at)
