"""Market-data routes: symbol search, a symbol's quote and the market clock."""

from __future__ import annotations

from tickerleague.clock import utcnow
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.schemas_market import MarketClockOut, QuoteOut, StockList, StockOut, StocksQuery
from tickerleague.services import market as market_service

api = Api()
TAGS = ("market",)


@api.route("GET", "/v1/stocks", access=Access.USER, summary="Search symbols by symbol prefix or name words",
           query=StocksQuery, responses={200: StockList}, errors=("VALIDATION_FAILED",), tags=TAGS)
def search(request: Request) -> Reply:
    query: StocksQuery = request.query
    found = market_service.search_symbols(query.query, query.limit)
    return Reply(200, StockList(items=[StockOut(**item.to_dict()) for item in found]))


@api.route("GET", "/v1/stocks/{symbol}/quote", access=Access.USER, summary="The current quote of a symbol",
           responses={200: QuoteOut}, errors=("NOT_FOUND", "SERVICE_UNAVAILABLE"), tags=TAGS)
def quote(request: Request) -> Reply:
    current = market_service.current_quote(request.path["symbol"], utcnow())
    return Reply(200, QuoteOut(**current.to_dict()))


@api.route("GET", "/v1/market/clock", access=Access.PUBLIC, summary="Whether the market is open, and when next",
           responses={200: MarketClockOut}, tags=TAGS)
def clock(request: Request) -> Reply:
    return Reply(200, MarketClockOut.model_validate(market_service.market_clock(utcnow())))
