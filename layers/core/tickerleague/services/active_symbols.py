"""The active-symbols set, from the trading side: a first buy of a symbol adds it, so the quote refresh and the
matcher (market data) look after it. This container remembers what it added for a few minutes, so a burst of buys
of one symbol costs one write.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickerleague.domain.entries import Entry
    from tickerleague.domain.trading import OrderRequest
    from tickerleague.services.ports import OrderStore

logger = logging.getLogger("tickerleague.orders")

ACTIVE_SYMBOL_CACHE_SECONDS = 300
_active_cache: dict[str, float] = {}
_active_lock = threading.Lock()


def remember_bought_symbol(store: OrderStore, entry: Entry, request: OrderRequest) -> None:
    """Make sure the quote refresh and matching jobs look after a symbol this entry just started to buy. Idempotent;
    skipped when the entry already had the symbol or this container added it recently. A failure here leaves the
    order intact (it is committed) and is logged: the next order of the symbol adds it again."""
    if request.side != "buy" or request.symbol in entry.portfolio.positions:
        return
    now = time.monotonic()
    with _active_lock:
        if _active_cache.get(request.symbol, 0.0) > now:
            return
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        store.add_active_symbols([request.symbol])
    except (BotoCoreError, ClientError):
        logger.warning("could not add %s to the active symbols", request.symbol, exc_info=True)
        return
    with _active_lock:
        _active_cache[request.symbol] = now + ACTIVE_SYMBOL_CACHE_SECONDS


def forget_active_symbol_cache() -> None:
    """For tests."""
    with _active_lock:
        _active_cache.clear()
