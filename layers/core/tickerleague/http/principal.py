"""Who is calling: handed over by the authorizer in the request context, or verified from an optional bearer token."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tickerleague.domain.principal import Principal


class Access(StrEnum):
    """Who may call a route. The guard runs before the handler; the OpenAPI document shows it."""

    PUBLIC = "public"  # no token needed and none looked at (health, signup, login, refresh, webhooks)
    OPTIONAL = "optional"  # no token needed; a valid one changes what is visible (contest pages, leaderboards)
    USER = "user"  # any signed-in, active user (the authorizer has checked the token and the account's status)
    ADMIN = "admin"  # signed-in admins only; others get 403 FORBIDDEN


def principal_from_authorizer(event: dict[str, Any]) -> Principal | None:
    """The principal that the Lambda authorizer put in `requestContext.authorizer` (values are strings there)."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    user_id = context.get("userId")
    if not user_id:
        return None
    return Principal(
        user_id=str(user_id), role=str(context.get("role", "user")), session_id=str(context.get("sessionId", ""))
    )


# Principal lives in domain/principal.py; it is re-exported here for modules that still import it from here.
__all__ = ["Access", "Principal", "principal_from_authorizer"]
