"""Wire models of the admin routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from tickerleague.domain.money import cash_str
from tickerleague.http.paging import ListQuery
from tickerleague.http.schemas_auth import User
from tickerleague.http.validation import RequestModel, WireModel
from tickerleague.services.admin_entries import AdminEntry

REASON = Field(min_length=1, max_length=500)


class StrictListQuery(ListQuery):
    """Admin filters: an unknown query parameter is a mistake worth a 422, not something to ignore."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class UsersQuery(StrictListQuery):
    query: str | None = Field(default=None, min_length=1, max_length=320)
    status: Literal["active", "suspended"] | None = None


class UserPage(WireModel):
    items: list[User]
    nextCursor: str | None


class SuspendRequest(RequestModel):
    reason: str = REASON


class ReinstateRequest(RequestModel):
    reason: str | None = Field(default=None, min_length=1, max_length=500)


class AdminEntriesQuery(StrictListQuery):
    status: Literal["active", "pending_payment", "cancelled", "refunded"] | None = None


class EntryUserView(WireModel):
    id: str
    email: str | None
    displayName: str


class EntryPaymentView(WireModel):
    paymentIntentId: str | None
    status: str | None
    amount: str | None
    currency: str | None
    refundedAmount: str | None


class AdminEntryView(WireModel):
    id: str
    contestId: str
    userId: str
    status: str
    cash: str
    joinedAt: str
    user: EntryUserView
    payment: EntryPaymentView | None


class AdminEntryPage(WireModel):
    items: list[AdminEntryView]
    nextCursor: str | None


def admin_entry_view(entry: AdminEntry) -> AdminEntryView:
    from tickerleague.clock import iso, parse_iso_utc

    joined = parse_iso_utc(entry.joined_at)
    payment = entry.payment
    return AdminEntryView(
        id=entry.id, contestId=entry.contest_id, userId=entry.user_id, status=entry.status,
        cash=cash_str(entry.cash), joinedAt=iso(joined) if joined else entry.joined_at,
        user=EntryUserView(id=entry.user.id, email=entry.user.email, displayName=entry.user.display_name),
        payment=None if payment is None else EntryPaymentView(
            paymentIntentId=payment.payment_intent_id, status=payment.status, amount=payment.amount,
            currency=payment.currency, refundedAmount=payment.refunded_amount),
    )


class AuditQuery(StrictListQuery):
    actorId: str | None = Field(default=None, min_length=1, max_length=200)
    targetId: str | None = Field(default=None, min_length=1, max_length=400)
    action: str | None = Field(default=None, min_length=1, max_length=100)


class AuditEventView(WireModel):
    id: str
    at: str
    actorId: str
    action: str
    targetType: str
    targetId: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    requestId: str | None
    sourceIp: str | None


class AuditPage(WireModel):
    items: list[AuditEventView]
    nextCursor: str | None
