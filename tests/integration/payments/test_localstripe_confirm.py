"""The local Stripe takes a PaymentMethod on confirm, as Stripe does: a client paying in one call can pay locally."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.localstripe import DECLINED, KEY, SUCCEEDS

pytestmark = pytest.mark.integration


def _post(url: str, path: str, data: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}{path}", auth=KEY, data=data, timeout=10)


def _intent_and_method(url: str, card: str) -> tuple[str, str]:
    intent = _post(url, "/v1/payment_intents", {"amount": "500", "currency": "usd"})
    method = _post(url, "/v1/payment_methods", {
        "type": "card", "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123",
    })
    intent.raise_for_status()
    method.raise_for_status()
    return intent.json()["id"], method.json()["id"]


def test_confirm_with_a_payment_method_sets_it_and_confirms(localstripe_url: str) -> None:
    intent_id, method_id = _intent_and_method(localstripe_url, SUCCEEDS)

    answer = _post(localstripe_url, f"/v1/payment_intents/{intent_id}/confirm", {"payment_method": method_id})

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"
    assert answer.json()["payment_method"] == method_id


def test_a_declined_card_on_confirm_leaves_the_intent_payable(localstripe_url: str) -> None:
    intent_id, method_id = _intent_and_method(localstripe_url, DECLINED)

    answer = _post(localstripe_url, f"/v1/payment_intents/{intent_id}/confirm", {"payment_method": method_id})

    assert answer.status_code == 402, answer.text
    after = requests.get(f"{localstripe_url}/v1/payment_intents/{intent_id}", auth=KEY, timeout=10).json()
    assert after["status"] == "requires_payment_method"


def test_confirm_without_a_payment_method_still_confirms_the_one_set(localstripe_url: str) -> None:
    intent_id, method_id = _intent_and_method(localstripe_url, SUCCEEDS)
    _post(localstripe_url, f"/v1/payment_intents/{intent_id}", {"payment_method": method_id}).raise_for_status()

    answer = _post(localstripe_url, f"/v1/payment_intents/{intent_id}/confirm", {})

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"
