"""Entry-fee rules, minor units and the decision table that events, recovery and reconciliation share."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tickerleague.domain.payments import (
    Action,
    IntentState,
    PaymentStatus,
    decide,
    fee_error,
    fee_text,
    from_minor_units,
    matches_fee,
    payment_status_of,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("amount", "code", "minor"),
    [("10.00", "usd", 1000), ("10", "usd", 1000), ("0.50", "usd", 50), ("500", "jpy", 500),
     ("10000.00", "eur", 1_000_000), ("0.30", "gbp", 30)],
)
def test_minor_units_are_exact_both_ways(amount: str, code: str, minor: int) -> None:
    assert to_minor_units(Decimal(amount), code) == minor
    assert from_minor_units(minor, code) == Decimal(amount)


def test_fee_text_uses_the_currency_decimals() -> None:
    assert fee_text(Decimal("10"), "usd") == "10.00"
    assert fee_text(Decimal("500"), "jpy") == "500"
    assert fee_text(Decimal("1E+3"), "jpy") == "1000"


@pytest.mark.parametrize(
    ("amount", "code", "field"),
    [("0.49", "usd", "entryFee.amount"), ("10000.01", "usd", "entryFee.amount"), ("1.001", "usd", "entryFee.amount"),
     ("49", "jpy", "entryFee.amount"), ("100.5", "jpy", "entryFee.amount"), ("5.00", "btc", "entryFee.currency"),
     ("0.29", "gbp", "entryFee.amount")],
)
def test_bad_fees_name_the_field(amount: str, code: str, field: str) -> None:
    assert field in fee_error(Decimal(amount), code)


@pytest.mark.parametrize(("amount", "code"), [("0.50", "usd"), ("10000.00", "usd"), ("500", "jpy"), ("0.30", "gbp")])
def test_good_fees_pass(amount: str, code: str) -> None:
    assert fee_error(Decimal(amount), code) == {}


def intent(status: str, *, amount: int = 1000, refunded: int = 0, currency: str = "usd") -> IntentState:
    return IntentState("pi_1", status, amount, currency, refunded, {})


def test_refunds_turn_into_our_statuses() -> None:
    assert payment_status_of(intent("succeeded", refunded=1000)) is PaymentStatus.REFUNDED
    assert payment_status_of(intent("succeeded", refunded=400)) is PaymentStatus.PARTIALLY_REFUNDED
    assert payment_status_of(intent("succeeded")) is PaymentStatus.SUCCEEDED


def test_a_late_failure_never_undoes_a_success() -> None:
    # The event said payment_failed, but Stripe now says succeeded: the entry (already active) is left alone.
    assert decide("active", intent("succeeded"), contest_joinable=True) is Action.NOTHING
    assert decide("active", intent("requires_payment_method"), contest_joinable=True) is Action.NOTHING


@pytest.mark.parametrize(
    ("entry", "status", "joinable", "action"),
    [
        ("pending_payment", "succeeded", True, Action.ACTIVATE),
        ("pending_payment", "succeeded", False, Action.ACTIVATE),  # the held seat is still ours
        ("cancelled", "succeeded", True, Action.RETAKE_SEAT),
        ("cancelled", "succeeded", False, Action.REFUND),
        ("pending_payment", "requires_payment_method", True, Action.RECORD),
        ("pending_payment", "canceled", True, Action.CANCEL),
        ("cancelled", "canceled", True, Action.NOTHING),
        ("refunded", "succeeded", True, Action.NOTHING),
    ],
)
def test_decision_table(entry: str, status: str, joinable: bool, action: Action) -> None:
    assert decide(entry, intent(status), contest_joinable=joinable) is action


def test_full_refund_outside_the_api_refunds_the_entry() -> None:
    assert decide("active", intent("succeeded", refunded=1000), contest_joinable=True) is Action.RECORD_REFUND
    assert decide("refunded", intent("succeeded", refunded=1000), contest_joinable=True) is Action.RECORD
    assert decide("active", intent("succeeded", refunded=10), contest_joinable=True) is Action.RECORD


def test_amount_or_currency_mismatch_is_detected() -> None:
    assert matches_fee(intent("succeeded"), Decimal("10.00"), "usd")
    assert not matches_fee(intent("succeeded", amount=999), Decimal("10.00"), "usd")
    assert not matches_fee(intent("succeeded", currency="eur"), Decimal("10.00"), "usd")
