"""Talking to the local stack in e2e tests: who we are, how we sign in, what every answer must look like."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import requests

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "e2e-admin-password-2026"
PLAYER_PASSWORD = "e2e player password 42"
# Known signing keys, so tests can make tokens that are well signed but wrong in another way (audience, expiry).
SIGNING_KEYS = {"current": "e2e1", "e2e1": "e" * 48}
STACK_ENV = {
    "LOCAL_SCHEDULE_RATE_SECONDS": "2",
    "LOCAL_ADMIN_EMAIL": ADMIN_EMAIL,
    "LOCAL_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "JWT_SIGNING_KEYS": json.dumps(SIGNING_KEYS),
    "ARGON2_TIME_COST": "1",  # fast hashing; production parameters are unit-tested
    "ARGON2_MEMORY_KIB": "8192",
    # Every test request comes from 127.0.0.1, and schemathesis sends many bad logins: keep the per-client login
    # throttle out of the way (the per-email one stays; both are unit-tested).
    "LOGIN_MAX_FAILURES_PER_IP": "1000000",
    # Rate limits: the order bucket keeps the contract's numbers (test_retry_safety trips it). The seeded admin serves
    # the whole session (every admin route of schemathesis, every contest of the other tests), far past 120 requests
    # at 10 per second: the per-user bucket of every other route is out of the way here (it is tested on DynamoDB
    # Local). The per-IP bucket is the local stack's own 10x (infra/local/stack.py).
    "RATE_LIMIT_USER_BURST": "1000000",
    "RATE_LIMIT_USER_PER_SECOND": "100000",
}
TIMEOUT = 30


@dataclass(frozen=True)
class Player:
    email: str
    password: str
    user_id: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "player") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(base_url: str, email: str | None = None, password: str = PLAYER_PASSWORD) -> Player:
    address = email or unique_email()
    answer = requests.post(f"{base_url}/v1/auth/signup", timeout=TIMEOUT,
                           json={"email": address, "password": password, "displayName": "E2E Player"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return Player(address, password, body["user"]["id"], body["accessToken"], body["refreshToken"])


def log_in(base_url: str, email: str, password: str) -> dict[str, Any]:
    answer = requests.post(f"{base_url}/v1/auth/login", json={"email": email, "password": password}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def request_id_of(answer: requests.Response) -> str | None:
    """The request id header: X-Request-Id from the handlers; API Gateway's own answers (no route, authorizer
    denial, throttling: they carry `x-amzn-ErrorType`) have only `x-amzn-RequestId`."""
    if "x-amzn-ErrorType" in answer.headers:
        return answer.headers.get("X-Request-Id") or answer.headers.get("x-amzn-RequestId")
    return answer.headers.get("X-Request-Id")


def assert_envelope(answer: requests.Response, status: int, *codes: str) -> dict[str, Any]:
    """The answer is an error envelope with this status, one of these codes, and the request id of its header."""
    assert answer.status_code == status, f"expected {status}, got {answer.status_code}: {answer.text}"
    assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.headers
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "requestId"} <= set(error) <= {"code", "message", "details", "requestId"}, error
    if codes:
        assert error["code"] in codes, f"expected {codes}, got {error}"
    assert error["message"] and isinstance(error["message"], str)
    assert error["requestId"] == request_id_of(answer), (error, dict(answer.headers))
    return dict(error)
