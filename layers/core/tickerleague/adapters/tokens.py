"""JWTs (pyjwt, HS256): short-lived access tokens and rotating refresh tokens.

Both carry `iss`, `aud`, `kid` (header), `sub`, `sid` (session), `iat`, `exp`, `jti`. Access and refresh tokens have
different audiences, so neither can stand in for the other. `alg` is pinned: `none` and any other algorithm fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tickerleague.adapters.secrets import SigningKeys, signing_keys
from tickerleague.config import settings
from tickerleague.ids import new_ulid

ALGORITHM = "HS256"
REFRESH_AUDIENCE_SUFFIX = "/refresh"


class TokenInvalid(Exception):
    """The token is missing, malformed, forged, expired or meant for something else."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    session_id: str
    issued_at: int


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    session_id: str
    generation: int


def _audience(refresh: bool) -> str:
    return settings().jwt_audience + (REFRESH_AUDIENCE_SUFFIX if refresh else "")


def _encode(claims: dict[str, Any], keys: SigningKeys) -> str:
    import jwt

    return jwt.encode(claims, keys.current, algorithm=ALGORITHM, headers={"kid": keys.current_kid})


def issue_access_token(user_id: str, role: str, session_id: str, now: datetime) -> tuple[str, int]:
    """The token and its lifetime in seconds."""
    lifetime = settings().access_token_seconds
    claims = {
        "iss": settings().jwt_issuer, "aud": _audience(refresh=False), "sub": user_id, "role": role,
        "sid": session_id, "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        "jti": new_ulid(),
    }
    return _encode(claims, signing_keys()), lifetime


def issue_refresh_token(user_id: str, session_id: str, generation: int, now: datetime) -> str:
    lifetime = settings().refresh_token_seconds
    claims = {
        "iss": settings().jwt_issuer, "aud": _audience(refresh=True), "sub": user_id, "sid": session_id,
        "gen": generation, "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()), "jti": new_ulid(),
    }
    return _encode(claims, signing_keys())


def _decode(token: str, refresh: bool) -> dict[str, Any]:
    import jwt

    if not token or len(token) > 4096:
        raise TokenInvalid("missing or oversized token")
    keys = signing_keys()
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenInvalid("unexpected algorithm")
        key = keys.keys.get(str(header.get("kid")))
        if key is None:
            raise TokenInvalid("unknown key id")
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=_audience(refresh), issuer=settings().jwt_issuer,
            options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]}, leeway=5,
        )
    except jwt.PyJWTError as error:
        raise TokenInvalid(type(error).__name__) from error
    return claims


def verify_access_token(token: str) -> AccessClaims:
    claims = _decode(token, refresh=False)
    try:
        return AccessClaims(user_id=str(claims["sub"]), role=str(claims.get("role", "user")),
                            session_id=str(claims["sid"]), issued_at=int(claims["iat"]))
    except (KeyError, TypeError, ValueError) as error:
        raise TokenInvalid("bad claims") from error


def verify_refresh_token(token: str) -> RefreshClaims:
    claims = _decode(token, refresh=True)
    generation = claims.get("gen")
    if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
        raise TokenInvalid("bad generation")
    return RefreshClaims(user_id=str(claims["sub"]), session_id=str(claims["sid"]), generation=generation)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value."""
    if not authorization:
        raise TokenInvalid("no authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalid("not a bearer token")
    return token.strip()
