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
from tickerleague.services import entries as entry_service
from tickerleague.services import portfolio as portfolio_service

api = Api()
TAGS = ("entries",)


@api.route("POST", "/v1/contests/{contestId}/entries", access=Access.USER, summary="Join a contest",
           body=JoinContestRequest, body_required=False, responses={201: EntryView, 200: EntryView},
           errors=("NOT_FOUND", "CONTEST_NOT_JOINABLE", "CONTEST_FULL"), tags=TAGS)
def join(request: Request) -> Reply:
    body: JoinContestRequest = request.body
    answer = entry_service.join_contest(request.require_principal(), request.path["contestId"], body.inviteCode)
    return Reply(201 if answer.created else 200, entry_view(answer.entry))


@api.route("GET", "/v1/contests/{contestId}/portfolio", access=Access.USER, summary="My portfolio in a contest",
           responses={200: PortfolioView}, errors=("NOT_FOUND",), tags=TAGS)
def portfolio(request: Request) -> Reply:
    value = portfolio_service.get_portfolio(request.require_principal(), request.path["contestId"], utcnow())
    return Reply(200, portfolio_view(value))
