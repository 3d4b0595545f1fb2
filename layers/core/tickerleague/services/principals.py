"""Turning a bearer token into a principal: the one verifier used by the Lambda authorizer and by public routes that
answer differently to signed-in callers.

A suspended account's tokens must stop working within 60 s. The account's status is read from the table and cached
per container for PRINCIPAL_STATUS_CACHE_SECONDS (20 s); API Gateway caches the authorizer's answer for up to 30 s
(`ReauthorizeEvery`), so the worst case is 50 s.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from tickerleague.adapters.tokens import TokenInvalid, bearer_token, verify_access_token
from tickerleague.config import settings
from tickerleague.domain.principal import Principal
from tickerleague.errors import AccountSuspended, Unauthenticated


@dataclass(frozen=True)
class AccountState:
    role: str
    status: str
    sessions_valid_after: int


_cache: dict[str, tuple[float, AccountState | None]] = {}
_cache_lock = threading.Lock()


def _account_state(user_id: str) -> AccountState | None:
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(user_id)
    if cached and now - cached[0] < settings().principal_status_cache_seconds:
        return cached[1]
    from tickerleague.adapters.dynamodb.users import get_user

    user = get_user(user_id)
    state = None if user is None else AccountState(user.role, user.status, int(user.sessions_valid_after))
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[user_id] = (now, state)
    return state


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def authenticate(authorization: str | None) -> Principal:
    """The principal of a bearer header, or Unauthenticated / AccountSuspended."""
    try:
        claims = verify_access_token(bearer_token(authorization))
    except TokenInvalid:
        raise Unauthenticated() from None
    state = _account_state(claims.user_id)
    if state is None or claims.issued_at < state.sessions_valid_after:
        raise Unauthenticated()
    if state.status == "suspended":
        raise AccountSuspended()
    # The role comes from the table, not the token, so a demotion takes effect as fast as a suspension.
    return Principal(user_id=claims.user_id, role=state.role, session_id=claims.session_id)


def principal_from_bearer(authorization: str) -> Principal:
    return authenticate(authorization)
