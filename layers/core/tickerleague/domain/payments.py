"""Entry fees and payments as pure rules: currencies, minor units, bounds, payment statuses, and what a PaymentIntent's
state means for an entry. No I/O, no Stripe library, no clock but the one passed in.

Money is Decimal end to end: a fee is kept in the currency's own decimals ("10.00" usd, "500" jpy) and turned into
Stripe's integer minor units only at the edge (`to_minor_units`), exactly, never through float.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tickerleague.domain.money import decimal_places


@dataclass(frozen=True)
class Currency:
    code: str  # ISO 4217, lower case, as Stripe writes it
    decimals: int  # Stripe's minor-unit exponent: 2 for usd, 0 for jpy (a "zero-decimal currency")
    minimum: Decimal  # Stripe's minimum charge in this currency
    maximum: Decimal  # our ceiling: 10000.00 in the two-decimal currencies, about the same value in yen


# The documented list (docs/technical-specification.md, "Payments"). Minimums are Stripe's published minimum charge
# amounts; the maximum is the contract's 10000.00, and for JPY its rough equivalent (the minimum is treated alike).
CURRENCIES: Mapping[str, Currency] = {
    currency.code: currency for currency in (
        Currency("usd", 2, Decimal("0.50"), Decimal("10000.00")),
        Currency("eur", 2, Decimal("0.50"), Decimal("10000.00")),
        Currency("gbp", 2, Decimal("0.30"), Decimal("10000.00")),
        Currency("cad", 2, Decimal("0.50"), Decimal("10000.00")),
        Currency("aud", 2, Decimal("0.50"), Decimal("10000.00")),
        Currency("chf", 2, Decimal("0.50"), Decimal("10000.00")),
        Currency("jpy", 0, Decimal("50"), Decimal("1500000")),
    )
}


def currency(code: str) -> Currency:
    """The currency for a (lower-case) code; KeyError when it is not on the list."""
    return CURRENCIES[code]


def fee_error(amount: Decimal, code: str) -> dict[str, str]:
    """Field errors of an entry fee (wire names under `entryFee.`), empty when it is valid."""
    known = CURRENCIES.get(code)
    if known is None:
        return {"entryFee.currency": f"must be one of {', '.join(sorted(CURRENCIES))}"}
    if not amount.is_finite() or decimal_places(amount) > known.decimals:
        places = "no decimal places" if known.decimals == 0 else f"at most {known.decimals} decimal places"
        return {"entryFee.amount": f"must have {places} in {code}"}
    if amount < known.minimum or amount > known.maximum:
        return {"entryFee.amount": f"must be between {fee_text(known.minimum, code)} and "
                                   f"{fee_text(known.maximum, code)} {code}"}
    return {}


def normalized_fee(amount: Decimal, code: str) -> Decimal:
    """The stored amount: exactly the currency's decimals ("10" usd -> "10.00"; validated first, so no rounding)."""
    return amount.quantize(Decimal(1).scaleb(-currency(code).decimals))


def fee_text(amount: Decimal, code: str) -> str:
    """The wire form: the currency's own decimals ("10.00", "500")."""
    return f"{normalized_fee(amount, code):f}"


