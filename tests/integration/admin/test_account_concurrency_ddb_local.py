"""Suspension and password reset against DynamoDB Local (moto is no concurrency oracle).

- A suspension is ONE transaction: the user's status and revocation marker with the audit event; every session
  the user had is dead afterwards, however many.
- A reset token is single-use: many simultaneous confirmations, exactly one succeeds.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


@pytest.fixture
def people(ddb_table: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from tickerleague.config import settings
    from tickerleague.services import auth
    from tickerleague.services.principals import clear_cache

    monkeypatch.setenv("PASSWORD_RESET_MIN_MILLISECONDS", "0")
    settings.cache_clear()
    clear_cache()
    now = datetime.now(UTC)
    return {"admin": auth.signup("root@example.com", PASSWORD, "Root", now, role="admin"),
            "ava": auth.signup("ava@example.com", PASSWORD, "Ava", now)}


def test_suspension_is_one_transaction_that_kills_every_session(people: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from pynamodb.connection.base import Connection
    from tickerleague.http.principal import Principal
    from tickerleague.services import admin_users, auth
    from tickerleague.services.audit import RequestOrigin

    ava = people["ava"].user
    sessions = [auth.login("ava@example.com", PASSWORD, "192.0.2.1", RequestOrigin(), datetime.now(UTC))
                for _ in range(5)]
    writes: list[str] = []
    for name in ("transact_write_items", "update_item", "put_item", "delete_item", "get_item", "query",
                 "batch_get_item"):
        original = getattr(Connection, name)

        def counting(self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            writes.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Connection, name, counting)
    actor = Principal(user_id=people["admin"].user.id, role="admin", session_id="s")
    suspended = admin_users.suspend(actor, ava.id, "fraud", RequestOrigin("req-1", "192.0.2.9"), datetime.now(UTC))
    assert suspended.status == "suspended"
    assert writes == ["get_item", "transact_write_items"]  # 1 read + 1 transaction, however many sessions
    monkeypatch.undo()

    from tickerleague.adapters.dynamodb.audit import AuditItem
    from tickerleague.errors import DomainError

    events = list(AuditItem.gsi1.query(AuditItem.target_partition(ava.id)))
    assert [event.action for event in events] == ["user.suspended"]
    for session in [people["ava"], *sessions]:
        with pytest.raises(DomainError):
            auth.refresh(session.refresh_token, RequestOrigin(), datetime.now(UTC))
    admin_users.reinstate(actor, ava.id, None, RequestOrigin(), datetime.now(UTC))
    for session in [people["ava"], *sessions]:
        with pytest.raises(DomainError):
            auth.refresh(session.refresh_token, RequestOrigin(), datetime.now(UTC))
    fresh = auth.login("ava@example.com", PASSWORD, "192.0.2.1", RequestOrigin(), datetime.now(UTC))
    assert auth.refresh(fresh.refresh_token, RequestOrigin(), datetime.now(UTC)).user.status == "active"


def test_concurrent_suspensions_of_one_user_succeed_once(people: dict[str, Any]) -> None:
    from tickerleague.errors import Conflict
    from tickerleague.http.principal import Principal
    from tickerleague.services import admin_users
    from tickerleague.services.audit import RequestOrigin

    actor = Principal(user_id=people["admin"].user.id, role="admin", session_id="s")
    barrier = threading.Barrier(8)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            admin_users.suspend(actor, people["ava"].user.id, "race", RequestOrigin(), datetime.now(UTC))
            return "ok"
        except Conflict as error:
            return error.code

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("ok") == 1 and set(outcomes) <= {"ok", "INVALID_STATE_TRANSITION"}
    from tickerleague.adapters.dynamodb.audit import AuditItem

    events = list(AuditItem.gsi1.query(AuditItem.target_partition(people["ava"].user.id)))
    assert len(events) == 1  # no event without its change


def test_a_reset_token_works_once_under_concurrency(people: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.adapters import events, passwords
    from tickerleague.adapters.dynamodb.users import get_user
    from tickerleague.errors import InvalidToken
    from tickerleague.services import account
    from tickerleague.services.audit import RequestOrigin

    published: list[dict[str, Any]] = []
    # The event bus is the notifications capability's; here it is a list, so the token can be read back.
    monkeypatch.setattr(events, "publish", lambda detail_type, detail, source="": published.append(detail))
    account.request_reset("ava@example.com", "192.0.2.1", RequestOrigin(), datetime.now(UTC))
    token = published[0]["token"]
    barrier = threading.Barrier(10)

    def attempt(number: int) -> str:
        barrier.wait()
        try:
            account.confirm_reset(token, f"new passphrase number {number}", RequestOrigin(), datetime.now(UTC))
            return f"ok {number}"
        except InvalidToken as error:
            return error.code

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    winners = [outcome for outcome in outcomes if outcome.startswith("ok")]
    assert len(winners) == 1 and outcomes.count("INVALID_TOKEN") == 9, outcomes
    user = get_user(people["ava"].user.id, consistent=True)
    assert user is not None
    assert passwords.verify_password(user.password_hash, f"new passphrase number {winners[0].split()[1]}")
    from tickerleague.adapters.dynamodb.audit import AuditItem

    resets = list(AuditItem.gsi4.query(AuditItem.action_partition("auth.password_reset")))
    assert len(resets) == 1
