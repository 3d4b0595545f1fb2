"""A Stripe webhook's correlation id (its request's) rides the queued message to the processor, whose lines and
events carry it (moto table, queue and bus; recorded Stripe)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe as stripe_library
from tickerleague.clock import utcnow
from tickerleague.domain.principal import Principal

from tests.support.events import api_event, call
from tests.support.logs import captured_log_lines
from tests.unit.contests.helpers import World, published
from tests.unit.payments.recorded_stripe import RecordedStripe, event

SECRET = "whsec_correlation_tests"


@pytest.fixture
def stripe_queue(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str, str]:
    import boto3
    from tickerleague.config import settings
    from tickerleague.services import stripe_webhooks

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="stripe-events-correlation")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    monkeypatch.setenv("STRIPE_EVENTS_QUEUE_URL", url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET_ID", "")
    monkeypatch.setenv("LOCAL_STRIPE_WEBHOOK_SECRET", SECRET)
    settings.cache_clear()
    stripe_webhooks._client.cache_clear()
    return sqs, url, arn


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = {name: {"stringValue": value["StringValue"], "dataType": value["DataType"],
                         "stringListValues": [], "binaryListValues": []}
                  for name, value in (message.get("MessageAttributes") or {}).items()}
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": attributes, "md5OfBody": "",
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}


def test_the_webhooks_id_reaches_the_processors_lines_and_events(
        world: World, stripe: RecordedStripe, stripe_queue: tuple[Any, str, str]) -> None:
    from tickerleague.adapters import events
    from tickerleague.config import settings
    from tickerleague.services.entries import join_contest

    from functions import webhooks
    from functions.jobs import stripe_events as job

    sqs, url, arn = stripe_queue
    contest_id = str(published(world, entryFee={"amount": "10.00", "currency": "usd"})["id"])
    intent_id = join_contest(Principal(world.alice.user_id, "user", "s"), contest_id, None).payment.intent_id
    stripe.pay(intent_id)
    payload = event("evt_corr", "payment_intent.succeeded", intent_id, created=int(utcnow().timestamp()))
    signature = str(stripe_library.WebhookSignature.generate_signature_header(payload, SECRET))
    received = call(webhooks.stripe_webhook, api_event("POST", "/v1/webhooks/stripe", raw_body=payload,
                                                       headers={"Stripe-Signature": signature}))
    assert received.status == 200, received.body
    webhook_id = received.headers["X-Correlation-Id"]

    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["correlationId"]["StringValue"] == webhook_id

    published_entries: list[dict[str, Any]] = []
    events._client(settings().region).meta.events.register(
        "provide-client-params.events.PutEvents", lambda params, **_: published_entries.extend(params["Entries"]))
    with captured_log_lines() as logs:
        result = job.handler({"Records": [_record(message, arn)]}, None)
    assert result == {"batchItemFailures": []}
    (line,) = logs.with_message("stripe event")
    assert (line["outcome"], line["correlation_id"]) == ("activated", webhook_id)
    confirmed = [json.loads(entry["Detail"]) for entry in published_entries if entry["DetailType"] == "EntryConfirmed"]
    assert [detail["metadata"]["correlationId"] for detail in confirmed] == [webhook_id]
