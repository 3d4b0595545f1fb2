"""The notification consumer picks up the correlation id its records carry (the EventBridge event's
`detail.metadata.correlationId`, or our `correlationId` message attribute), logs under it, and passes it on to the
work it queues."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.logs import captured_log_lines
from tests.unit.notifications.support import ReplayServer, make_contest, put_user

pytestmark = pytest.mark.usefixtures("sendgrid_key")


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str, str]:
    import boto3
    from tickerleague.config import settings
    from tickerleague.services import notifications

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="notify-correlation")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    monkeypatch.setenv("NOTIFICATIONS_QUEUE_URL", url)
    settings.cache_clear()
    notifications._SQS.clear()
    return sqs, url, arn


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """The record Lambda's SQS event source makes of a received message (attributes included)."""
    attributes = {name: {"stringValue": value["StringValue"], "dataType": value["DataType"],
                         "stringListValues": [], "binaryListValues": []}
                  for name, value in (message.get("MessageAttributes") or {}).items()}
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": attributes, "md5OfBody": "",
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                    VisibilityTimeout=30).get("Messages", []))


def _event(detail_type: str, detail: dict[str, Any]) -> str:
    """An EventBridge event as a rule target's SQS message body (no message attributes)."""
    return json.dumps({"version": "0", "id": "e-1", "detail-type": detail_type, "source": "tickerleague.contests",
                       "account": "123456789012", "time": "2026-12-01T12:00:00Z", "region": "us-east-1",
                       "resources": [], "detail": detail})


def test_an_event_records_id_is_on_the_consumers_lines(sendgrid_replay: ReplayServer,
                                                         queue: tuple[Any, str, str]) -> None:
    from functions.jobs import notifications as job

    sqs, url, arn = queue
    put_user("u1", "one@example.com")
    sqs.send_message(QueueUrl=url, MessageBody=_event("PasswordResetRequested", {
        "userId": "u1", "resetId": "r-1", "token": "t", "expiresAt": "2026-12-01T15:00:00Z",
        "metadata": {"correlationId": "reset-request-42"}}))
    with captured_log_lines() as logs:
        result = job.send({"Records": [_record(m, arn) for m in _receive(sqs, url)]}, None)
    assert result == {"batchItemFailures": []}
    assert len(sendgrid_replay.requests) == 1
    (done,) = logs.with_message("notifications chunk done")
    assert done["correlation_id"] == "reset-request-42"


def _seed_entry(contest_id: str, user_id: str) -> None:
    from decimal import Decimal

    from tickerleague.adapters.dynamodb import entries as entries_table
    from tickerleague.config import settings
    from tickerleague.domain.portfolio import Portfolio
    from tickerleague.ids import new_ulid

    put_user(user_id, f"{user_id}@example.com")
    entry = entries_table.Entry(entry_id=new_ulid(), contest_id=contest_id, user_id=user_id, display_name=user_id,
                                status="active", joined_at="2026-12-01T00:00:00.000Z",
                                portfolio=Portfolio.fresh(Decimal("100000")))
    entries_table.client().put_item(TableName=settings().table_name,
                                    Item=entries_table.to_attribute_map(entries_table.entry_to_item(entry)))


def test_queued_work_carries_the_id_and_its_consumer_logs_it(sendgrid_replay: ReplayServer,
                                                             queue: tuple[Any, str, str]) -> None:
    """ContestCancelled (event metadata) -> fan-out steps, then a chunk, each queued with the message attribute ->
    the chunk's lines carry the same id."""
    from functions.jobs import notifications as job

    sqs, url, arn = queue
    contest_id = make_contest()
    _seed_entry(contest_id, "u9")
    sqs.send_message(QueueUrl=url, MessageBody=_event("ContestCancelled", {
        "contestId": contest_id, "metadata": {"correlationId": "cancel-request-7"}}))
    queued: list[dict[str, Any]] = []
    with captured_log_lines() as logs:
        batch = _receive(sqs, url)
        while batch:  # the event, its fan-out steps, then the chunk they queued
            assert job.send({"Records": [_record(m, arn) for m in batch]}, None) == {"batchItemFailures": []}
            batch = _receive(sqs, url)
            queued += batch
    assert any(json.loads(m["Body"]).get("notify") == "chunk" for m in queued), queued
    assert {m["MessageAttributes"]["correlationId"]["StringValue"] for m in queued} == {"cancel-request-7"}
    (done,) = logs.with_message("notifications chunk done")
    assert done["correlation_id"] == "cancel-request-7"
    assert {line.get("correlation_id") for line in logs.all()} == {"cancel-request-7"}


def test_a_record_without_an_id_gets_a_new_one_of_its_own(sendgrid_replay: ReplayServer,
                                                          queue: tuple[Any, str, str]) -> None:
    from functions.jobs import notifications as job

    sqs, url, arn = queue
    for user in ("u2", "u3"):
        put_user(user, f"{user}@example.com")
        sqs.send_message(QueueUrl=url, MessageBody=_event("PasswordResetRequested", {
            "userId": user, "resetId": f"r-{user}", "token": "t", "expiresAt": "2026-12-01T15:00:00Z"}))
    with captured_log_lines() as logs:
        job.send({"Records": [_record(m, arn) for m in _receive(sqs, url)]}, None)
    ids = [line.get("correlation_id") for line in logs.with_message("notifications chunk done")]
    assert len(ids) == 2
    assert all(ids) and ids[0] != ids[1]
