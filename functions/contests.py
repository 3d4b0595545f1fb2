"""Contest routes: create, list, read (by id or slug), edit, publish, cancel."""

from __future__ import annotations

from tickerleague.http import idempotency
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.paging import CURSORS
from tickerleague.http.schemas_contests import (
    ContestListQuery,
    ContestPage,
    ContestView,
    CreateContestRequest,
    UpdateContestRequest,
    contest_view,
    definition_from_create,
    patched_definition,
    status_filter,
)
from tickerleague.services import contests as contest_service

api = Api()
TAGS = ("contests",)


def _actor(request: Request) -> contest_service.Actor:
    principal = request.require_principal()
    return contest_service.Actor(principal.user_id, request.request_id, request.source_ip)


def _admin_view(contest: contest_service.Contest) -> ContestView:
    return contest_view(contest, show_invite_code=True)


@api.route("POST", "/v1/contests", access=Access.ADMIN, summary="Create a contest (draft)",
           body=CreateContestRequest, responses={201: ContestView}, errors=("VALIDATION_FAILED",), tags=TAGS)
def create(request: Request) -> Reply:
    # An Idempotency-Key whose stored answer was lost finds its contest by the key's marker: 201 with that contest
    # (as it stands now) and Idempotent-Replayed, as a replay would answer; never a second contest.
    created = contest_service.create_contest_once(_actor(request), definition_from_create(request.body),
                                                  request.idempotency_key)
    headers = {idempotency.REPLAYED_HEADER: "true"} if created.replayed else {}
    return Reply(201, _admin_view(created.contest), headers=headers)


@api.route("GET", "/v1/contests", access=Access.OPTIONAL, summary="List contests",
           query=ContestListQuery, responses={200: ContestPage}, errors=("VALIDATION_FAILED", "INVALID_CURSOR"),
           tags=TAGS)
def list_contests(request: Request) -> Reply:
    query: ContestListQuery = request.query
    principal = request.principal
    contests, next_cursor = contest_service.list_contests(principal, status_filter(query), query.limit, query.cursor,
                                                         cursors=CURSORS)
    show = principal is not None and principal.is_admin
    return Reply(200, ContestPage(items=[contest_view(contest, show_invite_code=show) for contest in contests],
                                  nextCursor=next_cursor))


@api.route("GET", "/v1/contests/{contestId}", access=Access.OPTIONAL, summary="A contest, by id or slug",
           responses={200: ContestView}, errors=("NOT_FOUND",), tags=TAGS)
def get(request: Request) -> Reply:
    visible = contest_service.get_contest(request.principal, request.path["contestId"])
    return Reply(200, contest_view(visible.contest, show_invite_code=visible.show_invite_code))


@api.route("PATCH", "/v1/contests/{contestId}", access=Access.ADMIN, summary="Edit a contest",
           body=UpdateContestRequest, responses={200: ContestView},
           errors=("NOT_FOUND", "VALIDATION_FAILED", "INVALID_STATE_TRANSITION"), tags=TAGS)
def update(request: Request) -> Reply:
    body: UpdateContestRequest = request.body
    contest = contest_service.update_contest(
        _actor(request), request.path["contestId"], lambda current: patched_definition(body, current))
    return Reply(200, _admin_view(contest))


@api.route("POST", "/v1/contests/{contestId}/publish", access=Access.ADMIN,
           summary="Publish a draft: it becomes scheduled and its lifecycle starts", responses={200: ContestView},
           errors=("NOT_FOUND", "VALIDATION_FAILED", "INVALID_STATE_TRANSITION"), tags=TAGS)
def publish(request: Request) -> Reply:
    return Reply(200, _admin_view(contest_service.publish_contest(_actor(request), request.path["contestId"])))


@api.route("POST", "/v1/contests/{contestId}/cancel", access=Access.ADMIN,
           summary="Cancel a contest: joining and trading stop at once", responses={200: ContestView},
           errors=("NOT_FOUND", "INVALID_STATE_TRANSITION"), tags=TAGS)
def cancel(request: Request) -> Reply:
    return Reply(200, _admin_view(contest_service.cancel_contest(_actor(request), request.path["contestId"])))
