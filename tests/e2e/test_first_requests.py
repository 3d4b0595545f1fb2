"""The first requests a freshly started stack gets, all at once (what a black-box suite does right after `make dev`
opens its port): every function's first invocation, concurrent with the others, answers without a 5xx, and every
answer is the answer to its own request.

Handlers run in-process in the gateway's request threads, so a module-level singleton, a lazily built cache or a
router that keeps "the current request" in shared state is raced here (Lambda runs one invocation at a time per
container; the local stack does not). This module starts a stack of its own, so its requests are the first; it runs
before the session's shared stack starts (tests/e2e/conftest.py orders it first), so two stacks never run at once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.client import ADMIN_EMAIL, ADMIN_PASSWORD, PLAYER_PASSWORD, STACK_ENV, TIMEOUT

FRESH_STACK = True  # tests/e2e/conftest.py runs modules that say so before any other e2e module
DEMO_PLAYERS = ("ava@example.com", "ben@example.com", "chloe@example.com", "dev@example.com")
DEMO_PASSWORD = "local-demo-password"  # infra/seed_demo.py's default
PUBLIC_SLUGS = ("weekly-tech-sprint", "open-market-marathon", "last-month-classic", "paid-pro-league")
WAVES = 3


@dataclass(frozen=True)
class Probe:
    """One request and what its own answer must show."""

    name: str
    send: Callable[[requests.Session, str], requests.Response]
    check: Callable[[requests.Response], bool]


@pytest.fixture(scope="module")
def fresh_stack() -> Iterator[Any]:
    from infra.local.harness import running_stack

    with running_stack(env_overrides=STACK_ENV) as running:
        yield running


def _login(email: str, password: str) -> Probe:
    return Probe(
        f"login {email}",
        lambda s, base: s.post(f"{base}/v1/auth/login", json={"email": email, "password": password}, timeout=TIMEOUT),
        lambda r: r.status_code == 200 and r.json()["user"]["email"] == email,
    )


def _signup() -> Probe:
    email = f"first-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PLAYER_PASSWORD, "displayName": "First"}
    return Probe(
        f"signup {email}",
        lambda s, base: s.post(f"{base}/v1/auth/signup", json=body, timeout=TIMEOUT),
        lambda r: r.status_code == 201 and r.json()["user"]["email"] == email,
    )


def _contest(slug: str) -> Probe:
    return Probe(
        f"contest {slug}",
        lambda s, base: s.get(f"{base}/v1/contests/{slug}", timeout=TIMEOUT),
        lambda r: r.status_code == 200 and r.json()["slug"] == slug,
    )


def _get(path: str, status: int, key: str, headers: dict[str, str] | None = None) -> Probe:
    return Probe(
        f"GET {path}",
        lambda s, base: s.get(f"{base}{path}", headers=headers or {}, timeout=TIMEOUT),
        lambda r: r.status_code == status and key in r.json(),
    )


def _wave() -> list[Probe]:
    """Sixteen-odd requests over seven functions (auth, contests, leaderboard, health, stocks, the authorizer)."""
    bogus = {"Authorization": "Bearer not.a.token"}
    return [
        _login(ADMIN_EMAIL, ADMIN_PASSWORD),
        *(_login(email, DEMO_PASSWORD) for email in DEMO_PLAYERS),
        _signup(),
        _signup(),
        *(_contest(slug) for slug in PUBLIC_SLUGS),
        _get("/v1/contests", 200, "items"),
        _get("/v1/health", 200, "checks"),
        _get("/v1/market/clock", 200, "isOpen"),
        _get("/v1/contests/open-market-marathon/leaderboard", 200, "items"),
        _get("/v1/me", 401, "error", bogus),
        _get("/v1/stocks?q=AA", 401, "error", bogus),
    ]


def _fire_at_once(base_url: str, probes: list[Probe]) -> list[tuple[str, int, bool, str]]:
    start = threading.Barrier(len(probes))

    def one(probe: Probe) -> tuple[str, int, bool, str]:
        with requests.Session() as session:
            start.wait()
            answer = probe.send(session, base_url)
        try:
            matched = probe.check(answer)
        except (ValueError, KeyError, TypeError):
            matched = False
        return probe.name, answer.status_code, matched, answer.text[:300]

    with ThreadPoolExecutor(len(probes)) as pool:
        return list(pool.map(one, probes))


def test_concurrent_first_requests_answer_each_request_and_never_5xx(fresh_stack: Any) -> None:
    answers: list[tuple[str, int, bool, str]] = []
    for _ in range(WAVES):  # the first wave meets every cold import; later ones, warm state raced again
        answers += _fire_at_once(fresh_stack.base_url, _wave())

    assert len(answers) == WAVES * len(_wave())
    server_errors = [answer for answer in answers if answer[1] >= 500]
    assert server_errors == [], f"5xx answers; the stack's log: {fresh_stack.log_path}"
    wrong = [answer for answer in answers if not answer[2]]
    assert wrong == [], "answers that are not the answer to their own request"
