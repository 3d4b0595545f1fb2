"""The queue consumer (functions/jobs/notifications.py) on moto SQS: partial batch failures, a 429's wait handed to
the queue as the message's visibility, and a message nobody can read reported failed (so it ends in the DLQ)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.unit.notifications.support import ACCEPTED, ReplayServer, put_user, rate_limited

pytestmark = pytest.mark.usefixtures("sendgrid_key")


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}


def _reset(user_id: str) -> str:
    return json.dumps({"detail-type": "PasswordResetRequested", "source": "tickerleague.auth",
                       "detail": {"userId": user_id, "resetId": f"r-{user_id}", "token": "t",
                                  "expiresAt": "2026-12-01T15:00:00Z"}})


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str, str]:
    import boto3
    from tickerleague.config import settings
    from tickerleague.services import notifications

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="notify-test")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    monkeypatch.setenv("NOTIFICATIONS_QUEUE_URL", url)
    settings.cache_clear()
    notifications._SQS.clear()
    return sqs, url, arn


def _receive(sqs: Any, url: str, visibility: int) -> dict[str, dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility)
    return {m["Body"]: m for m in messages.get("Messages", [])}


def test_a_batch_reports_only_its_failed_records(sendgrid_replay: ReplayServer, queue: tuple[Any, str, str]) -> None:
    from functions.jobs import notifications as job

    sqs, url, arn = queue
    put_user("u1", "one@example.com")
    for body in (_reset("u1"), "not json", json.dumps({"something": "else"})):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    received = _receive(sqs, url, 30)
    result = job.send({"Records": [_record(m, arn) for m in received.values()]}, None)
    failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
    assert failed == {received["not json"]["MessageId"], received['{"something": "else"}']["MessageId"]}
    assert [r["body"]["personalizations"][0]["to"][0]["email"] for r in sendgrid_replay.requests] == [
        "one@example.com"]


def test_a_rate_limited_record_comes_back_after_the_reset_not_before(
        sendgrid_replay: ReplayServer, queue: tuple[Any, str, str]) -> None:
    from functions.jobs import notifications as job

    sqs, url, arn = queue
    put_user("u2", "two@example.com")
    sqs.send_message(QueueUrl=url, MessageBody=_reset("u2"))
    message = _receive(sqs, url, 1)[_reset("u2")]
    sendgrid_replay.queue(rate_limited(int(time.time()) + 120))
    result = job.send({"Records": [_record(message, arn)]}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}  # even a whole batch
    time.sleep(1.5)  # past the receive's own 1 s visibility: only the 429's wait keeps it away now
    assert _receive(sqs, url, 1) == {}
    # Its redelivery (same message id) is still the marker's owner and sends.
    sendgrid_replay.queue(ACCEPTED)
    assert job.send({"Records": [_record(message, arn)]}, None) == {"batchItemFailures": []}
    assert len(sendgrid_replay.requests) == 2
