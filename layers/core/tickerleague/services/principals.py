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
from tickerleague.domain.users import session_revoked
from tickerleague.errors import AccountSuspended, Unauthenticated
from tickerleague.ids import ulid_ms


@dataclass(frozen=True)
class AccountState:
    role: str
    status: str
    sessions_valid_after: int
    sessions_valid_after_ms: int | None = None


# user id -> (monotonic time of the read, wall-clock time of the read, state)
_cache: dict[str, tuple[float, float, AccountState | None]] = {}
_cache_lock = threading.Lock()


def _account_state(user_id: str, token_issued_at: int) -> AccountState | None:
    """The cached state, unless it is older than the token: a token issued after the read comes from a login that
    saw a newer state (a reinstatement, say), so the cache must not refuse it with what it remembered."""
    now, wall = time.monotonic(), time.time()
    with _cache_lock:
        cached = _cache.get(user_id)
    # iat has whole seconds: a read in the token's own second may still predate it.
    fresh_token = cached is not None and cached[1] < token_issued_at + 1
    if cached and not fresh_token and now - cached[0] < settings().principal_status_cache_seconds:
        return cached[2]
    from tickerleague.adapters.dynamodb.users import get_user

    user = get_user(user_id, consistent=fresh_token)
    state = None if user is None else AccountState(
        user.role, user.status, int(user.sessions_valid_after),
        None if user.sessions_valid_after_ms is None else int(user.sessions_valid_after_ms))
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[user_id] = (now, wall, state)
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
    state = _account_state(claims.user_id, claims.issued_at)
    if state is None or session_revoked(claims.issued_at, ulid_ms(claims.session_id), state.sessions_valid_after,
                                        state.sessions_valid_after_ms):
        raise Unauthenticated()
    if state.status == "suspended":
        raise AccountSuspended()
    # The role comes from the table, not the token, so a demotion takes effect as fast as a suspension.
    return Principal(user_id=claims.user_id, role=state.role, session_id=claims.session_id)


def principal_from_bearer(authorization: str) -> Principal:
    return authenticate(authorization)
