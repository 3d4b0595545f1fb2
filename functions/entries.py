"""Entry routes: join a contest, read one's portfolio in it."""

from __future__ import annotations

from tickerleague.clock import utcnow
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.schemas_contests import (
    EntryView,
    JoinContestRequest,
    PortfolioView,
    entry_view,
    portfolio_view,
)
from tickerleague.http.schemas_payments import JoinedEntryView, joined_entry_view
from tickerleague.services import entries as entry_service
from tickerleague.services import portfolio as portfolio_service

api = Api()
TAGS = ("entries",)


@api.route("POST", "/v1/contests/{contestId}/entries", access=Access.USER, summary="Join a contest",
           body=JoinContestRequest, body_required=False,
           responses={201: EntryView, 202: JoinedEntryView, 200: JoinedEntryView},
           errors=("NOT_FOUND", "CONTEST_NOT_JOINABLE", "CONTEST_FULL"), tags=TAGS)
def join(request: Request) -> Reply:
    """Free contest: 201 (new) or 200 (again). Paid contest: 202 with the entry pending_payment and its payment,
    200 again with the same entry and PaymentIntent."""
    body: JoinContestRequest = request.body
    answer = entry_service.join_contest(request.require_principal(), request.path["contestId"], body.inviteCode)
    if answer.payment is None:
        return Reply(201 if answer.created else 200, entry_view(answer.entry))
    from tickerleague.services.payments import client_secret_shown

    view = joined_entry_view(answer.entry, answer.payment, client_secret_shown(answer.payment))
    return Reply(202 if answer.created else 200, view)


@api.route("GET", "/v1/contests/{contestId}/portfolio", access=Access.USER, summary="My portfolio in a contest",
           responses={200: PortfolioView}, errors=("NOT_FOUND",), tags=TAGS)
def portfolio(request: Request) -> Reply:
    value = portfolio_service.get_portfolio(request.require_principal(), request.path["contestId"], utcnow())
    return Reply(200, portfolio_view(value))
