"""The edge's logger: the one set up in `tickerleague.logs`, with the request id appended per request (see `Api`)."""

from __future__ import annotations

from tickerleague.logs import logger

__all__ = ["logger"]
