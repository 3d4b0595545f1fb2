"""Leaderboard routes: a contest's standings (public), the caller's standing, and the caller's value history."""

from __future__ import annotations

from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.paging import CURSORS, ListQuery
from tickerleague.http.schemas_leaderboard import Leaderboard, MyStandingView, PortfolioHistory
from tickerleague.services import leaderboard_reads

api = Api()
TAGS = ("leaderboards",)


@api.route("GET", "/v1/contests/{contestId}/leaderboard", access=Access.OPTIONAL,
           summary="A contest's standings, best first (by id or slug)", query=ListQuery,
           responses={200: Leaderboard}, errors=("NOT_FOUND", "INVALID_CURSOR", "VALIDATION_FAILED"), tags=TAGS)
def get_leaderboard(request: Request) -> Reply:
    query: ListQuery = request.query
    view = leaderboard_reads.leaderboard_page(request.principal, request.path["contestId"], query.limit,
                                              query.cursor, cursors=CURSORS)
    return Reply(200, Leaderboard.of(view))


@api.route("GET", "/v1/contests/{contestId}/leaderboard/me", access=Access.USER,
           summary="The caller's rank in a contest", responses={200: MyStandingView}, errors=("NOT_FOUND",),
           tags=TAGS)
def me(request: Request) -> Reply:
    standing = leaderboard_reads.my_standing(request.require_principal(), request.path["contestId"])
    return Reply(200, MyStandingView.of(standing))


@api.route("GET", "/v1/contests/{contestId}/portfolio/history", access=Access.USER,
           summary="The caller's total value and rank at every standings computed", responses={200: PortfolioHistory},
           errors=("NOT_FOUND",), tags=TAGS)
def history(request: Request) -> Reply:
    points = leaderboard_reads.history(request.require_principal(), request.path["contestId"])
    return Reply(200, PortfolioHistory.of(points))
