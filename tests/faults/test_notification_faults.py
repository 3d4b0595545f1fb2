"""The email sender with DynamoDB, SQS and SendGrid failing at each step (SendGrid's answers replayed over a real
socket: the library speaks urllib, which `responses` cannot see): the message fails for its redelivery or says
what happened, and however often it comes back each person gets each email once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from tickerleague.http.unavailable import is_transient
from tickerleague.ids import new_ulid

from tests.support import faults
from tests.support.faults import Injector
from tests.unit.notifications.conftest import API_KEY, TEMPLATE_IDS, FakeQueue, _clear
from tests.unit.notifications.support import SERVER_ERROR, Recorded, ReplayServer, put_user, rate_limited

NOW = 1_800_000_000.0


@pytest.fixture
def sendgrid(world: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    import boto3

    server = ReplayServer()
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=f"sendgrid-{new_ulid()}", SecretString=API_KEY
    )["ARN"]
    monkeypatch.setenv("SENDGRID_API_BASE", server.url)
    monkeypatch.setenv("SENDGRID_TEMPLATE_IDS", TEMPLATE_IDS)
    monkeypatch.setenv("SENDGRID_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("EMAIL_LINK_BASE_URL", "https://app.tickerleague.example")
    monkeypatch.setenv("SENDGRID_API_KEY_SECRET_ID", arn)
    _clear()
    yield server
    server.stop()
    _clear()


def reset_event(user_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"ev-{user_id}",
        "detail-type": "PasswordResetRequested",
        "source": "tickerleague.auth",
        "detail": {"userId": user_id, "resetId": "r1", "token": "tok-secret", "expiresAt": "2026-12-01T15:00:00Z"},
    }


def person() -> str:
    user_id = new_ulid()
    put_user(user_id, f"{user_id.lower()}@example.com")
    return user_id


def handle(body: dict[str, Any], message_id: str, queue: FakeQueue | None = None) -> Any:
    from tickerleague.services.notifications import SenderPorts, handle_message

    ports = SenderPorts(sleep=lambda seconds: None, enqueue=queue or FakeQueue(), now=lambda: NOW)
    return handle_message(body, message_id, ports)


def deliveries(server: ReplayServer, user_id: str) -> int:
    address = f"{user_id.lower()}@example.com"
    return sum(
        1
        for request in server.requests
        if any(to["email"] == address for p in request["body"]["personalizations"] for to in p["to"])
    )


def redeliver_until_done(body: dict[str, Any], message_id: str, attempts: int = 4) -> list[Any]:
    """What SQS does: the same message again after each failure."""
    outcomes: list[Any] = []
    for _ in range(attempts):
        try:
            outcomes.append(handle(body, message_id))
        except Exception as error:
            outcomes.append(error)
            continue
        return outcomes
    return outcomes


@pytest.mark.parametrize("fault", ["throttling", "internal500", "read_timeout"])
def test_the_sent_mark_failing_after_sendgrid_accepted_never_sends_twice(
    sendgrid: ReplayServer, inject: Injector, fault: str
) -> None:
    user_id = person()
    inject.fail("UpdateItem", faults.DYNAMODB_FAULTS[fault], times=faults.PERSISTENT)  # mark_sent
    redeliver_until_done(reset_event(user_id), "m-1")
    inject.clear()
    redeliver_until_done(reset_event(user_id), "m-1")  # and the queue's at-least-once, once more
    redeliver_until_done(reset_event(user_id), "m-2")  # and a duplicated event
    assert deliveries(sendgrid, user_id) == 1


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("PutItem", "throttling"),
        ("PutItem", "connect_timeout"),
        ("BatchGetItem", "throughput"),
        ("GetItem", "internal500"),
    ],
)
def test_a_failure_before_the_send_sends_nothing_and_the_redelivery_sends_once(
    sendgrid: ReplayServer, inject: Injector, operation: str, fault: str
) -> None:
    user_id = person()
    inject.fail(operation, faults.DYNAMODB_FAULTS[fault], times=2)
    outcomes = redeliver_until_done(reset_event(user_id), "m-1")
    failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert all(is_transient(error) for error in failures), failures
    assert outcomes[-1].sent == 1 if not isinstance(outcomes[-1], Exception) else False
    assert deliveries(sendgrid, user_id) == 1
    assert handle(reset_event(user_id), "m-2").skipped == {"already_sent": 1}
    assert deliveries(sendgrid, user_id) == 1


@pytest.mark.parametrize(
    "answers",
    [
        [rate_limited(reset=int(NOW) + 60)],
        [SERVER_ERROR, SERVER_ERROR],
        [Recorded(503), Recorded(503), Recorded(503)],
    ],
    ids=["429-long", "500-twice", "503-thrice"],
)
def test_sendgrid_saying_not_now_is_retried_by_the_queue_and_sends_once(
    sendgrid: ReplayServer, answers: list[Recorded]
) -> None:
    from tickerleague.services.notifications import RetryLater

    user_id = person()
    sendgrid.queue(*answers)
    outcomes = redeliver_until_done(reset_event(user_id), "m-1")
    assert any(isinstance(outcome, RetryLater) for outcome in outcomes)
    assert outcomes[-1].sent == 1
    redeliver_until_done(reset_event(user_id), "m-1")
    assert handle(reset_event(user_id), "m-2").skipped == {"already_sent": 1}
    assert not sendgrid.answers  # every "not now" was answered
    assert deliveries(sendgrid, user_id) - len(answers) == 1  # one accepted; the refused attempts sent nothing


def test_sendgrid_timing_out_is_never_sent_again(sendgrid: ReplayServer) -> None:
    user_id = person()
    sendgrid.queue(Recorded(202, delay=1.6))  # longer than SENDGRID_TIMEOUT_SECONDS: maybe accepted
    assert handle(reset_event(user_id), "m-1").unknown == 1
    assert handle(reset_event(user_id), "m-1").skipped == {"already_sent": 1}
    assert handle(reset_event(user_id), "m-2").skipped == {"already_sent": 1}


@pytest.mark.parametrize("fault", ["sqs_throttled", "sqs_internal"])
def test_a_fan_out_that_cannot_queue_fails_for_its_redelivery_and_each_entrant_gets_one_email(
    world: Any, sendgrid: ReplayServer, inject: Injector, fault: str
) -> None:
    from tickerleague.services import notifications

    from tests.unit.contests.helpers import published

    contest_id = str(published(world)["id"])
    from tests.unit.contests.helpers import join

    assert join(world.alice, contest_id).status == 201 and join(world.bob, contest_id).status == 201
    queue = FakeQueue()
    started = {
        "version": "0",
        "id": "ev-start",
        "detail-type": "ContestStarted",
        "source": "tickerleague.contests",
        "detail": {"contestId": contest_id},
    }
    handle(started, "m-start", queue)

    def failing_queue(bodies: Any) -> None:  # the real queue_work's SendMessageBatch, failing like SQS does
        error = {"sqs_throttled": faults.sqs_throttled(), "sqs_internal": faults.sqs_internal()}[fault]
        raise error(notifications._sqs(), "SendMessageBatch")

    steps = list(queue.bodies)
    chunks: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        from tickerleague.services.notifications import SenderPorts, handle_message

        with pytest.raises(Exception) as raised:
            handle_message(step, f"m-step-{index}", SenderPorts(enqueue=failing_queue, sleep=lambda _: None))
        assert is_transient(raised.value)
        redelivered = FakeQueue()
        handle(step, f"m-step-{index}", redelivered)
        handle(step, f"m-step-{index}", redelivered)  # twice: at least once
        chunks += [body for body in redelivered.bodies if body.get("notify") == "chunk"]
    for index, chunk in enumerate(chunks):
        handle(chunk, f"m-chunk-{index}")
    sent = Counter(
        to["email"] for request in sendgrid.requests for p in request["body"]["personalizations"] for to in p["to"]
    )
    assert sent and set(sent.values()) == {1}, sent  # everyone told once, however often the steps ran
