"""Money, prices and quantities as `Decimal`, half-even, strings on the wire. No float anywhere near money."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

CENT = Decimal("0.01")
PRICE_TICK = Decimal("0.0001")
QUANTITY_STEP = Decimal("0.000001")
ZERO = Decimal("0")

# A context wide enough for any sum of portfolio values; traps make a silent overflow impossible.
MONEY_CONTEXT = Context(prec=38, rounding=ROUND_HALF_EVEN)


def to_cash(value: Decimal) -> Decimal:
    """Round to the cent, half-even."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT)


def to_price(value: Decimal) -> Decimal:
    """Round to 4 decimal places, half-even."""
    return value.quantize(PRICE_TICK, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT)


def parse_decimal(raw: object) -> Decimal | None:
    """A finite Decimal from a decimal string or int, or None when it is not one. Floats are refused:
    a JSON float has already lost precision before it reaches us."""
    if isinstance(raw, bool | float):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if not isinstance(raw, str) or not raw or len(raw) > 40:
        return None
    text = raw.strip()
    if text != raw or not text or text[0] == "+" or "e" in text.lower() or "_" in text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def cash_str(value: Decimal) -> str:
    """Wire form of cash: always two decimals ("100000.00")."""
    return f"{to_cash(value):f}"


def price_str(value: Decimal) -> str:
    """Wire form of a price: always four decimals ("187.4300")."""
    return f"{to_price(value):f}"


def quantity_str(value: Decimal) -> str:
    """Wire form of a share quantity: no trailing zeros ("12", "0.5")."""
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return f"{normalized.to_integral_value():f}"
    return f"{normalized:f}"


def pct_str(value: Decimal) -> str:
    """Wire form of a percentage: four decimals ("12.3456")."""
    return f"{to_price(value):f}"
