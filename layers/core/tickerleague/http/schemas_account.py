"""Wire models of the account self-service routes."""

from __future__ import annotations

from pydantic import Field, field_validator

from tickerleague.domain import users as account_rules
from tickerleague.http.validation import RequestModel


class EmailPreferencesPatch(RequestModel):
    contestReminders: bool


class UpdateMeRequest(RequestModel):
    displayName: str | None = Field(default=None, max_length=200)
    emailPreferences: EmailPreferencesPatch | None = None

    @field_validator("displayName")
    @classmethod
    def _display_name_rules(cls, name: str | None) -> str | None:
        if name is None:
            return None
        problem = account_rules.display_name_problem(account_rules.clean_display_name(name))
        if problem:
            raise ValueError(problem)
        return name


class ChangePasswordRequest(RequestModel):
    currentPassword: str = Field(min_length=1, max_length=1024)
    # The password rules need the account's email, so the service checks them (422 on newPassword).
    newPassword: str = Field(min_length=1, max_length=1024)


class PasswordResetRequest(RequestModel):
    email: str = Field(min_length=1, max_length=320)


class PasswordResetConfirmRequest(RequestModel):
    token: str = Field(min_length=1, max_length=512)
    newPassword: str = Field(min_length=1, max_length=1024)
