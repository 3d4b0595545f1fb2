"""SQS event sources and EventBridge rules driven by the local pollers against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.local.invoke import Invoker
from infra.local.moto_setup import local_moto
from infra.local.queues import QueueRunner, event_rule_pollers, failed_message_ids, sqs_pollers
from infra.local.resources import create_resources
from infra.local.template import LocalTemplate, load_template
from tests.support.local_stack import TEMPLATE, handler_log
from tests.support.waiting import wait_for


@pytest.fixture
def moto_template() -> Iterator[LocalTemplate]:
    with local_moto():
        template = load_template(TEMPLATE, parameters_file=None)
        yield template.with_attributes(create_resources(template, None))


@pytest.fixture
def log() -> Any:
    module = handler_log()
    module.reset()
    return module


def queue_count(url: str, attribute: str) -> int:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"][attribute])


def test_batch_item_failures_retry_only_failed_messages_then_dead_letter(
    moto_template: LocalTemplate, log: Any
) -> None:
    invoker = Invoker(moto_template.functions)
    runner = QueueRunner(sqs_pollers(moto_template.sqs_events, moto_template.attributes, invoker.invoke, "us-east-1"))
    work = moto_template.attributes["Work"]["QueueUrl"]
    dlq = moto_template.attributes["WorkDlq"]["QueueUrl"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message_batch(
        QueueUrl=work,
        Entries=[
            {"Id": "1", "MessageBody": json.dumps({"key": "ok-1"})},
            {"Id": "2", "MessageBody": json.dumps({"key": "bad", "fail": True})},
            {"Id": "3", "MessageBody": json.dumps({"key": "ok-2"})},
        ],
    )
    runner.start()
    try:
        # maxReceiveCount 2 and VisibilityTimeout 1 s: the failing message is delivered twice, then moved.
        wait_for(lambda: queue_count(dlq, "ApproximateNumberOfMessages") == 1, timeout=15)
    finally:
        runner.stop()
    records = [r for event in log.calls("consume") for r in event["Records"]]
    keys = [json.loads(r["body"])["key"] for r in records]
    assert sorted(keys) == ["bad", "bad", "ok-1", "ok-2"]  # successes once, the failure twice
    bad = [r for r in records if json.loads(r["body"])["key"] == "bad"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in bad] == ["1", "2"]
    first = records[0]
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:Work"
    assert first["awsRegion"] == "us-east-1"
    assert {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody"} <= set(first)
    assert queue_count(work, "ApproximateNumberOfMessages") == 0
    assert queue_count(work, "ApproximateNumberOfMessagesNotVisible") == 0
    moved = sqs.receive_message(QueueUrl=dlq)["Messages"][0]
    assert json.loads(moved["Body"])["key"] == "bad"


def test_message_attributes_reach_the_record(moto_template: LocalTemplate, log: Any) -> None:
    invoker = Invoker(moto_template.functions)
    runner = QueueRunner(sqs_pollers(moto_template.sqs_events, moto_template.attributes, invoker.invoke, "us-east-1"))
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(
        QueueUrl=moto_template.attributes["Work"]["QueueUrl"],
        MessageBody=json.dumps({"key": "attrs"}),
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "x"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01"},
        },
    )
    runner.start()
    try:
        (event,) = wait_for(lambda: log.calls("consume"))
    finally:
        runner.stop()
    record = event["Records"][0]
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "x",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AQ=="
    assert record["md5OfMessageAttributes"]


def test_handler_exception_keeps_the_whole_batch(moto_template: LocalTemplate) -> None:
    calls: list[Any] = []

    def failing(function_id: str, event: Any) -> Any:
        calls.append(event)
        raise RuntimeError("down")

    runner = QueueRunner(sqs_pollers(moto_template.sqs_events, moto_template.attributes, failing, "us-east-1"))
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=moto_template.attributes["Work"]["QueueUrl"], MessageBody=json.dumps({"key": "x"})
    )
    runner.start()
    try:
        wait_for(lambda: queue_count(moto_template.attributes["WorkDlq"]["QueueUrl"], "ApproximateNumberOfMessages"))
    finally:
        runner.stop()
    assert len(calls) == 2


def test_event_bridge_rules_deliver_matching_events(moto_template: LocalTemplate, log: Any) -> None:
    invoker = Invoker(moto_template.functions)
    runner = QueueRunner(event_rule_pollers(moto_template.event_rules, invoker.invoke, "us-east-1"))
    events = boto3.client("events", region_name="us-east-1")
    runner.start()
    try:
        events.put_events(
            Entries=[
                {"EventBusName": "fixture-test", "Source": "other", "DetailType": "T", "Detail": "{}"},
                {"EventBusName": "fixture-test", "Source": "fixture.app", "DetailType": "T", "Detail": '{"key": "k"}'},
            ]
        )
        (event,) = wait_for(lambda: log.calls("notify"))
    finally:
        runner.stop()
    assert (event["source"], event["detail"], event["detail-type"]) == ("fixture.app", {"key": "k"}, "T")


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),
        ({"batchItemFailures": [{"id": "a"}]}, {"a", "b"}),
        ("not an object", {"a", "b"}),
    ],
)
def test_batch_item_failure_rules(result: Any, failed: set[str]) -> None:
    assert failed_message_ids(result, ["a", "b"]) == failed
