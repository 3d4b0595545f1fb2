"""Admin routes in-process (moto): user search and reading, suspension and reinstatement, a contest's entries."""

from __future__ import annotations

import pytest

from functions import admin
from tests.support.admin import Crowd, admin_call, login, refresh, route
from tests.unit.contests.helpers import create, force_status, join

USERS = "/v1/admin/users"
USER = "/v1/admin/users/{userId}"
SUSPEND = "/v1/admin/users/{userId}/suspend"
REINSTATE = "/v1/admin/users/{userId}/reinstate"
ENTRIES = "/v1/admin/contests/{contestId}/entries"


def suspend(crowd: Crowd, user_id: str, body: object = None) -> object:
    return admin_call(admin.suspend_user, "POST", SUSPEND, crowd, params={"userId": user_id},
                      body={"reason": "chargeback fraud"} if body is None else body)


def reinstate(crowd: Crowd, user_id: str, body: object = None) -> object:
    return admin_call(admin.reinstate_user, "POST", REINSTATE, crowd, params={"userId": user_id}, body=body)


def test_search_by_email_prefix_and_display_name_prefix_newest_first(crowd: Crowd) -> None:
    by_email = admin_call(admin.list_users, "GET", USERS, crowd, query={"query": "AVA."})
    assert by_email.status == 200
    assert [user["email"] for user in by_email.body["items"]] == ["ava.stone@example.com"]
    assert by_email.body["items"][0]["emailPreferences"] == {"contestReminders": True}
    by_name = admin_call(admin.list_users, "GET", USERS, crowd, query={"query": "benj"})
    assert [user["id"] for user in by_name.body["items"]] == [crowd.ben.user_id]
    everyone = admin_call(admin.list_users, "GET", USERS, crowd)
    assert [user["id"] for user in everyone.body["items"]] == [crowd.ben.user_id, crowd.ava.user_id,
                                                               crowd.admin.user_id]
    assert everyone.body["nextCursor"] is None
    blank = admin_call(admin.list_users, "GET", USERS, crowd, query={"query": "   "})  # no prefix: everyone
    assert [user["id"] for user in blank.body["items"]] == [user["id"] for user in everyone.body["items"]]
    both = admin_call(admin.list_users, "GET", USERS, crowd, query={"query": "b"})  # ben@ and Benjamin: once
    assert [user["id"] for user in both.body["items"]] == [crowd.ben.user_id]


def test_user_list_pages_with_signed_cursors(crowd: Crowd) -> None:
    from tests.unit.contests.helpers import make_person

    for number in range(3):
        make_person(f"sam{number}@example.com", f"Sam {number}")
    for query in ({}, {"query": "sam"}):  # the index of everyone, and a prefix search
        first = admin_call(admin.list_users, "GET", USERS, crowd, query={**query, "limit": "2"})
        seen = [user["id"] for user in first.body["items"]]
        cursor = first.body["nextCursor"]
        assert cursor
        while cursor:
            page = admin_call(admin.list_users, "GET", USERS, crowd, query={**query, "limit": "2", "cursor": cursor})
            assert page.status == 200, page.body
            seen += [user["id"] for user in page.body["items"]]
            cursor = page.body["nextCursor"]
        expected = admin_call(admin.list_users, "GET", USERS, crowd, query=query or None).body["items"]
        assert seen == [user["id"] for user in expected] and len(seen) == len(set(seen))
        assert len(seen) == (6 if not query else 3)
    tampered = first.body["nextCursor"]
    answer = admin_call(admin.list_users, "GET", USERS, crowd, query={"query": "sam", "cursor": tampered[:-2] + "AA"})
    assert (answer.status, answer.error_code) == (400, "INVALID_CURSOR")
    other_list = admin_call(admin.list_users, "GET", USERS, crowd, query={"cursor": tampered})
    assert (other_list.status, other_list.error_code) == (400, "INVALID_CURSOR")


def test_status_filter_and_unknown_filters(crowd: Crowd) -> None:
    assert suspend(crowd, crowd.ava.user_id).status == 200
    suspended = admin_call(admin.list_users, "GET", USERS, crowd, query={"status": "suspended"})
    assert [user["id"] for user in suspended.body["items"]] == [crowd.ava.user_id]
    searched = admin_call(admin.list_users, "GET", USERS, crowd, query={"query": "ava", "status": "active"})
    assert searched.body["items"] == []
    unknown = admin_call(admin.list_users, "GET", USERS, crowd, query={"role": "admin"})
    assert (unknown.status, unknown.error_code) == (422, "VALIDATION_FAILED")
    assert "role" in unknown.body["error"]["details"]["fields"]


