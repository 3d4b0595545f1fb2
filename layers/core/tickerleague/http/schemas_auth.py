"""Wire models of the auth routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tickerleague.http.validation import RequestModel, WireModel
from tickerleague.services.auth import AuthResult, UserView


class SignupRequest(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    displayName: str = Field(max_length=200)


class LoginRequest(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class RefreshRequest(RequestModel):
    refreshToken: str = Field(min_length=1, max_length=4096)


class User(WireModel):
    id: str
    email: str
    displayName: str
    role: Literal["user", "admin"]
    status: Literal["active", "suspended"]
    createdAt: str

    @classmethod
    def of(cls, view: UserView) -> User:
        return cls(id=view.id, email=view.email, displayName=view.display_name, role=view.role,  # type: ignore[arg-type]
                   status=view.status, createdAt=view.created_at)  # type: ignore[arg-type]


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
