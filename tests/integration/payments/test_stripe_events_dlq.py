"""The real template's Stripe queue, processor and DLQ in moto, driven by the local SQS pollers: a poison message is
retried, then dead-lettered (never silently dropped); a good one of an unhandled type is acknowledged at once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from infra.local.invoke import Invoker
from infra.local.moto_setup import local_moto
from infra.local.queues import QueueRunner, sqs_pollers
from infra.local.resources import create_resources
from infra.local.template import LocalTemplate, load_template
from tests.support.table import TEMPLATE
from tests.support.waiting import wait_for


@pytest.fixture
def stripe_queues() -> Iterator[LocalTemplate]:
    with local_moto():
        template = load_template(TEMPLATE, parameters_file=None)
        yield template.with_attributes(create_resources(template, None))


def count(url: str) -> int:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                        "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(value) for value in attributes["Attributes"].values())


def test_a_poison_event_reaches_the_dead_letter_queue(stripe_queues: LocalTemplate) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = stripe_queues.attributes["StripeEventsQueue"]["QueueUrl"]
    dlq = stripe_queues.attributes["StripeEventsDeadLetterQueue"]
    # The template's policy (5 receives, 180 s visibility) made quick: 2 receives, 1 s.
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq["Arn"], "maxReceiveCount": "2"})})
    sources = [source for source in stripe_queues.sqs_events if source.function_id == "StripeEventsFunction"]
    assert sources and sources[0].report_batch_item_failures
    runner = QueueRunner(sqs_pollers(sources, stripe_queues.attributes, Invoker(stripe_queues.functions).invoke,
                                     "us-east-1"))
    sqs.send_message(QueueUrl=queue, MessageBody="{not json")
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"id": "evt_other", "type": "customer.created",
                                                             "data": {"object": {}}}))
    runner.start()
    try:
        wait_for(lambda: count(dlq["QueueUrl"]) == 1, timeout=20)
    finally:
        runner.stop()
    assert count(queue) == 0  # the unhandled type was acknowledged, the poison one moved
    moved = sqs.receive_message(QueueUrl=dlq["QueueUrl"])["Messages"][0]
    assert moved["Body"] == "{not json"
