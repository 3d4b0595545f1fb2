"""Auth over real HTTP against the local stack: gateway, authorizer, handlers and DynamoDB Local together."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import requests

from tests.e2e.client import (
    SIGNING_KEYS,
    TIMEOUT,
    Player,
    assert_envelope,
    log_in,
    request_id_of,
    sign_up,
)


def _post(base_url: str, path: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{base_url}{path}", json=body, headers=headers, timeout=TIMEOUT)


def _me(base_url: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{base_url}/v1/me", headers=headers, timeout=TIMEOUT)


def _assert_pair(answer: requests.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["X-Request-Id"] == request_id_of(answer)
    body: dict[str, Any] = answer.json()
    assert body["tokenType"] == "Bearer" and body["expiresIn"] > 0
    assert body["accessToken"] and body["refreshToken"]
    return body


def test_signup_refresh_rotation_reuse_login_logout(base_url: str) -> None:
    player = sign_up(base_url)
    me = _me(base_url, player.access_token)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == player.user_id and me.json()["email"] == player.email
    assert me.headers["X-Request-Id"]

    rotated = _assert_pair(_post(base_url, "/v1/auth/refresh", {"refreshToken": player.refresh_token}), 200)
    assert rotated["refreshToken"] != player.refresh_token
    assert _me(base_url, rotated["accessToken"]).status_code == 200

    reused = _post(base_url, "/v1/auth/refresh", {"refreshToken": player.refresh_token})
    assert_envelope(reused, 401, "TOKEN_REUSED")
    newest = _post(base_url, "/v1/auth/refresh", {"refreshToken": rotated["refreshToken"]})
    assert_envelope(newest, 401, "UNAUTHENTICATED")  # the whole session was revoked

    signed_in = log_in(base_url, player.email, player.password)
    headers = {"Authorization": f"Bearer {signed_in['accessToken']}"}
    logout = _post(base_url, "/v1/auth/logout", {"refreshToken": signed_in["refreshToken"]}, headers)
    assert logout.status_code == 204, logout.text
    assert logout.content == b""
    assert logout.headers["X-Request-Id"]
    after = _post(base_url, "/v1/auth/refresh", {"refreshToken": signed_in["refreshToken"]})
    assert_envelope(after, 401, "UNAUTHENTICATED")


def test_second_signup_with_the_same_email_is_refused(base_url: str, player: Player) -> None:
    again = _post(base_url, "/v1/auth/signup",
                  {"email": f"  {player.email.upper()} ", "password": player.password, "displayName": "Twin"})
    assert_envelope(again, 409, "EMAIL_TAKEN")


def test_wrong_password_and_unknown_email_answer_alike(base_url: str, player: Player) -> None:
    wrong = _post(base_url, "/v1/auth/login", {"email": player.email, "password": "not the password at all"})
    unknown = _post(base_url, "/v1/auth/login", {"email": "nobody-at-all@example.com", "password": player.password})
    assert_envelope(wrong, 401, "INVALID_CREDENTIALS")
    assert_envelope(unknown, 401, "INVALID_CREDENTIALS")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


# ---------------------------------------------------------------------------------------------------- the gateway
def test_unknown_route_is_a_not_found_envelope(base_url: str) -> None:
    assert_envelope(requests.get(f"{base_url}/v1/no-such-thing", timeout=TIMEOUT), 404, "NOT_FOUND")
    assert_envelope(requests.get(f"{base_url}/", timeout=TIMEOUT), 404, "NOT_FOUND")


def test_wrong_method_is_an_envelope(base_url: str, player: Player) -> None:
    """API Gateway (REST) has no 405: a method missing on a resource is MISSING_AUTHENTICATION_TOKEN, which
    template.yaml shapes as 404 NOT_FOUND."""
    answer = requests.delete(f"{base_url}/v1/me", headers=player.auth, timeout=TIMEOUT)
    assert_envelope(answer, 404, "NOT_FOUND")


def test_malformed_json_is_a_bad_request_envelope(base_url: str) -> None:
    answer = requests.post(f"{base_url}/v1/auth/login", data=b'{"email": ', timeout=TIMEOUT,
                           headers={"Content-Type": "application/json"})
    assert_envelope(answer, 400, "BAD_REQUEST")


def test_validation_failure_names_the_fields(base_url: str) -> None:
    answer = _post(base_url, "/v1/auth/signup", {"email": "x@example.com", "password": 12, "extra": True})
    error = assert_envelope(answer, 422, "VALIDATION_FAILED")
    assert {"password", "extra", "displayName"} <= set(error["details"]["fields"]), error


# ---------------------------------------------------------------------------------------------------- bad tokens
def _claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _sign(claims: dict[str, Any], key: str = SIGNING_KEYS["e2e1"], kid: str = "e2e1") -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'e2e1'})}.{part(claims)}."


def _bad_tokens(player: Player) -> dict[str, str]:
    claims = _claims_of(player.access_token)
    now = int(time.time())
    return {
        "garbage": "not-a-jwt",
        "forged (another key)": _sign(claims, key="f" * 48),
        "unknown kid": _sign(claims, kid="nope"),
        "alg none": _unsigned(claims),
        "expired": _sign({**claims, "iat": now - 3600, "exp": now - 1800}),
        "wrong audience": _sign({**claims, "aud": "someone-else"}),
        "wrong issuer": _sign({**claims, "iss": "https://evil.example"}),
        "refresh token as access token": player.refresh_token,
    }


def test_the_well_signed_control_token_works(base_url: str, player: Player) -> None:
    """The bad-token tests below mean something only if a token made the same way, unchanged, is accepted."""
    control = _sign(_claims_of(player.access_token))
    assert _me(base_url, control).status_code == 200


def test_missing_and_bad_tokens_are_refused_by_the_authorizer(base_url: str, player: Player) -> None:
    assert_envelope(_me(base_url, None), 401, "UNAUTHENTICATED")
    for name, token in _bad_tokens(player).items():
        answer = _me(base_url, token)
        assert answer.status_code == 401, f"{name}: {answer.status_code} {answer.text}"
        assert_envelope(answer, 401, "UNAUTHENTICATED")


def test_bad_tokens_are_refused_on_routes_where_a_token_is_optional(base_url: str, player: Player) -> None:
    anonymous = requests.get(f"{base_url}/v1/contests", timeout=TIMEOUT)
    assert anonymous.status_code == 200, anonymous.text
    for name, token in _bad_tokens(player).items():
        answer = requests.get(f"{base_url}/v1/contests", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
        assert answer.status_code == 401, f"{name}: {answer.status_code} {answer.text}"
        assert_envelope(answer, 401, "UNAUTHENTICATED")


def test_every_answer_carries_its_request_id(base_url: str, player: Player) -> None:
    answers = [
        requests.get(f"{base_url}/v1/health", timeout=TIMEOUT),
        _me(base_url, player.access_token),
        _me(base_url, None),
        requests.get(f"{base_url}/v1/nope", timeout=TIMEOUT),
        _post(base_url, "/v1/auth/login", {"email": player.email}),
    ]
    ids = [request_id_of(answer) for answer in answers]
    assert all(ids), [dict(answer.headers) for answer in answers]
    assert len(set(ids)) == len(ids), "request ids must be unique"
    for answer in answers:
        assert answer.headers.get("x-amzn-RequestId") == request_id_of(answer)
