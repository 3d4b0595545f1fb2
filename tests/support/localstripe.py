"""Paying at localstripe the way a client does: a PaymentMethod for a test card, set on the PaymentIntent, confirm."""

from __future__ import annotations

from typing import Any

import requests

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000341"
KEY = ("sk_test_tickerleague_tests", "")  # localstripe accepts any sk_ key


def pay(base_url: str, intent_id: str, card: str = SUCCEEDS) -> dict[str, Any]:
    """The PaymentIntent after confirming it with `card` (a decline answers 402 and leaves it payable)."""
    method = requests.post(f"{base_url}/v1/payment_methods", auth=KEY, timeout=10, data={
        "type": "card", "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123",
    })
    method.raise_for_status()
    requests.post(f"{base_url}/v1/payment_intents/{intent_id}", auth=KEY, timeout=10,
                  data={"payment_method": method.json()["id"]}).raise_for_status()
    requests.post(f"{base_url}/v1/payment_intents/{intent_id}/confirm", auth=KEY, timeout=10)
    answer = requests.get(f"{base_url}/v1/payment_intents/{intent_id}", auth=KEY, timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def refunds(base_url: str, intent_id: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{base_url}/v1/refunds", auth=KEY, params={"payment_intent": intent_id}, timeout=10)
    answer.raise_for_status()
    return list(answer.json()["data"])


def event(event_id: str, kind: str, intent_id: str) -> str:
    """A Stripe event body as the queue holds it (what the receiver verified). Its object may be stale on purpose:
    the processor re-reads the PaymentIntent."""
    import json

    obj: dict[str, Any] = ({"id": intent_id, "object": "payment_intent", "status": "requires_payment_method"}
                           if kind.startswith("payment_intent.") else {"id": "ch_x", "payment_intent": intent_id})
    return json.dumps({"id": event_id, "object": "event", "type": kind, "data": {"object": obj}})
