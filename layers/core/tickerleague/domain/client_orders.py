"""The client id of an order and the fingerprint of its fields, stored with its marker item.

An order's marker is named by its clientOrderId, or, when it has none, by the Idempotency-Key of its request (the
key's implicit client id, `key#<sha256 of the key>`: `#` never appears in a clientOrderId, so the two never collide).
The same marker with another order is refused from the marker alone (422 CLIENT_ORDER_ID_REUSED, or 422
IDEMPOTENCY_KEY_REUSED for a key's), the same order answers the original. When both are given the clientOrderId
names the marker (its contract rule stays, and it lasts as long as the order), and the key is the http layer's only.
A key's marker expires with the key (IDEMPOTENCY_TTL_SECONDS); a clientOrderId's never does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from tickerleague.domain.idempotency import key_digest
from tickerleague.domain.trading import Order

IMPLICIT_PREFIX = "key#"


@dataclass(frozen=True)
class OrderMarker:
    marker_id: str  # the marker item's name: the clientOrderId, or `key#<digest>`
    from_key: bool  # named by the request's Idempotency-Key (expires with it), not by a clientOrderId


def order_marker(client_order_id: str | None, idempotency_key: str | None) -> OrderMarker | None:
    """The marker a new order is written with, if any (see the module's docstring for which one wins)."""
    if client_order_id:
        return OrderMarker(client_order_id, from_key=False)
    if idempotency_key:
        return OrderMarker(f"{IMPLICIT_PREFIX}{key_digest(idempotency_key)}", from_key=True)
    return None


def _number(value: Decimal | None) -> str:
    # 10, 10.0 and 1E+1 are the same quantity: normalise before hashing (`:f` keeps it out of exponent form).
    return "" if value is None else f"{value.normalize():f}"


def order_fingerprint(*, symbol: str, side: str, order_type: str, quantity: Decimal, limit_price: Decimal | None,
                      time_in_force: str) -> str:
    text = "|".join((symbol.strip().upper(), side, order_type, _number(quantity), _number(limit_price),
                     time_in_force))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def fingerprint_of(order: Order) -> str:
    """The fingerprint of a stored order's own fields (a marker written before fingerprints is checked with it)."""
    return order_fingerprint(symbol=order.symbol, side=order.side, order_type=order.order_type,
                             quantity=order.quantity, limit_price=order.limit_price,
                             time_in_force=order.time_in_force)
