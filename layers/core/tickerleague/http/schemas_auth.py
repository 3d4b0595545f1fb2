"""Wire models of the auth routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from tickerleague.domain import users as account_rules
from tickerleague.http.validation import RequestModel, WireModel
from tickerleague.services.auth import AuthResult, UserView


# The account rules (domain/users.py) run here as well as in the service, so one answer names every bad field:
# missing, of the wrong type, or breaking a rule.
class SignupRequest(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    displayName: str = Field(max_length=200)

    @field_validator("email")
    @classmethod
    def _email_rules(cls, email: str) -> str:
        return _obeyed(email, account_rules.email_problem(account_rules.normalize_email(email)))

    @field_validator("password")
    @classmethod
    def _password_rules(cls, password: str, info: ValidationInfo) -> str:
        email = account_rules.normalize_email(info.data.get("email") or "")
        return _obeyed(password, account_rules.password_problem(password, email))

    @field_validator("displayName")
    @classmethod
    def _display_name_rules(cls, name: str) -> str:
        return _obeyed(name, account_rules.display_name_problem(account_rules.clean_display_name(name)))


def _obeyed(value: str, problem: str | None) -> str:
    if problem:
        raise ValueError(problem)
    return value


class LoginRequest(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class RefreshRequest(RequestModel):
    refreshToken: str = Field(min_length=1, max_length=4096)


class EmailPreferences(WireModel):
    contestReminders: bool = True


class User(WireModel):
    id: str
    email: str
    displayName: str
    role: Literal["user", "admin"]
    status: Literal["active", "suspended"]
    createdAt: str
    emailPreferences: EmailPreferences

    @classmethod
    def of(cls, view: UserView) -> User:
        return cls(id=view.id, email=view.email, displayName=view.display_name, role=view.role,  # type: ignore[arg-type]
                   status=view.status, createdAt=view.created_at,  # type: ignore[arg-type]
                   emailPreferences=EmailPreferences(contestReminders=view.contest_reminders))


class TokenPair(WireModel):
    user: User
    accessToken: str
    refreshToken: str
    tokenType: Literal["Bearer"] = "Bearer"
    expiresIn: int

    @classmethod
    def of(cls, result: AuthResult) -> TokenPair:
        return cls(user=User.of(result.user), accessToken=result.access_token, refreshToken=result.refresh_token,
                   expiresIn=result.expires_in)
