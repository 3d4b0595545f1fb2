"""The whole local stack for end-to-end tests: one per session, on free ports, DynamoDB Local in memory.

It runs in a subprocess (infra.local.harness.running_stack), so its moto state and imported handlers stay out of
this process. Tests reach it over real HTTP only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.client import ADMIN_EMAIL, ADMIN_PASSWORD, STACK_ENV, Player, log_in, sign_up


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
    # A module with FRESH_STACK = True starts a stack of its own (its requests must be the stack's first): it runs
    # before every other e2e test, so its stack has stopped before the session's shared one starts.
    fresh = [item for item in items if getattr(item.module, "FRESH_STACK", False)]
    if fresh:
        first = next(index for index, item in enumerate(items) if here in Path(str(item.fspath)).parents)
        rest = [item for item in items if item not in fresh]
        items[:] = rest[:first] + fresh + rest[first:]


@pytest.fixture(scope="session")
def local_stack() -> Iterator[Any]:
    from infra.local.harness import running_stack

    with running_stack(env_overrides=STACK_ENV) as running:
        yield running


@pytest.fixture(scope="session")
def base_url(local_stack: Any) -> str:
    return str(local_stack.base_url)


@pytest.fixture(scope="session")
def player(base_url: str) -> Player:
    """A fresh player signed up once for the session."""
    return sign_up(base_url)


@pytest.fixture(scope="session")
def admin(base_url: str) -> Player:
    """The seeded local admin (LOCAL_ADMIN_EMAIL / LOCAL_ADMIN_PASSWORD), signed in."""
    body = log_in(base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert body["user"]["role"] == "admin", body
    return Player(ADMIN_EMAIL, ADMIN_PASSWORD, body["user"]["id"], body["accessToken"], body["refreshToken"])
