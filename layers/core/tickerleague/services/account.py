"""Account self-service: the profile, a password change, and a password reset by emailed one-time token."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import datetime, timedelta

from tickerleague.adapters import passwords
from tickerleague.clock import iso
from tickerleague.config import settings
from tickerleague.domain import throttle as throttling
from tickerleague.domain import users as rules
from tickerleague.domain.principal import Principal
from tickerleague.errors import InvalidCredentials, InvalidToken, NotFound, TooManyAttempts, ValidationFailed
from tickerleague.ids import new_ulid
from tickerleague.services import audit
from tickerleague.services.audit import RequestOrigin
from tickerleague.services.auth import UserView, user_view

logger = logging.getLogger("tickerleague.account")
PASSWORD_RESET_REQUESTED = "PasswordResetRequested"
AUTH_EVENTS_SOURCE = "tickerleague.auth"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------- profile
def update_me(user_id: str, *, display_name: str | None, contest_reminders: bool | None, now: datetime) -> UserView:
    from tickerleague.adapters.dynamodb import accounts
    from tickerleague.adapters.dynamodb.users import get_user

    name = None
    if display_name is not None:
        name = rules.clean_display_name(display_name)
        problem = rules.display_name_problem(name)
        if problem:
            raise ValidationFailed({"displayName": problem})
    if name is not None or contest_reminders is not None:
        try:
            accounts.update_profile(user_id, display_name=name, contest_reminders=contest_reminders,
                                    updated_at=iso(now))
        except Exception as error:
            if _condition_failed(error):
                raise NotFound("No such user.") from None
            raise
    user = get_user(user_id, consistent=True)
    if user is None:
        raise NotFound("No such user.")
    return user_view(user)


def _condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


# ---------------------------------------------------------------------------------------------------- password
def change_password(principal: Principal, current_password: str, new_password: str, origin: RequestOrigin,
                    now: datetime, *, source_ip: str) -> None:
    """Wrong current password: INVALID_CREDENTIALS, counted as a failed login (a stolen access token must not buy
    unlimited guesses). The new hash, the audit event and the revocation of every other session in one transaction
    (the caller's own session lives on)."""
    from tickerleague.adapters.dynamodb import accounts
    from tickerleague.adapters.dynamodb.users import get_user

    user = get_user(principal.user_id, consistent=True)
    if user is None:
        raise NotFound("No such user.")
    subjects = [("email", user.email), ("ip", source_ip)]
    _throttle(subjects, now, record=False, message="Too many failed password attempts; try again later.")
    if not passwords.verify_password(user.password_hash, current_password):
        length = settings().login_window_seconds
        _count(subjects, throttling.window_start(int(now.timestamp()), length), length)
        audit.record(actor_id=user.user_id, action=audit.LOGIN_FAILED, target_type="user", target_id=user.user_id,
                     origin=origin, after={"via": "password change"})
        raise InvalidCredentials("The current password is incorrect.")
    problem = rules.password_problem(new_password, user.email)
    if problem:
        raise ValidationFailed({"newPassword": problem})
    others = [session.session_id for session in accounts.live_sessions(user.user_id)
              if session.session_id != principal.session_id]
    event = audit.event(actor_id=user.user_id, action=audit.PASSWORD_CHANGED, target_type="user",
                        target_id=user.user_id, origin=origin, after={"sessionsRevoked": len(others)}, now=now)
    try:
        accounts.change_password(user.user_id, expected_hash=user.password_hash,
                                 new_hash=passwords.hash_password(new_password), updated_at=iso(now), audit=event,
                                 revoke=others)
    except accounts.Refused:
        # Another change won the race; this request's current password is no longer the current one.
        raise InvalidCredentials("The current password is incorrect.") from None


# ---------------------------------------------------------------------------------------------------- reset
def _throttle(subjects: list[tuple[str, str]], now: datetime, *, record: bool, message: str) -> None:
    """TOO_MANY_ATTEMPTS while any subject's count (the login throttle's sliding window) reaches the login limits
    (per email for the first subject, per IP for the second); `record` counts this attempt too."""
    from tickerleague.adapters.dynamodb import throttle

    config = settings()
    length, at = config.login_window_seconds, int(now.timestamp())
    start = throttling.window_start(at, length)
    counts = throttle.failure_counts(subjects, start, length)
    limits = (config.login_max_failures_per_email, config.login_max_failures_per_ip)
    wait = max(throttling.retry_after(counts[subject], at - start, length, limit)
               for subject, limit in zip(subjects, limits, strict=True))
    if wait:
        raise TooManyAttempts(wait, message)
    if record:
        _count(subjects, start, length)


def _count(subjects: list[tuple[str, str]], start: int, length: int) -> None:
    from tickerleague.adapters.dynamodb import throttle

    for scope, subject in subjects:
        throttle.record_failure(scope, subject, start, start + 2 * length + 3600)


def request_reset(email: str, source_ip: str, origin: RequestOrigin, now: datetime) -> None:
    """Always the same answer, and no sooner than PASSWORD_RESET_MIN_SECONDS, known email or not. A known one gets
    a one-time token (stored only as its SHA-256), announced as a PasswordResetRequested event for the mailer."""
    started = time.monotonic()
    try:
        _request_reset(rules.normalize_email(email), source_ip, now)
    finally:
        floor = settings().password_reset_min_seconds
        elapsed = time.monotonic() - started
        if elapsed < floor:
            time.sleep(floor - elapsed)


def _request_reset(normalized: str, source_ip: str, now: datetime) -> None:
    from tickerleague.adapters import events
    from tickerleague.adapters.dynamodb import accounts, users

    # The login throttle's limits, on counters of their own (a reset flood does not lock the login, nor the
    # reverse); every request counts, known email or not, so the answer says nothing about the account.
    _throttle([("reset-email", normalized), ("reset-ip", source_ip)], now, record=True,
              message="Too many password reset requests; try again later.")
    token = secrets.token_urlsafe(32)  # made for unknown emails too: the same work either way
    user_id = users.user_id_for_email(normalized)
    if user_id is None:
        return
    reset_id = new_ulid()
    expires = now + timedelta(seconds=settings().password_reset_token_seconds)
    accounts.put_reset_token(accounts.ResetTokenItem.new(
        _token_hash(token), user_id=user_id, reset_id=reset_id, created_at=iso(now),
        expires_at=int(expires.timestamp())))
    try:
        events.publish(PASSWORD_RESET_REQUESTED, {"userId": user_id, "resetId": reset_id, "token": token,
                                                  "expiresAt": iso(expires)}, source=AUTH_EVENTS_SOURCE)
    except Exception:
        logger.warning("password reset event not published (resetId %s)", reset_id)  # never the token


def confirm_reset(token: str, new_password: str, origin: RequestOrigin, now: datetime) -> None:
    """Sets the password and revokes every session (the marker), once per token. Used, expired or unknown:
    INVALID_TOKEN, the same for each."""
    from tickerleague.adapters.dynamodb import accounts
    from tickerleague.adapters.dynamodb.users import get_user

    token_hash = _token_hash(token)
    reset = accounts.get_reset_token(token_hash)
    at = int(now.timestamp())
    if reset is None or reset.used or reset.expires_at_epoch <= at:
        raise _invalid_token()
    user = get_user(reset.user_id, consistent=True)
    if user is None:
        raise _invalid_token()
    problem = rules.password_problem(new_password, user.email)
    if problem:
        raise ValidationFailed({"newPassword": problem})
    event = audit.event(actor_id=user.user_id, action=audit.PASSWORD_RESET, target_type="user",
                        target_id=user.user_id, origin=origin, after={"resetId": reset.reset_id}, now=now)
    try:
        accounts.consume_reset_token(token_hash, user_id=user.user_id, now_epoch=at,
                                     new_hash=passwords.hash_password(new_password), updated_at=iso(now),
                                     revoke_before=(at, int(now.timestamp() * 1000)), audit=event)
    except accounts.Refused:
        raise _invalid_token() from None


def _invalid_token() -> InvalidToken:
    return InvalidToken("This reset token is not valid; ask for a new one.")
