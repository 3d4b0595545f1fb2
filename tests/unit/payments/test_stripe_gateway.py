"""The Stripe adapter against answers recorded from localstripe (tests/fixtures/localstripe/), through `responses`:
what it sends (idempotency key, minor units, metadata, expand) and how it reads what comes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

FIXTURES = Path(__file__).parents[2] / "fixtures" / "localstripe"
BASE = "http://stripe.test"


def recorded(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from tickerleague.adapters import stripe_gateway
    from tickerleague.config import settings

    monkeypatch.setenv("STRIPE_API_BASE", BASE)
    monkeypatch.setenv("STRIPE_SECRET_KEY_SECRET_ID", "")
    settings.cache_clear()
    stripe_gateway._client.cache_clear()
    with responses.RequestsMock() as mocked:
        yield stripe_gateway, mocked
    stripe_gateway._client.cache_clear()
    settings.cache_clear()


def test_create_intent_sends_minor_units_metadata_and_the_idempotency_key(gateway: Any) -> None:
    stripe_gateway, mocked = gateway
    created = recorded("payment_intent_created")
    mocked.post(f"{BASE}/v1/payment_intents", json=created)
    state, secret = stripe_gateway.create_intent(amount=1000, currency="usd",
                                                 metadata={"contestId": "C1", "entryId": "E1", "userId": "U1"},
                                                 idempotency_key="tickerleague-entry-E1-intent-1")
    sent = mocked.calls[0].request
    assert sent.headers["Idempotency-Key"] == "tickerleague-entry-E1-intent-1"
    form = parse_qs(sent.body)
    assert form["amount"] == ["1000"] and form["currency"] == ["usd"] and form["metadata[entryId]"] == ["E1"]
    assert (state.intent_id, state.status, state.amount, state.currency) == (created["id"], "requires_payment_method",
                                                                             1000, "usd")
    assert secret == created["client_secret"]
    assert state.metadata["contestId"] == "C1"


def test_retrieve_reads_refunds_from_the_expanded_latest_charge(gateway: Any) -> None:
    stripe_gateway, mocked = gateway
    paid, refunded = recorded("payment_intent_succeeded"), recorded("payment_intent_refunded")
    mocked.get(f"{BASE}/v1/payment_intents/{paid['id']}", json=paid)
    mocked.get(f"{BASE}/v1/payment_intents/{paid['id']}", json=refunded)
    first = stripe_gateway.retrieve_intent(paid["id"])
    assert "expand" in mocked.calls[0].request.url
    assert (first.status, first.amount_refunded) == ("succeeded", 0)
    second = stripe_gateway.retrieve_intent(paid["id"])
    assert second.amount_refunded == 1000


def test_a_refused_cancel_is_a_stripe_refusal_not_an_outage(gateway: Any) -> None:
    stripe_gateway, mocked = gateway
    refused = recorded("cancel_refused")
    mocked.post(f"{BASE}/v1/payment_intents/pi_1/cancel", json=refused["body"], status=refused["status"])
    with pytest.raises(stripe_gateway.StripeRefused):
        stripe_gateway.cancel_intent("pi_1", idempotency_key="k")


def test_a_stripe_outage_is_503(gateway: Any) -> None:
    from tickerleague.errors import ServiceUnavailable

    stripe_gateway, mocked = gateway
    for _ in range(3):  # the library retries twice
        mocked.get(f"{BASE}/v1/payment_intents/pi_1", json={"error": {"message": "down"}}, status=500)
    with pytest.raises(ServiceUnavailable):
        stripe_gateway.retrieve_intent("pi_1")


def test_refund_sends_its_idempotency_key(gateway: Any) -> None:
    stripe_gateway, mocked = gateway
    refund = recorded("refund_created")
    mocked.post(f"{BASE}/v1/refunds", json=refund)
    refund_id, amount = stripe_gateway.create_refund("pi_1", metadata={"entryId": "E1"}, idempotency_key="rk")
    assert (refund_id, amount) == (refund["id"], 1000)
    assert mocked.calls[0].request.headers["Idempotency-Key"] == "rk"
