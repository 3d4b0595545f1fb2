"""The fingerprint of an order's own fields, stored with its clientOrderId marker: the same clientOrderId with
another order is refused (422 CLIENT_ORDER_ID_REUSED) from the marker alone, the same order answers the original."""

from __future__ import annotations

import hashlib
from decimal import Decimal


def _number(value: Decimal | None) -> str:
    # 10, 10.0 and 1E+1 are the same quantity: normalise before hashing (`:f` keeps it out of exponent form).
    return "" if value is None else f"{value.normalize():f}"


def order_fingerprint(*, symbol: str, side: str, order_type: str, quantity: Decimal, limit_price: Decimal | None,
                      time_in_force: str) -> str:
    text = "|".join((symbol.strip().upper(), side, order_type, _number(quantity), _number(limit_price),
                     time_in_force))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
