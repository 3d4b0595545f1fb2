"""Account self-service in-process (moto): PATCH /v1/me, password change, password reset by emailed token."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from functions import account, auth
from tests.support.events import Caller, HttpAnswer
from tests.unit.admin.support import PASSWORD, Crowd, admin_call, login, refresh, route

NEW_PASSWORD = "a much better passphrase"
AVA = "ava.stone@example.com"


def caller_of(answer: HttpAnswer) -> Caller:
    claims = jwt.decode(answer.body["accessToken"], options={"verify_signature": False})
    return Caller(user_id=claims["sub"], role=claims["role"], session_id=claims["sid"])


def patch_me(caller: Caller, body: Any) -> HttpAnswer:
    return route(account.update_me, "PATCH", "/v1/me", caller=caller, body=body)


def change_password(caller: Caller, current: str, new: str) -> HttpAnswer:
    return route(account.change_password, "POST", "/v1/auth/password", caller=caller,
                 body={"currentPassword": current, "newPassword": new})


def request_reset(email: str, ip: str = "198.51.100.7") -> HttpAnswer:
    return route(account.request_password_reset, "POST", "/v1/auth/password-reset", body={"email": email},
                 source_ip=ip)


def confirm(token: str, new: str = NEW_PASSWORD) -> HttpAnswer:
    return route(account.confirm_password_reset, "POST", "/v1/auth/password-reset/confirm",
                 body={"token": token, "newPassword": new})


@pytest.fixture
def mail_queue(crowd: Crowd) -> Any:
    """The event bus with a rule sending PasswordResetRequested to a queue, as the notifications capability will."""
    import boto3
    from tickerleague.config import settings

    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name=settings().event_bus_name)
    queue_url = sqs.create_queue(QueueName="resets")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="resets", EventBusName=settings().event_bus_name,
                    EventPattern=json.dumps({"detail-type": ["PasswordResetRequested"]}))
    events.put_targets(Rule="resets", EventBusName=settings().event_bus_name, Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return received


# ---------------------------------------------------------------------------------------------------- PATCH /v1/me
def test_patch_me_changes_display_name_and_preferences(crowd: Crowd) -> None:
    answer = patch_me(crowd.ava.caller, {"displayName": "  Ava S.  "})
    assert answer.status == 200
    assert answer.body["displayName"] == "Ava S." and answer.body["emailPreferences"] == {"contestReminders": True}
    answer = patch_me(crowd.ava.caller, {"emailPreferences": {"contestReminders": False}})
    assert answer.body["emailPreferences"] == {"contestReminders": False} and answer.body["displayName"] == "Ava S."
    me = route(auth.me, "GET", "/v1/me", caller=crowd.ava.caller)
    assert me.body["displayName"] == "Ava S." and me.body["emailPreferences"] == {"contestReminders": False}
    assert patch_me(crowd.ava.caller, {}).body["displayName"] == "Ava S."
    from functions import admin

    by_new_name = admin_call(admin.list_users, "GET", "/v1/admin/users", crowd, query={"query": "ava s."})
    assert [user["id"] for user in by_new_name.body["items"]] == [crowd.ava.user_id]
    by_old_name = admin_call(admin.list_users, "GET", "/v1/admin/users", crowd, query={"query": "ava stone"})
    assert by_old_name.body["items"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"displayName": ""}, "displayName"),
    ({"displayName": "x" * 51}, "displayName"),
    ({"displayName": "bad\u202ename"}, "displayName"),
    ({"displayName": 5}, "displayName"),
    ({"emailPreferences": {"contestReminders": "no"}}, "emailPreferences.contestReminders"),
    ({"emailPreferences": {}}, "emailPreferences.contestReminders"),
    ({"emailPreferences": {"contestReminders": True, "marketing": True}}, "emailPreferences.marketing"),
    ({"role": "admin"}, "role"),
    ({"email": "new@example.com"}, "email"),
])
def test_patch_me_refuses_bad_fields(crowd: Crowd, body: dict[str, Any], field: str) -> None:
    answer = patch_me(crowd.ava.caller, body)
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED")
    assert field in answer.body["error"]["details"]["fields"]


# ---------------------------------------------------------------------------------------------------- password
def test_change_password_keeps_this_session_and_revokes_the_others(crowd: Crowd) -> None:
    mine, other = login(AVA), login(AVA)
    answer = change_password(caller_of(mine), PASSWORD, NEW_PASSWORD)
    assert (answer.status, answer.body) == (204, None)
    assert refresh(other.body["refreshToken"]).status == 401
    assert refresh(mine.body["refreshToken"]).status == 200
    assert login(AVA).error_code == "INVALID_CREDENTIALS"
    assert login(AVA, NEW_PASSWORD).status == 200
    from tickerleague.adapters.dynamodb.audit import AuditItem

    events = list(AuditItem.gsi4.query("AUDIT#ACTION#auth.password_changed"))
    assert len(events) == 1 and events[0].target_id == crowd.ava.user_id
    assert PASSWORD not in json.dumps(events[0].attribute_values, default=str)


def test_change_password_wrong_current_and_weak_new(crowd: Crowd) -> None:
    caller = caller_of(login(AVA))
    wrong = change_password(caller, "not my password", NEW_PASSWORD)
    assert (wrong.status, wrong.error_code) == (401, "INVALID_CREDENTIALS")
    for weak in ("short", "password123", AVA):
        answer = change_password(caller, PASSWORD, weak)
        assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED"), weak
        assert "newPassword" in answer.body["error"]["details"]["fields"]
    missing = route(account.change_password, "POST", "/v1/auth/password", caller=caller,
                    body={"newPassword": NEW_PASSWORD})
    assert missing.status == 422 and "currentPassword" in missing.body["error"]["details"]["fields"]
    assert login(AVA).status == 200


def test_wrong_current_passwords_count_as_failed_logins(crowd: Crowd) -> None:
    """A stolen access token buys no more guesses than the login form: the per-email limit (5) applies."""
    caller = caller_of(login(AVA))
    answers = [change_password(caller, f"guess number {number}", NEW_PASSWORD) for number in range(6)]
    assert [answer.status for answer in answers] == [401] * 5 + [429]
    assert answers[-1].error_code == "TOO_MANY_ATTEMPTS" and "Retry-After" in answers[-1].headers
    assert login(AVA).error_code == "TOO_MANY_ATTEMPTS"
    from functions import admin

    story = admin_call(admin.list_audit, "GET", "/v1/admin/audit", crowd,
                       query={"targetId": crowd.ava.user_id, "action": "auth.login_failed"})
    assert len(story.body["items"]) == 5


# ---------------------------------------------------------------------------------------------------- reset
def test_reset_answers_202_for_known_and_unknown_emails_and_mails_a_token_once(crowd: Crowd,
                                                                                mail_queue: Any) -> None:
    known, unknown = request_reset("  AVA.stone@example.com"), request_reset("nobody@example.com")
    assert (known.status, known.body) == (202, None)
    assert (unknown.status, unknown.body) == (202, None)
    messages = mail_queue()
    assert [message["detail-type"] for message in messages] == ["PasswordResetRequested"]
    detail = messages[0]["detail"]
    assert messages[0]["source"] == "tickerleague.auth"
    assert set(detail) == {"userId", "resetId", "token", "expiresAt", "metadata"}
    assert detail["userId"] == crowd.ava.user_id
    assert set(detail["metadata"]) == {"correlationId"}  # the request's id, nothing else (no secret in metadata)
    token = detail["token"]

    import boto3
    from tickerleague.config import settings

    everything = json.dumps(boto3.client("dynamodb", region_name="us-east-1").scan(
        TableName=settings().table_name)["Items"])
    assert token not in everything  # stored only as its hash

    old_session = login(AVA)
    assert confirm(token).status == 204
    assert refresh(old_session.body["refreshToken"]).status == 401  # every session revoked
    assert login(AVA, NEW_PASSWORD).status == 200
    again = confirm(token, "yet another passphrase")
    assert (again.status, again.error_code) == (400, "INVALID_TOKEN")
    unknown_token = confirm("x" * 43)
    assert (unknown_token.status, unknown_token.error_code) == (400, "INVALID_TOKEN")
    from functions import admin

    story = admin_call(admin.list_audit, "GET", "/v1/admin/audit", crowd,
                       query={"targetId": crowd.ava.user_id, "action": "auth.password_reset"})
    assert [event["action"] for event in story.body["items"]] == ["auth.password_reset"]
    assert token not in json.dumps(story.body)


def test_reset_token_expires_after_30_minutes(crowd: Crowd, mail_queue: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from tickerleague.clock import utcnow

    request_reset(AVA)
    token = mail_queue()[0]["detail"]["token"]
    later = utcnow() + timedelta(minutes=30, seconds=1)
    monkeypatch.setattr("functions.account.utcnow", lambda: later)
    expired = confirm(token)
    assert (expired.status, expired.error_code) == (400, "INVALID_TOKEN")
    monkeypatch.setattr("functions.account.utcnow", lambda: later - timedelta(seconds=30))
    weak = confirm(token, "short")
    assert (weak.status, weak.error_code) == (422, "VALIDATION_FAILED")
    assert confirm(token).status == 204


def test_reset_flood_is_throttled_like_logins_for_known_and_unknown_emails(crowd: Crowd) -> None:
    for email in (AVA, "nobody@example.com"):
        answers = [request_reset(email, ip=f"203.0.113.{number}") for number in range(6)]
        assert [answer.status for answer in answers] == [202] * 5 + [429], email
        assert answers[-1].error_code == "TOO_MANY_ATTEMPTS" and "Retry-After" in answers[-1].headers
    assert login(AVA).status == 200  # resets have counters of their own


def test_reset_takes_the_same_minimum_time_known_or_not(crowd: Crowd, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from tickerleague.config import settings

    monkeypatch.setenv("PASSWORD_RESET_MIN_MILLISECONDS", "200")
    settings.cache_clear()
    for email in (AVA, "nobody@example.com"):
        started = time.monotonic()
        assert request_reset(email).status == 202
        assert time.monotonic() - started >= 0.2
