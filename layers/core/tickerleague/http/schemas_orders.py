"""Wire models of the order routes (the portfolio's wire model lives with its route, in `schemas_contests`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from tickerleague.clock import iso
from tickerleague.domain import trading as trading_rules
from tickerleague.domain.money import cash_str, price_str, quantity_str
from tickerleague.domain.trading import Order, OrderRequest
from tickerleague.http.paging import ListQuery
from tickerleague.http.validation import DecimalString, RequestModel, WireModel

CLIENT_ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class PlaceOrderRequest(RequestModel):
    """POST /v1/contests/{contestId}/orders. Quantities and prices are decimal strings (whole JSON numbers are
    accepted for quantity; fractional JSON numbers are refused because they have already lost precision)."""

    symbol: str = Field(min_length=1, max_length=32)
    side: Literal["buy", "sell"]
    quantity: DecimalString
    type: Literal["market", "limit"]
    limitPrice: DecimalString | None = Field(default=None, validate_default=True)
    timeInForce: Literal["day", "gtc"] = "day"
    clientOrderId: str | None = Field(default=None, pattern=CLIENT_ORDER_ID_PATTERN)

    # The request rules (domain/trading.py) run here as well as in the service, so one answer names every bad field:
    # missing, of the wrong type, or breaking a rule.
    @field_validator("quantity")
    @classmethod
    def _quantity_rules(cls, quantity: Decimal) -> Decimal:
        return _obeyed(quantity, trading_rules.quantity_problem(quantity))

    @field_validator("limitPrice")
    @classmethod
    def _limit_price_rules(cls, limit: Decimal | None, info: ValidationInfo) -> Decimal | None:
        order_type = info.data.get("type")
        if order_type is None:  # the type is itself wrong (and named): nothing to check the limit price against
            return limit
        return _obeyed(limit, trading_rules.limit_price_problem(order_type, limit))


def _obeyed[V](value: V, problem: str | None) -> V:
    if problem:
        raise ValueError(problem)
    return value


class OrdersQuery(ListQuery):
    status: Literal["filled", "open", "cancelled", "expired", "rejected"] | None = None


class QuoteUsed(WireModel):
    price: str
    asOf: str
    source: str


class OrderOut(WireModel):
    id: str
    clientOrderId: str | None
    contestId: str
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["market", "limit"]
    quantity: str
    limitPrice: str | None
    timeInForce: Literal["day", "gtc"]
    status: Literal["filled", "open", "cancelled", "expired", "rejected"]
    filledQuantity: str
    filledPrice: str | None
    commission: str | None
    notional: str | None
    quote: QuoteUsed | None
    createdAt: str
    filledAt: str | None


class OrderPage(WireModel):
    items: list[OrderOut]
    nextCursor: str | None


def order_out(order: Order) -> OrderOut:
    """The contract's order: decimal strings (cash 2 dp, prices 4 dp, quantities without trailing zeros), ISO
    times with Z, null where a field does not apply (no fill yet, no limit, ...)."""
    quote = order.quote
    return OrderOut(
        id=order.order_id, clientOrderId=order.client_order_id, contestId=order.contest_id, symbol=order.symbol,
        side=order.side, type=order.order_type, quantity=quantity_str(order.quantity),
        limitPrice=price_str(order.limit_price) if order.limit_price is not None else None,
        timeInForce=order.time_in_force, status=order.status, filledQuantity=quantity_str(order.filled_quantity),
        filledPrice=price_str(order.filled_price) if order.filled_price is not None else None,
        commission=cash_str(order.commission) if order.commission is not None else None,
        notional=cash_str(order.notional) if order.notional is not None else None,
        quote=QuoteUsed(price=price_str(quote.price), asOf=iso(quote.as_of), source=quote.source) if quote else None,
        createdAt=iso(order.created_at), filledAt=iso(order.filled_at) if order.filled_at else None,
    )


def order_request(body: PlaceOrderRequest) -> OrderRequest:
    return OrderRequest(
        symbol=body.symbol, side=body.side, quantity=body.quantity, order_type=body.type,
        limit_price=body.limitPrice, time_in_force=body.timeInForce, client_order_id=body.clientOrderId,
    )
