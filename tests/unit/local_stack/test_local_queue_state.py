"""Queued SQS messages survive a restart of the local stack (infra/local/queue_state.py): saved from one moto, put
back into a fresh one with the same ids, bodies, attributes, receive counts and visibility times."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.queue_state import STATE_FILE, restore_queues, save_queues

REGION = "us-east-1"
TEMPLATE: Any = SimpleNamespace(settings=SimpleNamespace(region=REGION))


def _queues(sqs: Any) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName="events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="events", Attributes={
        "VisibilityTimeout": "30", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})
    return queue["QueueUrl"], dlq


def test_messages_come_back_as_sqs_held_them(tmp_path: Path) -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url, _ = _queues(sqs)
        waiting = sqs.send_message(QueueUrl=url, MessageBody='{"n": 1}', MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "email"}})["MessageId"]
        delayed = sqs.send_message(QueueUrl=url, MessageBody='{"n": 2}', DelaySeconds=600)["MessageId"]
        held = sqs.send_message(QueueUrl=url, MessageBody='{"n": 3}')["MessageId"]
        # `held` is received (as a retry would) and kept invisible for a while; `waiting` is received once and
        # made visible again at once (a failed attempt).
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        assert {m["MessageId"] for m in received} == {waiting, held}
        handle = next(m["ReceiptHandle"] for m in received if m["MessageId"] == held)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=300)
        assert save_queues(TEMPLATE, tmp_path) == 3
    assert (tmp_path / STATE_FILE).stat().st_mode & 0o777 == 0o600

    with mock_aws():  # a fresh moto: what the next start of the stack has
        sqs = boto3.client("sqs", region_name=REGION)
        url, dlq = _queues(sqs)
        assert restore_queues(TEMPLATE, tmp_path) == 3
        assert not (tmp_path / STATE_FILE).exists()
        visible = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                      MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
        assert [(m["MessageId"], m["Body"]) for m in visible] == [(waiting, '{"n": 1}')]
        assert visible[0]["MessageAttributes"]["kind"]["StringValue"] == "email"
        assert visible[0]["Attributes"]["ApproximateReceiveCount"] == "2"  # its first receive was remembered
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert counts["ApproximateNumberOfMessagesDelayed"] == "1"  # `delayed`, still 10 minutes away
        assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"  # `held`, still 5 minutes away
        # Receive counts carry on toward the dead-letter queue: `waiting` was received twice, the third receive
        # moves it.
        assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
        moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
        assert [m["MessageId"] for m in moved] == [waiting]
        assert delayed and held


def test_a_held_message_whose_time_passed_while_stopped_is_visible_at_once(tmp_path: Path) -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url, _ = _queues(sqs)
        sent = sqs.send_message(QueueUrl=url, MessageBody="late")["MessageId"]
        message = sqs.receive_message(QueueUrl=url)["Messages"][0]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=1)
        save_queues(TEMPLATE, tmp_path)
    time.sleep(1.2)  # the stack is "down" past the message's visibility time
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url, _ = _queues(sqs)
        restore_queues(TEMPLATE, tmp_path)
        assert [m["MessageId"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == [sent]


def test_nothing_queued_writes_no_file_and_a_missing_file_restores_nothing(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text('{"version": 1, "queues": {}}', encoding="utf-8")
    with mock_aws():
        _queues(boto3.client("sqs", region_name=REGION))
        assert save_queues(TEMPLATE, tmp_path) == 0
        assert not (tmp_path / STATE_FILE).exists()  # a stale file from an earlier stop is not restored twice
        assert restore_queues(TEMPLATE, tmp_path) == 0


def test_messages_of_a_queue_that_is_gone_are_dropped_and_an_unknown_version_refused(tmp_path: Path) -> None:
    state = {"version": 1, "queues": {"removed": [{"id": "m-1", "body": "x"}]}}
    (tmp_path / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    with mock_aws():
        _queues(boto3.client("sqs", region_name=REGION))
        assert restore_queues(TEMPLATE, tmp_path) == 0
    (tmp_path / STATE_FILE).write_text('{"version": 99}', encoding="utf-8")
    with mock_aws(), pytest.raises(ValueError, match="unknown version"):
        restore_queues(TEMPLATE, tmp_path)
