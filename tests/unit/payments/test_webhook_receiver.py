"""POST /v1/webhooks/stripe: signatures made by the stripe library; a good event lands in SQS (moto) and nothing
touches the table; every bad body is 400 BAD_SIGNATURE and queues nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.support.events import api_event, call

SECRET = "whsec_unit_tests"


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        import boto3
        from tickerleague.config import settings
        from tickerleague.services import stripe_webhooks

        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="stripe-events")["QueueUrl"]
        monkeypatch.setenv("STRIPE_EVENTS_QUEUE_URL", url)
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET_ID", "")
        monkeypatch.setenv("LOCAL_STRIPE_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("TABLE_NAME", "no-such-table-the-receiver-never-reads")
        settings.cache_clear()
        stripe_webhooks._client.cache_clear()
        yield sqs, url
        stripe_webhooks._client.cache_clear()
        settings.cache_clear()


def body(event_id: str = "evt_1", kind: str = "payment_intent.succeeded") -> str:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "data": {"object": {"id": "pi_1"}}})


def signed(payload: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    return str(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp))


def post(payload: str, signature: str | None) -> Any:
    from functions import webhooks

    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return call(webhooks.stripe_webhook, api_event("POST", "/v1/webhooks/stripe", raw_body=payload, headers=headers))


def queued(queue: Any) -> list[dict[str, Any]]:
    sqs, url = queue
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []))


def test_a_signed_event_is_queued_verbatim_and_answered_200(queue: Any) -> None:
    payload = body()
    answer = post(payload, signed(payload))
    assert answer.status == 200 and answer.body == {"received": True, "id": "evt_1"}
    messages = queued(queue)
    assert [message["Body"] for message in messages] == [payload]
    assert messages[0]["MessageAttributes"]["eventType"]["StringValue"] == "payment_intent.succeeded"


@pytest.mark.parametrize("case", ["unsigned", "wrong_secret", "stale", "truncated", "not_json", "oversized",
                                  "tampered", "garbage_header"])
def test_bad_bodies_are_400_and_queue_nothing(queue: Any, case: str) -> None:
    payload = body()
    signature: str | None = signed(payload)
    if case == "unsigned":
        signature = None
    elif case == "wrong_secret":
        signature = signed(payload, "whsec_someone_else")
    elif case == "stale":
        signature = signed(payload, timestamp=int(time.time()) - 301)
    elif case == "truncated":
        payload = payload[:-5]
    elif case == "not_json":
        payload = "not json at all"
        signature = signed(payload)
    elif case == "oversized":
        payload = json.dumps({"id": "evt_big", "type": "x", "pad": "x" * 300_000})
        signature = signed(payload)
    elif case == "tampered":
        payload = payload.replace("evt_1", "evt_2")
    elif case == "garbage_header":
        signature = "t=abc,v1=zzz"
    answer = post(payload, signature)
    assert answer.status == 400
    assert answer.body["error"]["code"] == "BAD_SIGNATURE"
    assert queued(queue) == []
