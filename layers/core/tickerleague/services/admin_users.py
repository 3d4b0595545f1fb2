"""Operators and users: prefix search, one user, suspension and reinstatement (each audited in its transaction)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tickerleague.clock import iso
from tickerleague.domain.principal import Principal
from tickerleague.errors import Conflict, NotFound
from tickerleague.ids import is_ulid
from tickerleague.services import audit
from tickerleague.services.audit import RequestOrigin
from tickerleague.services.auth import UserView, user_view

if TYPE_CHECKING:
    from tickerleague.adapters.dynamodb.users import UserItem


@dataclass(frozen=True)
class UserPage:
    users: list[UserView]
    position: dict[str, Any] | None


def _newest_key(user: UserItem) -> str:
    return f"{user.created_at}#{user.user_id}"


def search_users(query: str | None, status: str | None, limit: int, position: dict[str, Any] | None) -> UserPage:
    """Newest first. Without `query`: one query per page of the users index. With it: the email and display-name
    prefix indexes (one query each, at most SEARCH_MATCH_CAP matches apiece), then ordered newest first; the
    cursor is the last user served (`{"after": "<createdAt>#<userId>"}`)."""
    from tickerleague.adapters.dynamodb import admin_users

    prefix = (query or "").strip()
    if not prefix:
        page = admin_users.newest(status, limit, position)
        return UserPage([user_view(user) for user in page.users], page.position)
    matches = [user for user in admin_users.matching(prefix.lower(), prefix.casefold())
               if status is None or user.status == status]
    matches.sort(key=_newest_key, reverse=True)
    after = (position or {}).get("after")
    if isinstance(after, str):
        matches = [user for user in matches if _newest_key(user) < after]
    served = matches[:limit]
    more = len(matches) > limit
    return UserPage([user_view(user) for user in served], {"after": _newest_key(served[-1])} if more else None)


def _require(user_id: str) -> UserItem:
    from tickerleague.adapters.dynamodb.users import get_user

    user = get_user(user_id, consistent=True) if is_ulid(user_id) else None  # user ids are ULIDs
    if user is None:
        raise NotFound("No such user.")
    return user


def get_user(user_id: str) -> UserView:
    return user_view(_require(user_id))


def suspend(actor: Principal, user_id: str, reason: str, origin: RequestOrigin, now: datetime) -> UserView:
    """One read and one transaction: status, reason and the sessions' revocation marker (every session and access
    token started before now dies: refresh at once, access tokens within PRINCIPAL_STATUS_CACHE_SECONDS + the
    authorizer cache) with the audit event."""
    if user_id == actor.user_id:
        raise Conflict("You cannot suspend yourself.", code="INVALID_STATE_TRANSITION")
    user = _require(user_id)
    revoke_before = (int(now.timestamp()), int(now.timestamp() * 1000))
    return _change(actor, user, expected="active", status="suspended", reason=reason, action=audit.USER_SUSPENDED,
                   origin=origin, now=now, revoke_before=revoke_before)


def reinstate(actor: Principal, user_id: str, reason: str | None, origin: RequestOrigin, now: datetime) -> UserView:
    """Back to active; the sessions revoked by the suspension stay dead (the marker is left where it is)."""
    user = _require(user_id)
    return _change(actor, user, expected="suspended", status="active", reason=reason, action=audit.USER_REINSTATED,
                   origin=origin, now=now, revoke_before=None)


def _change(actor: Principal, user: UserItem, *, expected: str, status: str, reason: str | None, action: str,
            origin: RequestOrigin, now: datetime, revoke_before: tuple[int, int] | None) -> UserView:
    from tickerleague.adapters.dynamodb import admin_users

    if user.status != expected:
        raise Conflict(f"The user is {user.status}, not {expected}.", code="INVALID_STATE_TRANSITION")
    event = audit.event(actor_id=actor.user_id, action=action, target_type="user", target_id=user.user_id,
                        origin=origin, before={"status": user.status}, after={"status": status}, reason=reason,
                        now=now)
    try:
        admin_users.change_status(user, expected=expected, status=status, reason=reason if status != "active" else None,
                                  updated_at=iso(now), audit=event, revoke_before=revoke_before)
    except admin_users.StatusChanged:
        raise Conflict("The user changed meanwhile; read it again.", code="INVALID_STATE_TRANSITION") from None
    # No read after the write: the user is what was read, in its new status.
    return replace(user_view(user), status=status)
