"""The sender against replayed SendGrid answers (202, 429 with rate-limit headers, 500, 400, no answer) on a moto
table: what it sends, what it retries and when, what it records, and that the marker allows one email."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import notifications as store
from tickerleague.domain.notifications import Kind
from tickerleague.services import notifications
from tickerleague.services.notifications import RetryLater, SenderPorts, handle_message

from tests.support.emf import MetricsCapture
from tests.unit.notifications.conftest import API_KEY, FakeQueue
from tests.unit.notifications.support import (
    ACCEPTED,
    BAD_ADDRESS,
    SERVER_ERROR,
    Recorded,
    ReplayServer,
    make_contest,
    put_user,
    rate_limited,
    seed_entries,
)

pytestmark = pytest.mark.usefixtures("sendgrid_key")


def _event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": "ev-1", "detail-type": detail_type, "source": "tickerleague.auth",
            "detail": detail}


def _reset(user_id: str = "u1", reset_id: str = "r1") -> dict[str, Any]:
    return _event("PasswordResetRequested", {"userId": user_id, "resetId": reset_id, "token": "tok-secret",
                                             "expiresAt": "2026-12-01T15:00:00Z"})


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


NOW = 1_800_000_000.0


def _ports(sleeps: Sleeps | None = None, queue: FakeQueue | None = None) -> SenderPorts:
    return SenderPorts(sleep=sleeps or Sleeps(), enqueue=queue or FakeQueue(), now=lambda: NOW)


def test_accepted_mail_is_a_dynamic_template_send_with_the_key_and_every_variable(
        sendgrid_replay: ReplayServer) -> None:
    put_user("u1", "ada@example.com", name="Ada")
    outcome = handle_message(_reset(), "m-1", _ports())
    assert outcome.sent == 1
    [request] = sendgrid_replay.requests
    assert request["path"] == "/v3/mail/send"
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    body = request["body"]
    assert body["template_id"] == "d-16"
    personalization = body["personalizations"][0]
    assert personalization["to"] == [{"email": "ada@example.com"}]
    data = personalization["dynamic_template_data"]
    assert data["resetUrl"] == "https://app.tickerleague.example/reset-password?token=tok-secret"
    assert data["displayName"] == "Ada" and data["expiresAt"] == "2026-12-01 15:00"
    assert body["custom_args"]["kind"] == "password_reset"
    marker = store.get_marker(store.marker_key("u1", Kind.PASSWORD_RESET, "r1"))
    assert marker is not None and marker["status"] == "sent" and marker["claimId"] == "m-1"


def test_a_duplicated_event_sends_one_email(sendgrid_replay: ReplayServer) -> None:
    put_user("u1", "ada@example.com")
    first = handle_message(_reset(), "m-1", _ports())
    again = handle_message(_reset(), "m-2", _ports())  # the same event delivered twice
    assert (first.sent, again.sent, again.skipped) == (1, 0, {"already_sent": 1})
    assert len(sendgrid_replay.requests) == 1
    # Another reset request is another email.
    assert handle_message(_reset(reset_id="r2"), "m-3", _ports()).sent == 1


def test_429_waits_as_the_rate_limit_headers_say_then_sends(sendgrid_replay: ReplayServer) -> None:
    put_user("u1", "ada@example.com")
    sendgrid_replay.queue(rate_limited(reset=int(NOW) + 2), ACCEPTED)
    sleeps = Sleeps()
    outcome = handle_message(_reset(), "m-1", _ports(sleeps))
    assert outcome.sent == 1 and len(sendgrid_replay.requests) == 2
    assert sleeps.calls == [2]  # until X-RateLimit-Reset


def test_429_with_a_long_reset_hands_the_wait_to_the_queue_and_the_retry_sends_once(
        sendgrid_replay: ReplayServer) -> None:
    put_user("u1", "ada@example.com")
    sendgrid_replay.queue(rate_limited(reset=int(NOW) + 60))
    with pytest.raises(RetryLater) as raised:
        handle_message(_reset(), "m-1", _ports())
    assert raised.value.delay_seconds == 60
    # The marker is still held by this message: its own redelivery may send, another message may not.
    assert handle_message(_reset(), "m-other", _ports()).skipped == {"already_sent": 1}
    assert handle_message(_reset(), "m-1", _ports()).sent == 1
    assert len(sendgrid_replay.requests) == 2


def test_500_is_retried_with_backoff(sendgrid_replay: ReplayServer) -> None:
    put_user("u1", "ada@example.com")
    sendgrid_replay.queue(SERVER_ERROR, SERVER_ERROR)
    sleeps = Sleeps()
    with pytest.raises(RetryLater) as raised:
        handle_message(_reset(), "m-1", _ports(sleeps))
    assert len(sendgrid_replay.requests) == 2 and sleeps.calls == [2]
    assert raised.value.delay_seconds == 4  # back-off grows: 2 s in process, then 4 s: the queue's turn
    assert handle_message(_reset(), "m-1", _ports()).sent == 1  # the redelivery succeeds


def test_400_is_refused_for_good_never_retried_and_the_marker_released(sendgrid_replay: ReplayServer,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    put_user("u1", "not-an-address@example.com")
    sendgrid_replay.queue(BAD_ADDRESS)
    outcome = handle_message(_reset(), "m-1", _ports())
    assert (outcome.sent, outcome.refused) == (0, 1)
    assert len(sendgrid_replay.requests) == 1
    assert store.get_marker(store.marker_key("u1", Kind.PASSWORD_RESET, "r1")) is None
    assert any("refused" in record.message for record in caplog.records)
    assert "tok-secret" not in caplog.text


def test_no_answer_is_never_sent_again(sendgrid_replay: ReplayServer) -> None:
    put_user("u1", "ada@example.com")
    sendgrid_replay.queue(Recorded(202, delay=2.0))  # longer than SENDGRID_TIMEOUT_SECONDS=1
    outcome = handle_message(_reset(), "m-1", _ports())
    assert outcome.unknown == 1
    assert handle_message(_reset(), "m-1", _ports()).skipped == {"already_sent": 1}
    time.sleep(1.2)
    assert len(sendgrid_replay.requests) == 1


def test_suspended_deleted_and_opted_out_users_are_skipped_and_recorded(sendgrid_replay: ReplayServer) -> None:
    contest_id = make_contest()
    put_user("u-susp", "s@example.com", status="suspended")
    put_user("u-out", "o@example.com", contest_reminders=False)
    put_user("u-in", "i@example.com", contest_reminders=True)
    put_user("u-odd", "odd@example.com")  # never chose: reminders are on
    chunk = {"notify": "chunk", "kind": "contest_starting", "contestId": contest_id,
             "recipients": [{"userId": u} for u in ("u-susp", "u-gone", "u-out", "u-in", "u-odd")]}
    outcome = handle_message(chunk, "m-1", _ports())
    assert outcome.sent == 2
    assert outcome.skipped == {"user_suspended": 1, "user_gone": 1, "opted_out": 1}
    sent_to = sorted(r["body"]["personalizations"][0]["to"][0]["email"] for r in sendgrid_replay.requests)
    assert sent_to == ["i@example.com", "odd@example.com"]
    # Transactional kinds ignore the preference.
    cancelled = {**chunk, "kind": "contest_cancelled", "recipients": [{"userId": "u-out"}]}
    assert handle_message(cancelled, "m-2", _ports()).sent == 1


def test_contest_events_fan_out_in_steps_and_chunks(sendgrid_replay: ReplayServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.config import settings

    monkeypatch.setenv("NOTIFY_CHUNK_SIZE", "2")
    monkeypatch.setenv("ENTRY_SHARDS", "2")
    settings.cache_clear()
    contest_id = make_contest()
    _seed_entries(contest_id, [f"u{i}" for i in range(5)])
    queue = FakeQueue()
    handle_message(_event("ContestStarted", {"contestId": contest_id}), "m-0", _ports(queue=queue))
    assert [b["shard"] for b in queue.bodies] == [0, 1]
    # Run the queue to exhaustion, one message at a time, as the poller would: no step handles more than 2.
    sent = 0
    pending = list(queue.bodies)
    steps = 0
    while pending:
        body = pending.pop(0)
        step_queue = FakeQueue()
        outcome = handle_message(json.loads(json.dumps(body)), f"m-{steps}", _ports(queue=step_queue))
        steps += 1
        sent += outcome.sent
        assert len(body.get("recipients", [])) <= 2
        pending.extend(step_queue.bodies)
    assert sent == 5 and len(sendgrid_replay.requests) == 5
    assert steps >= 5


def _seed_entries(contest_id: str, user_ids: list[str]) -> None:
    for user_id in user_ids:
        put_user(user_id, f"{user_id}@example.com")
    seed_entries(contest_id, user_ids)


def test_a_message_that_cannot_be_sent_leaves_no_marker(sendgrid_replay: ReplayServer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.adapters import sendgrid
    from tickerleague.config import settings

    put_user("u1", "ada@example.com")
    refund = _event("EntryRefunded", {"contestId": make_contest(), "entryId": "e1", "userId": "u1",
                                      "amount": "", "currency": "usd"})
    with pytest.raises(notifications.BadMessage, match="amount"):
        handle_message(refund, "m-1", _ports())
    monkeypatch.setenv("SENDGRID_TEMPLATE_IDS", "entry_confirmed=d-11")  # no password_reset template
    settings.cache_clear()
    with pytest.raises(sendgrid.TemplateNotConfigured):
        handle_message(_reset(), "m-2", _ports())
    monkeypatch.setenv("SENDGRID_API_KEY_SECRET_ID", "no-such-secret")
    monkeypatch.setenv("SENDGRID_TEMPLATE_IDS", "password_reset=d-16")
    settings.cache_clear()
    with pytest.raises(Exception, match=r"no-such-secret|ResourceNotFound|GetSecretValue"):
        handle_message(_reset(), "m-3", _ports())
    assert store.get_marker(store.marker_key("u1", Kind.PASSWORD_RESET, "r1")) is None
    assert sendgrid_replay.requests == []


def test_sent_failed_and_skipped_emails_are_counted_by_kind(sendgrid_replay: ReplayServer,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    contest_id = make_contest()
    put_user("u-a", "a@example.com")
    put_user("u-b", "b@example.com")
    put_user("u-bad", "bad@example.com")
    put_user("u-susp", "s@example.com", status="suspended")
    chunk = {"notify": "chunk", "kind": "contest_starting", "contestId": contest_id,
             "recipients": [{"userId": u} for u in ("u-a", "u-bad", "u-susp", "u-gone", "u-b")]}
    sendgrid_replay.queue(ACCEPTED, BAD_ADDRESS, ACCEPTED)
    metrics = MetricsCapture(monkeypatch, capsys)
    handle_message(chunk, "m-1", _ports())
    handle_message(chunk, "m-2", _ports())  # a duplicate: every sent one is already_sent, u-bad is tried again
    assert metrics.take() == [
        ("EmailsFailed", 1.0, {"kind": "contest_starting", "reason": "refused"}),
        ("EmailsSent", 1.0, {"kind": "contest_starting"}),  # m-2: u-bad again (its marker was released), 202
        ("EmailsSent", 2.0, {"kind": "contest_starting"}),
        ("EmailsSkipped", 2.0, {"kind": "contest_starting", "reason": "already_sent"}),
        ("EmailsSkipped", 1.0, {"kind": "contest_starting", "reason": "user_gone"}),
        ("EmailsSkipped", 1.0, {"kind": "contest_starting", "reason": "user_gone"}),
        ("EmailsSkipped", 1.0, {"kind": "contest_starting", "reason": "user_suspended"}),
        ("EmailsSkipped", 1.0, {"kind": "contest_starting", "reason": "user_suspended"}),
    ]