def to_minor_units(amount: Decimal, code: str) -> int:
    """Stripe's integer amount: 10.00 usd -> 1000, 500 jpy -> 500. Exact: refuses an amount with more decimals."""
    scaled = normalized_fee(amount, code).scaleb(currency(code).decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {code} allows")
    return int(scaled)


def from_minor_units(minor: int, code: str) -> Decimal:
    """The inverse of `to_minor_units`: 1000 usd -> Decimal("10.00")."""
    return normalized_fee(Decimal(minor).scaleb(-currency(code).decimals), code)


# ---------------------------------------------------------------------------------------------------- statuses
class PaymentStatus(StrEnum):
    """Stripe's PaymentIntent words plus our refund states (the contract's payment `status`)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


# A client can still complete these (the clientSecret is shown only then).
PAYABLE = frozenset({PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.REQUIRES_CONFIRMATION,
                     PaymentStatus.REQUIRES_ACTION})
# Nothing Stripe does later changes these on its own, except a refund made outside the API.
FINAL = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED, PaymentStatus.REFUNDED,
                   PaymentStatus.PARTIALLY_REFUNDED})
PAID = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})


@dataclass(frozen=True)
class IntentState:
    """What we need to know of a Stripe PaymentIntent (read from Stripe, never trusted from an event body)."""

    intent_id: str
    status: str  # Stripe's word
    amount: int  # minor units
    currency: str
    amount_refunded: int  # minor units, summed over its charges
    metadata: Mapping[str, str]
    created: int = 0  # epoch seconds


def payment_status_of(intent: IntentState) -> PaymentStatus:
    """Our status for a PaymentIntent: Stripe's, or refunded / partially_refunded once money went back."""
    if intent.status == PaymentStatus.SUCCEEDED and intent.amount_refunded > 0:
        return PaymentStatus.REFUNDED if intent.amount_refunded >= intent.amount else PaymentStatus.PARTIALLY_REFUNDED
    try:
        return PaymentStatus(intent.status)
    except ValueError:
        return PaymentStatus.REQUIRES_PAYMENT_METHOD


def matches_fee(intent: IntentState, amount: Decimal, code: str) -> bool:
    """Whether the PaymentIntent charges exactly the entry's fee (a mismatch is reported, never applied)."""
    return intent.currency == code and intent.amount == to_minor_units(amount, code)


# ---------------------------------------------------------------------------------------------------- decisions
class Action(StrEnum):
    """What applying a PaymentIntent's state does to its entry."""

    NOTHING = "nothing"  # already reflected, or not ours to change
    RECORD = "record"  # store the new payment status only (still pending, failed attempt, processing ...)
    ACTIVATE = "activate"  # pending -> active (the seat is still held)
    RETAKE_SEAT = "retake_seat"  # cancelled (hold ran out) -> active, if a seat is free
    REFUND = "refund"  # paid, but the entry cannot be active: refund at once
    CANCEL = "cancel"  # Stripe cancelled it: pending -> cancelled, seat released
    RECORD_REFUND = "record_refund"  # money went back outside the API: entry refunded


def decide(entry_status: str, intent: IntentState, *, contest_joinable: bool) -> Action:
    """The one rule table for events, lost-webhook recovery and reconciliation alike (so they cannot disagree).
    A late `payment_failed` never undoes a success: the decision reads Stripe's current state, not the event."""
    status = payment_status_of(intent)
    if status is PaymentStatus.REFUNDED:
        # Refunded in full (here or in Stripe's dashboard): the entry leaves the contest.
        return Action.RECORD_REFUND if entry_status != "refunded" else Action.RECORD
    if status is PaymentStatus.PARTIALLY_REFUNDED:
        return Action.RECORD  # a partial refund keeps the entry as it is and records the amount
    if status is PaymentStatus.SUCCEEDED:
        if entry_status == "pending_payment":
            return Action.ACTIVATE
        if entry_status == "cancelled":
            return Action.RETAKE_SEAT if contest_joinable else Action.REFUND
        return Action.NOTHING
    if status is PaymentStatus.CANCELED:
        return Action.CANCEL if entry_status == "pending_payment" else Action.NOTHING
    return Action.RECORD if entry_status == "pending_payment" else Action.NOTHING


# ---------------------------------------------------------------------------------------------------- keys
def intent_idempotency_key(entry_id: str, attempt: int) -> str:
    """Stripe's second guard for the PaymentIntent of hold `attempt` of an entry (the first is our claim)."""
    return f"tickerleague-entry-{entry_id}-intent-{attempt}"


def refund_idempotency_key(entry_id: str, intent_id: str) -> str:
    return f"tickerleague-entry-{entry_id}-refund-{intent_id}"


def cancel_idempotency_key(entry_id: str, intent_id: str) -> str:
    return f"tickerleague-entry-{entry_id}-cancel-{intent_id}"


@dataclass(frozen=True)
class PaymentRecord:
    """The payment fields of an entry item (with the entry's identity and status)."""

    entry_id: str
    contest_id: str
    user_id: str
    entry_status: str
    attempt: int
    amount: Decimal
    currency: str
    intent_id: str | None
    payment_status: str
    refunded_amount: Decimal
    client_secret: str | None
    hold_expires_at: str | None
    updated_at: str
    refund_id: str | None
    refund_claimed_at: str | None
