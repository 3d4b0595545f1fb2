"""Wire models of the market-data routes: symbol search, a symbol's quote and the market clock."""

from __future__ import annotations

from pydantic import Field

from tickerleague.http.paging import DEFAULT_LIMIT, MAX_LIMIT
from tickerleague.http.validation import QueryModel, WireModel


class StocksQuery(QueryModel):
    query: str = Field(default="", max_length=100)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class StockOut(WireModel):
    symbol: str
    name: str
    exchange: str


class StockList(WireModel):
    """The contract answers search with `items` only: a search is one ranked page, not a list to walk."""

    items: list[StockOut]


class QuoteOut(WireModel):
    symbol: str
    price: str
    asOf: str
    source: str


class MarketClockOut(WireModel):
    isOpen: bool
    now: str
    nextOpen: str = Field(description="the next session's open, strictly after now (while open: the following one)")
    nextClose: str = Field(description="the next close strictly after now")
    calendar: str = Field(description='"XNYS", or "24x7" (sessions are UTC days)')