def test_get_user_and_unknown_user(crowd: Crowd) -> None:
    found = admin_call(admin.get_user, "GET", USER, crowd, params={"userId": crowd.ava.user_id})
    assert found.status == 200 and found.body["email"] == "ava.stone@example.com"
    missing = admin_call(admin.get_user, "GET", USER, crowd, params={"userId": "01HZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert (missing.status, missing.error_code) == (404, "NOT_FOUND")
    huge = admin_call(admin.get_user, "GET", USER, crowd, params={"userId": "x" * 3000})  # over a key's size
    assert (huge.status, huge.error_code) == (404, "NOT_FOUND")
    assert suspend(crowd, "01HZZZZZZZZZZZZZZZZZZZZZZZ").status == 404


def test_suspension_revokes_every_session_and_login_says_suspended(crowd: Crowd) -> None:
    session = login("ava.stone@example.com")
    assert session.status == 200
    answer = suspend(crowd, crowd.ava.user_id)
    assert answer.status == 200 and answer.body["status"] == "suspended"
    assert (login("ava.stone@example.com").error_code) == "ACCOUNT_SUSPENDED"
    assert refresh(session.body["refreshToken"]).status in (401, 403)
    from tickerleague.errors import DomainError
    from tickerleague.services.principals import authenticate, clear_cache

    clear_cache()  # what PRINCIPAL_STATUS_CACHE_SECONDS does in production
    with pytest.raises(DomainError):
        authenticate(f"Bearer {session.body['accessToken']}")

    back = reinstate(crowd, crowd.ava.user_id, {"reason": "appeal upheld"})
    assert back.status == 200 and back.body["status"] == "active"
    assert refresh(session.body["refreshToken"]).status == 401  # old sessions stay dead
    again = login("ava.stone@example.com")
    assert again.status == 200
    fresh = refresh(again.body["refreshToken"])  # a session started after the reinstatement lives
    assert fresh.status == 200, fresh.body
    # No cache clearing: the container remembers "suspended", but a token issued after that read is checked afresh.
    assert authenticate(f"Bearer {fresh.body['accessToken']}").user_id == crowd.ava.user_id
    with pytest.raises(DomainError):
        authenticate(f"Bearer {session.body['accessToken']}")


def test_suspension_rules(crowd: Crowd) -> None:
    myself = suspend(crowd, crowd.admin.user_id)
    assert (myself.status, myself.error_code) == (409, "INVALID_STATE_TRANSITION")
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}):
        answer = suspend(crowd, crowd.ava.user_id, body)
        assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED"), body
    assert suspend(crowd, crowd.ava.user_id, {"reason": "x" * 500}).status == 200
    twice = suspend(crowd, crowd.ava.user_id)
    assert (twice.status, twice.error_code) == (409, "INVALID_STATE_TRANSITION")
    active = reinstate(crowd, crowd.ben.user_id)
    assert (active.status, active.error_code) == (409, "INVALID_STATE_TRANSITION")
    player = route(admin.suspend_user, "POST", SUSPEND, caller=crowd.ben.caller, params={"userId": crowd.ava.user_id},
                   body={"reason": "no"})
    assert (player.status, player.error_code) == (403, "FORBIDDEN")


def test_suspend_and_reinstate_are_audited_with_reason_request_and_ip(crowd: Crowd) -> None:
    suspend(crowd, crowd.ava.user_id)
    reinstate(crowd, crowd.ava.user_id)
    story = admin_call(admin.list_audit, "GET", "/v1/admin/audit", crowd, query={"targetId": crowd.ava.user_id})
    assert story.status == 200
    events = story.body["items"]
    assert [event["action"] for event in events] == ["user.reinstated", "user.suspended"]  # newest first
    suspended = events[1]
    assert set(suspended) == {"id", "at", "actorId", "action", "targetType", "targetId", "before", "after",
                              "reason", "requestId", "sourceIp"}
    assert suspended["actorId"] == crowd.admin.user_id and suspended["targetType"] == "user"
    assert suspended["before"] == {"status": "active"} and suspended["after"] == {"status": "suspended"}
    assert suspended["reason"] == "chargeback fraud" and suspended["sourceIp"] == "198.51.100.7"
    assert suspended["requestId"] and suspended["at"].endswith("Z")
    assert events[0]["reason"] is None


