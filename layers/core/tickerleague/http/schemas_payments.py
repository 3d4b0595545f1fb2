"""Wire models of payments: the paid join's answer, the entry's payment, the admin refund body."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from tickerleague.domain.payments import fee_text
from tickerleague.http.schemas_contests import EntryView, entry_view
from tickerleague.http.validation import RequestModel, WireModel

if TYPE_CHECKING:
    from tickerleague.domain.entries import Entry
    from tickerleague.domain.payments import PaymentRecord


class JoinPaymentView(WireModel):
    paymentIntentId: str | None
    clientSecret: str | None = Field(description="for the payer's client only while the payment can be completed")
    amount: str = Field(description="in the currency's own decimals (\"10.00\", \"500\" for jpy)")
    currency: str
    status: str = Field(description="Stripe's PaymentIntent status, or refunded / partially_refunded")


class JoinedEntryView(EntryView):
    payment: JoinPaymentView | None = Field(default=None, exclude_if=lambda value: value is None,
                                            description="only for a paid contest")


class PaymentView(WireModel):
    entryId: str
    paymentIntentId: str | None
    status: str = Field(description="Stripe's PaymentIntent status, or refunded / partially_refunded")
    amount: str
    currency: str
    clientSecret: str | None = Field(description="only while the payment can still be completed")
    refundedAmount: str
    updatedAt: str


class RefundRequest(RequestModel):
    reason: str = Field(min_length=1, max_length=500)


def joined_entry_view(entry: Entry, payment: PaymentRecord | None, client_secret: str | None) -> JoinedEntryView:
    base = entry_view(entry)
    view = None
    if payment is not None:
        view = JoinPaymentView(paymentIntentId=payment.intent_id, clientSecret=client_secret,
                               amount=fee_text(payment.amount, payment.currency), currency=payment.currency,
                               status=payment.payment_status)
    return JoinedEntryView(**base.model_dump(), payment=view)


def payment_view(payment: PaymentRecord, client_secret: str | None) -> PaymentView:
    from tickerleague.clock import iso, parse_iso_utc

    updated = parse_iso_utc(payment.updated_at)
    return PaymentView(
        entryId=payment.entry_id, paymentIntentId=payment.intent_id, status=payment.payment_status,
        amount=fee_text(payment.amount, payment.currency), currency=payment.currency, clientSecret=client_secret,
        refundedAmount=fee_text(payment.refunded_amount, payment.currency),
        updatedAt=iso(updated) if updated else payment.updated_at,
    )


class WebhookReceived(WireModel):
    received: bool
    id: str = Field(description="the Stripe event id, queued for processing")
