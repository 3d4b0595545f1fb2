"""Order routes: place, list, read and cancel the caller's orders in a contest."""

from __future__ import annotations

from tickerleague.clock import utcnow
from tickerleague.http import idempotency, rate_limit
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.paging import CURSORS
from tickerleague.http.schemas_orders import (
    OrderOut,
    OrderPage,
    OrdersQuery,
    PlaceOrderRequest,
    order_out,
    order_request,
)
from tickerleague.services import orders as orders_service

api = Api()
TAGS = ("trading",)
PLACE_ERRORS = (
    "VALIDATION_FAILED", "NOT_FOUND", "NOT_JOINED", "CONTEST_NOT_ACTIVE", "MARKET_CLOSED", "UNKNOWN_SYMBOL",
    "SYMBOL_NOT_ALLOWED", "QUOTE_STALE", "PRICE_BELOW_MINIMUM", "TRADE_LIMIT_REACHED", "POSITION_LIMIT_EXCEEDED",
    "INSUFFICIENT_CASH", "INSUFFICIENT_SHARES", "SERVICE_UNAVAILABLE", "CLIENT_ORDER_ID_REUSED",
)


@api.route("POST", "/v1/contests/{contestId}/orders", access=Access.USER, summary="Place an order",
           body=PlaceOrderRequest, responses={201: OrderOut, 200: OrderOut}, errors=PLACE_ERRORS, tags=TAGS)
def place(request: Request) -> Reply:
    """201 with the new order (filled or open); 200 with the original order for a repeated clientOrderId."""
    # (Not in the docstring, which is the spec's text.) An Idempotency-Key whose stored answer was lost finds its
    # order by the key's marker: 201 with the original order and Idempotent-Replayed, as a replay would answer.
    body: PlaceOrderRequest = request.body
    result = orders_service.place_order(request.require_principal(), request.path["contestId"],
                                        order_request(body), utcnow(), idempotency_key=request.idempotency_key)
    if result.limit is not None:  # the order rate limit, decided in the order's transaction (per entry)
        rate_limit.use_headers(result.limit.headers())
    if result.replayed:
        return Reply(201, order_out(result.order), headers={idempotency.REPLAYED_HEADER: "true"})
    return Reply(201 if result.created else 200, order_out(result.order))


@api.route("GET", "/v1/contests/{contestId}/orders", access=Access.USER, summary="The caller's orders, newest first",
           query=OrdersQuery, responses={200: OrderPage}, errors=("NOT_FOUND", "INVALID_CURSOR"), tags=TAGS)
def list_orders(request: Request) -> Reply:
    query: OrdersQuery = request.query
    page = orders_service.list_orders(request.require_principal(), request.path["contestId"], status=query.status,
                                      limit=query.limit, cursor=query.cursor, cursors=CURSORS)
    return Reply(200, OrderPage(items=[order_out(order) for order in page.orders], nextCursor=page.next_cursor))


@api.route("GET", "/v1/contests/{contestId}/orders/{orderId}", access=Access.USER, summary="One of the caller's orders",
           responses={200: OrderOut}, errors=("NOT_FOUND",), tags=TAGS)
def get(request: Request) -> Reply:
    order = orders_service.get_order(request.require_principal(), request.path["contestId"], request.path["orderId"])
    return Reply(200, order_out(order))


@api.route("DELETE", "/v1/contests/{contestId}/orders/{orderId}", access=Access.USER,
           summary="Cancel an open order and release its reservation", responses={200: OrderOut},
           errors=("NOT_FOUND", "ORDER_NOT_CANCELLABLE"), tags=TAGS)
def cancel(request: Request) -> Reply:
    order = orders_service.cancel_order(request.require_principal(), request.path["contestId"],
                                        request.path["orderId"], utcnow())
    return Reply(200, order_out(order))
