"""Sign-up, login, refresh-token rotation with reuse detection, logout, and the current user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tickerleague.adapters import passwords
from tickerleague.adapters.tokens import (
    TokenInvalid,
    issue_access_token,
    issue_refresh_token,
    verify_refresh_token,
)
from tickerleague.clock import iso
from tickerleague.config import settings
from tickerleague.domain import throttle as throttling
from tickerleague.domain import users as rules
from tickerleague.domain.notifications import contest_reminders
from tickerleague.errors import (
    AccountSuspended,
    Conflict,
    InvalidCredentials,
    NotFound,
    TokenReused,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)
from tickerleague.ids import new_ulid, ulid_ms
from tickerleague.services import audit
from tickerleague.services.audit import RequestOrigin

if TYPE_CHECKING:
    from tickerleague.adapters.dynamodb.users import SessionItem, UserItem

# The table adapters (PynamoDB, botocore) are imported inside the functions that use them: they are a third of a
# cold start, and requests refused by validation never need them.


@dataclass(frozen=True)
class UserView:
    id: str
    email: str
    display_name: str
    role: str
    status: str
    created_at: str
    contest_reminders: bool = True  # emailPreferences.contestReminders


@dataclass(frozen=True)
class AuthResult:
    user: UserView
    access_token: str
    refresh_token: str
    expires_in: int


def user_view(user: UserItem) -> UserView:
    return UserView(id=user.user_id, email=user.email, display_name=user.display_name, role=user.role,
                    status=user.status, created_at=user.created_at,
                    contest_reminders=contest_reminders(user.contest_reminders))


def _tokens(user: UserItem, session_id: str, generation: int, now: datetime) -> AuthResult:
    access_token, lifetime = issue_access_token(user.user_id, user.role, session_id, now)
    refresh_token = issue_refresh_token(user.user_id, session_id, generation, now)
    return AuthResult(user=user_view(user), access_token=access_token, refresh_token=refresh_token,
                      expires_in=lifetime)


def _new_session(user_id: str, now: datetime) -> SessionItem:
    from tickerleague.adapters.dynamodb.users import SessionItem

    created = int(now.timestamp())
    # The id's time is `now`, the clock the revocation marker is set by (domain.users.session_revoked).
    session_id = new_ulid(int(now.timestamp() * 1000))
    return SessionItem.new(user_id, session_id, created, created + settings().refresh_token_seconds)


# ---------------------------------------------------------------------------- sign-up
def signup(email: str, password: str, display_name: str, now: datetime, role: str = "user") -> AuthResult:
    normalized = rules.normalize_email(email)
    name = rules.clean_display_name(display_name)
    problems = {
        field: problem
        for field, problem in (
            ("email", rules.email_problem(normalized)),
            ("password", rules.password_problem(password, normalized)),
            ("displayName", rules.display_name_problem(name)),
        )
        if problem
    }
    if problems:
        raise ValidationFailed(problems)
    user_id = new_ulid()
    stamp = iso(now)
    from tickerleague.adapters.dynamodb import users as users_repo

    user = users_repo.UserItem.new(user_id=user_id, email=normalized, display_name=name, role=role, status="active",
                        password_hash=passwords.hash_password(password), created_at=stamp, updated_at=stamp,
                        sessions_valid_after=0)
    session = _new_session(user_id, now)
    try:
        users_repo.create_user(user, users_repo.EmailMarker.new(normalized, user_id), session)
    except users_repo.EmailTaken:
        raise Conflict("An account with this email already exists.", code="EMAIL_TAKEN") from None
    return _tokens(user, session.session_id, 0, now)


# ---------------------------------------------------------------------------- login
def _refuse_if_throttled(normalized_email: str, source_ip: str, now: datetime) -> None:
    """TOO_MANY_ATTEMPTS while the failures of the last `LOGIN_WINDOW_SECONDS` (sliding, see
    `domain.throttle`) reach the limit for this email or this source IP; Retry-After says when they no longer do."""
    config = settings()
    length, at = config.login_window_seconds, int(now.timestamp())
    start = throttling.window_start(at, length)
    from tickerleague.adapters.dynamodb import throttle

    counts = throttle.failure_counts([("email", normalized_email), ("ip", source_ip)], start, length)
    wait = max(
        throttling.retry_after(counts[("email", normalized_email)], at - start, length,
                               config.login_max_failures_per_email),
        throttling.retry_after(counts[("ip", source_ip)], at - start, length, config.login_max_failures_per_ip),
    )
    if wait:
        raise TooManyAttempts(wait, "Too many failed sign-in attempts; try again later.")


def _record_failure(normalized_email: str, user_id: str | None, origin: RequestOrigin, source_ip: str,
                    now: datetime) -> None:
    length = settings().login_window_seconds
    start = throttling.window_start(int(now.timestamp()), length)
    expires_at = start + 2 * length + 3600  # read as the previous window until the next one ends; then an hour
    from tickerleague.adapters.dynamodb import throttle

    throttle.record_failure("email", normalized_email, start, expires_at)
    throttle.record_failure("ip", source_ip, start, expires_at)
    audit.record(actor_id=user_id or "anonymous", action=audit.LOGIN_FAILED, target_type="user",
                 target_id=user_id or f"email:{normalized_email}", origin=origin)


def login(email: str, password: str, source_ip: str, origin: RequestOrigin, now: datetime) -> AuthResult:
    normalized = rules.normalize_email(email)
    _refuse_if_throttled(normalized, source_ip, now)
    from tickerleague.adapters.dynamodb import users as users_repo

    user_id = users_repo.user_id_for_email(normalized)
    user = users_repo.get_user(user_id, consistent=True) if user_id else None
    if user is None:
        passwords.verify_password(passwords.dummy_hash(), password)  # same cost as a wrong password
        _record_failure(normalized, None, origin, source_ip, now)
        raise InvalidCredentials()
    if not passwords.verify_password(user.password_hash, password):
        _record_failure(normalized, user.user_id, origin, source_ip, now)
        raise InvalidCredentials()
    if user.status == "suspended":
        raise AccountSuspended()
    if passwords.needs_rehash(user.password_hash):
        users_repo.update_password_hash(user.user_id, passwords.hash_password(password), iso(now))
    session = _new_session(user.user_id, now)
    users_repo.put_session(session)
    return _tokens(user, session.session_id, 0, now)


# ---------------------------------------------------------------------------- refresh and logout
def refresh(refresh_token: str, origin: RequestOrigin, now: datetime) -> AuthResult:
    """Rotate: the presented token must carry the session's current generation. An older generation means the
    token was stolen or replayed: the whole session is revoked, so its newest token dies too (TOKEN_REUSED)."""
    try:
        claims = verify_refresh_token(refresh_token)
    except TokenInvalid:
        raise Unauthenticated("The refresh token is not valid.") from None
    from tickerleague.adapters.dynamodb import users as users_repo

    session = users_repo.get_session(claims.user_id, claims.session_id)
    user = users_repo.get_user(claims.user_id, consistent=True)
    if session is None or user is None:
        raise Unauthenticated("The refresh token is not valid.")
    if claims.generation < session.generation:
        _revoke_for_reuse(session, origin)
        raise TokenReused()
    if session.revoked or claims.generation > session.generation:
        raise Unauthenticated("This session has ended; sign in again.")
    if user.status == "suspended":
        raise AccountSuspended()
    if rules.session_revoked(int(session.created_at_epoch), ulid_ms(session.session_id),
                             int(user.sessions_valid_after), _int_or_none(user.sessions_valid_after_ms)):
        raise Unauthenticated("This session has ended; sign in again.")
    expires_at = int(now.timestamp()) + settings().refresh_token_seconds
    if not users_repo.rotate_session(session, claims.generation, iso(now), expires_at):
        # Another request rotated (or revoked) this generation a moment ago: the same token was used twice.
        _revoke_for_reuse(session, origin)
        raise TokenReused()
    return _tokens(user, session.session_id, claims.generation + 1, now)


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


def _revoke_for_reuse(session: SessionItem, origin: RequestOrigin) -> None:
    from tickerleague.adapters.dynamodb import users as users_repo

    users_repo.revoke_session(session.user_id, session.session_id, "refresh token reused")
    # Targeted at the user, so `GET /v1/admin/audit?targetId=<userId>` shows an attack on the account in one list.
    audit.record(actor_id=session.user_id, action=audit.REFRESH_REUSED, target_type="user",
                 target_id=session.user_id, origin=origin, after={"sessionId": session.session_id})


def logout(user_id: str, refresh_token: str) -> None:
    """Ends the session of `refresh_token`, which must be the caller's. Idempotent."""
    try:
        claims = verify_refresh_token(refresh_token)
    except TokenInvalid:
        raise Unauthenticated("The refresh token is not valid.") from None
    if claims.user_id != user_id:
        raise Unauthenticated("The refresh token is not valid.")
    from tickerleague.adapters.dynamodb import users as users_repo

    users_repo.revoke_session(user_id, claims.session_id, "logout")


def me(user_id: str) -> UserView:
    from tickerleague.adapters.dynamodb import users as users_repo

    user = users_repo.get_user(user_id)
    if user is None:
        raise NotFound("No such user.")
    return user_view(user)