def test_suspend_is_one_transaction_with_its_audit_event(crowd: Crowd, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the audit put fails, the suspension does not happen (no change without its event)."""
    from tickerleague.adapters.dynamodb import admin_users
    from tickerleague.adapters.dynamodb.audit import AuditItem
    from tickerleague.adapters.dynamodb.users import get_user

    taken = AuditItem.new(audit_id="01J00000000000000000000000", at="2026-01-01T00:00:00Z",
                          actor_id=crowd.admin.user_id, action="x", target_type="user", target_id="x", before=None,
                          after=None, request_id=None, source_ip=None)
    taken.save()
    monkeypatch.setattr("tickerleague.services.audit.new_ulid", lambda: "01J00000000000000000000000")
    with pytest.raises(admin_users.StatusChanged):
        from tickerleague.adapters.dynamodb.users import get_user as read

        user = read(crowd.ava.user_id)
        assert user is not None
        from tickerleague.services import audit

        event = audit.event(actor_id=crowd.admin.user_id, action="user.suspended", target_type="user",
                            target_id=user.user_id, origin=audit.RequestOrigin())
        admin_users.change_status(user, expected="active", status="suspended", reason="r", updated_at="now",
                                  audit=event, revoke_before=(1, 1000))
    after = get_user(crowd.ava.user_id, consistent=True)
    assert after is not None and after.status == "active"


def test_contest_entries_with_user_and_payment(crowd: Crowd) -> None:
    contest = create(crowd.admin).body
    force_status(contest["id"], "scheduled")
    assert join(crowd.ava, contest["id"]).status == 201
    assert join(crowd.ben, contest["id"]).status == 201
    answer = admin_call(admin.list_contest_entries, "GET", ENTRIES, crowd, params={"contestId": contest["id"]})
    assert answer.status == 200, answer.body
    rows = answer.body["items"]
    assert [row["userId"] for row in rows] == [crowd.ava.user_id, crowd.ben.user_id]  # by joinedAt
    assert set(rows[0]) == {"id", "contestId", "userId", "status", "cash", "joinedAt", "user", "payment"}
    assert rows[0]["user"] == {"id": crowd.ava.user_id, "email": "ava.stone@example.com", "displayName": "Ava Stone"}
    assert rows[0]["payment"] is None and rows[0]["cash"] == "100000.00" and rows[0]["status"] == "active"
    assert answer.body["nextCursor"] is None

    _add_payment(contest["id"], crowd.ben.user_id)
    paged = admin_call(admin.list_contest_entries, "GET", ENTRIES, crowd, params={"contestId": contest["id"]},
                       query={"limit": "1"})
    assert [row["userId"] for row in paged.body["items"]] == [crowd.ava.user_id]
    second = admin_call(admin.list_contest_entries, "GET", ENTRIES, crowd, params={"contestId": contest["id"]},
                        query={"limit": "1", "cursor": paged.body["nextCursor"]})
    assert [row["userId"] for row in second.body["items"]] == [crowd.ben.user_id]
    assert second.body["items"][0]["payment"] == {"paymentIntentId": "pi_123", "status": "succeeded",
                                                  "amount": "10.00", "currency": "usd", "refundedAmount": None}
    filtered = admin_call(admin.list_contest_entries, "GET", ENTRIES, crowd, params={"contestId": contest["id"]},
                          query={"status": "refunded"})
    assert filtered.body["items"] == []
    missing = admin_call(admin.list_contest_entries, "GET", ENTRIES, crowd, params={"contestId": "nope"})
    assert (missing.status, missing.error_code) == (404, "NOT_FOUND")
    foreign = admin_call(admin.list_contest_entries, "GET", ENTRIES, crowd, params={"contestId": contest["id"]},
                         query={"cursor": paged.body["nextCursor"], "status": "active"})
    assert (foreign.status, foreign.error_code) == (400, "INVALID_CURSOR")


def _add_payment(contest_id: str, user_id: str) -> None:
    """The payment attributes as the payments capability writes them on the entry item."""
    from tickerleague.adapters.dynamodb.entries import entry_key
    from tickerleague.adapters.dynamodb.plumbing import client, to_attribute_map
    from tickerleague.config import settings

    client().update_item(
        TableName=settings().table_name, Key=to_attribute_map(entry_key(contest_id, user_id)),
        UpdateExpression="SET paymentIntentId = :pi, paymentStatus = :st, paymentAmount = :am, paymentCurrency = :cu",
        ExpressionAttributeValues=to_attribute_map({":pi": "pi_123", ":st": "succeeded", ":am": "10.00",
                                                    ":cu": "usd"}))
