"""Account self-service routes: the profile, a password change, and a password reset by email."""

from __future__ import annotations

from tickerleague.clock import utcnow
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.schemas_account import (
    ChangePasswordRequest,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
    UpdateMeRequest,
)
from tickerleague.http.schemas_auth import User
from tickerleague.services import account as account_service
from tickerleague.services.audit import RequestOrigin

api = Api()
TAGS = ("account",)


def _origin(request: Request) -> RequestOrigin:
    return RequestOrigin(request_id=request.request_id, source_ip=request.source_ip)


@api.route("PATCH", "/v1/me", access=Access.USER, summary="Change the display name or email preferences",
           body=UpdateMeRequest, responses={200: User}, errors=("VALIDATION_FAILED",), tags=TAGS)
def update_me(request: Request) -> Reply:
    body: UpdateMeRequest = request.body
    preferences = body.emailPreferences
    user = account_service.update_me(
        request.require_principal().user_id, display_name=body.displayName,
        contest_reminders=preferences.contestReminders if preferences is not None else None, now=utcnow())
    return Reply(200, User.of(user))


@api.route("POST", "/v1/auth/password", access=Access.USER,
           summary="Change the password; every other session is revoked", body=ChangePasswordRequest,
           responses={204: None}, errors=("VALIDATION_FAILED", "INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"),
           tags=TAGS)
def change_password(request: Request) -> Reply:
    body: ChangePasswordRequest = request.body
    account_service.change_password(request.require_principal(), body.currentPassword, body.newPassword,
                                    _origin(request), utcnow(), source_ip=request.source_ip)
    return Reply(204)


@api.route("POST", "/v1/auth/password-reset", access=Access.PUBLIC,
           summary="Email a one-time password reset token (202 whether or not the email is known)",
           body=PasswordResetRequest, responses={202: None}, errors=("VALIDATION_FAILED", "TOO_MANY_ATTEMPTS"),
           tags=TAGS)
def request_password_reset(request: Request) -> Reply:
    body: PasswordResetRequest = request.body
    account_service.request_reset(body.email, request.source_ip, _origin(request), utcnow())
    return Reply(202)


@api.route("POST", "/v1/auth/password-reset/confirm", access=Access.PUBLIC,
           summary="Set a new password with a reset token; every session is revoked",
           body=PasswordResetConfirmRequest, responses={204: None}, errors=("VALIDATION_FAILED", "INVALID_TOKEN"),
           tags=TAGS)
def confirm_password_reset(request: Request) -> Reply:
    body: PasswordResetConfirmRequest = request.body
    account_service.confirm_reset(body.token, body.newPassword, _origin(request), utcnow())
    return Reply(204)
