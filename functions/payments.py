"""Payment routes: the caller's payment for a contest entry, and the admin's refund of an entry."""

from __future__ import annotations

from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.schemas_contests import EntryView, entry_view
from tickerleague.http.schemas_payments import PaymentView, RefundRequest, payment_view
from tickerleague.services import payments as payment_service

api = Api()
TAGS = ("payments",)


@api.route("GET", "/v1/contests/{contestId}/entries/me/payment", access=Access.USER, summary="My entry's payment",
           responses={200: PaymentView}, errors=("NOT_FOUND", "SERVICE_UNAVAILABLE"), tags=TAGS)
def my_payment(request: Request) -> Reply:
    """A payment not yet final is re-read from Stripe and applied first (a lost webhook changes nothing here)."""
    record = payment_service.my_payment(request.require_principal().user_id, request.path["contestId"])
    return Reply(200, payment_view(record, payment_service.client_secret_shown(record)))


@api.route("POST", "/v1/admin/contests/{contestId}/entries/{entryId}/refund", access=Access.ADMIN,
           summary="Refund an entry (exactly once)", body=RefundRequest, responses={200: EntryView},
           errors=("VALIDATION_FAILED", "NOT_FOUND", "NOT_REFUNDABLE", "SERVICE_UNAVAILABLE"), tags=TAGS)
def refund_entry(request: Request) -> Reply:
    body: RefundRequest = request.body
    principal = request.require_principal()
    actor = payment_service.RefundActor(user_id=principal.user_id, request_id=request.request_id,
                                        source_ip=request.source_ip)
    entry = payment_service.refund_entry(actor, request.path["contestId"], request.path["entryId"], body.reason)
    return Reply(200, entry_view(entry))
