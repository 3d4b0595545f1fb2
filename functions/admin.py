"""Admin routes: users (search, read, suspend, reinstate), a contest's entries, and the audit trail.

The refund route (`POST /v1/admin/contests/{contestId}/entries/{entryId}/refund`) is the payments capability's.
"""

from __future__ import annotations

from tickerleague.clock import utcnow
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.paging import decode_position, encode_position
from tickerleague.http.schemas_admin import (
    AdminEntriesQuery,
    AdminEntryPage,
    AuditEventView,
    AuditPage,
    AuditQuery,
    ReinstateRequest,
    SuspendRequest,
    UserPage,
    UsersQuery,
    admin_entry_view,
)
from tickerleague.http.schemas_auth import User
from tickerleague.services import admin_entries, admin_users
from tickerleague.services import audit as audit_service
from tickerleague.services.audit import RequestOrigin

api = Api()
TAGS = ("admin",)
LIST_ERRORS = ("VALIDATION_FAILED", "INVALID_CURSOR")


def _origin(request: Request) -> RequestOrigin:
    return RequestOrigin(request_id=request.request_id, source_ip=request.source_ip)


@api.route("GET", "/v1/admin/users", access=Access.ADMIN,
           summary="Users whose email or display name starts with `query`, newest first", query=UsersQuery,
           responses={200: UserPage}, errors=LIST_ERRORS, tags=TAGS)
def list_users(request: Request) -> Reply:
    query: UsersQuery = request.query
    scope = f"admin-users|q={query.query or ''}|s={query.status or '*'}|{request.require_principal().user_id}"
    page = admin_users.search_users(query.query, query.status, query.limit, decode_position(scope, query.cursor))
    return Reply(200, UserPage(items=[User.of(user) for user in page.users],
                               nextCursor=encode_position(scope, page.position)))


@api.route("GET", "/v1/admin/users/{userId}", access=Access.ADMIN, summary="One user", responses={200: User},
           errors=("NOT_FOUND",), tags=TAGS)
def get_user(request: Request) -> Reply:
    return Reply(200, User.of(admin_users.get_user(request.path["userId"])))


@api.route("POST", "/v1/admin/users/{userId}/suspend", access=Access.ADMIN,
           summary="Suspend a user and revoke all their sessions", body=SuspendRequest, responses={200: User},
           errors=("VALIDATION_FAILED", "NOT_FOUND", "INVALID_STATE_TRANSITION"), tags=TAGS)
def suspend_user(request: Request) -> Reply:
    body: SuspendRequest = request.body
    user = admin_users.suspend(request.require_principal(), request.path["userId"], body.reason, _origin(request),
                               utcnow())
    return Reply(200, User.of(user))


@api.route("POST", "/v1/admin/users/{userId}/reinstate", access=Access.ADMIN,
           summary="Reinstate a suspended user (their old sessions stay revoked)", body=ReinstateRequest,
           body_required=False, responses={200: User},
           errors=("VALIDATION_FAILED", "NOT_FOUND", "INVALID_STATE_TRANSITION"), tags=TAGS)
def reinstate_user(request: Request) -> Reply:
    body: ReinstateRequest = request.body
    user = admin_users.reinstate(request.require_principal(), request.path["userId"], body.reason,
                                 _origin(request), utcnow())
    return Reply(200, User.of(user))


@api.route("GET", "/v1/admin/contests/{contestId}/entries", access=Access.ADMIN,
           summary="Every entry of a contest with its player and payment", query=AdminEntriesQuery,
           responses={200: AdminEntryPage}, errors=(*LIST_ERRORS, "NOT_FOUND"), tags=TAGS)
def list_contest_entries(request: Request) -> Reply:
    query: AdminEntriesQuery = request.query
    contest_id = request.path["contestId"]
    scope = f"admin-entries|{contest_id}|s={query.status or '*'}|{request.require_principal().user_id}"
    position = decode_position(scope, query.cursor) or {}
    after = position.get("after") if isinstance(position.get("after"), str) else None
    page = admin_entries.list_entries(contest_id, status=query.status, limit=query.limit, after=after)
    return Reply(200, AdminEntryPage(
        items=[admin_entry_view(entry) for entry in page.entries],
        nextCursor=encode_position(scope, {"after": page.after} if page.after else None)))


@api.route("GET", "/v1/admin/audit", access=Access.ADMIN, summary="Audit events, newest first", query=AuditQuery,
           responses={200: AuditPage}, errors=LIST_ERRORS, tags=TAGS)
def list_audit(request: Request) -> Reply:
    query: AuditQuery = request.query
    scope = (f"admin-audit|a={query.actorId or ''}|t={query.targetId or ''}|x={query.action or ''}"
             f"|{request.require_principal().user_id}")
    page = audit_service.list_events(actor_id=query.actorId, target_id=query.targetId, action=query.action,
                                     limit=query.limit, position=decode_position(scope, query.cursor))
    return Reply(200, AuditPage(
        items=[AuditEventView(id=event.id, at=event.at, actorId=event.actor_id, action=event.action,
                              targetType=event.target_type, targetId=event.target_id, before=event.before,
                              after=event.after, reason=event.reason, requestId=event.request_id,
                              sourceIp=event.source_ip) for event in page.events],
        nextCursor=encode_position(scope, page.position)))
