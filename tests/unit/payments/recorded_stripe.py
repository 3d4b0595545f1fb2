"""Stripe for in-process payment tests: the answers recorded from localstripe (tests/fixtures/localstripe/), served
through `responses` and kept per PaymentIntent, so a join, a payment, a cancel and a refund see each other.

Only what the gateway (adapters/stripe_gateway.py) calls: create, retrieve (latest_charge expanded), cancel (refused
once paid or cancelled, as Stripe does) and refund. The tests move a PaymentIntent the way a payer or Stripe's
dashboard would: `pay`, `decline`, `refund_outside`. Concurrency and the real fake live in tests/integration/payments.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import responses

FIXTURES = Path(__file__).parents[2] / "fixtures" / "localstripe"
BASE = "http://stripe.test"


def recorded(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


class RecordedStripe:
    def __init__(self, mocked: responses.RequestsMock) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: list[str] = []
        self._by_key: dict[str, str] = {}
        intent = re.compile(rf"{re.escape(BASE)}/v1/payment_intents/(pi_\w+)(\?.*)?$")
        mocked.add_callback("POST", f"{BASE}/v1/payment_intents", callback=self._create)
        mocked.add_callback("GET", intent, callback=self._retrieve)
        mocked.add_callback("POST", re.compile(rf"{re.escape(BASE)}/v1/payment_intents/(pi_\w+)/cancel$"),
                            callback=self._cancel)
        mocked.add_callback("POST", f"{BASE}/v1/refunds", callback=self._refund)

    # ------------------------------------------------------------------------------------------------ the payer
    def pay(self, intent_id: str) -> None:
        paid = recorded("payment_intent_succeeded")
        intent = self.intents[intent_id]
        charge = {**paid["latest_charge"], "payment_intent": intent_id, "amount": intent["amount"]}
        intent.update(status="succeeded", latest_charge=charge, last_payment_error=None)

    def decline(self, intent_id: str, code: str = "card_declined") -> dict[str, Any]:
        """A declined attempt; the PaymentIntent is payable again. Returns Stripe's `last_payment_error`."""
        error = {"code": code, "decline_code": "generic_decline", "type": "card_error",
                 "message": "Your card was declined."}
        self.intents[intent_id].update(status="requires_payment_method", last_payment_error=error)
        return error

    def refund_outside(self, intent_id: str) -> None:
        """A full refund made in Stripe's dashboard (not through the API)."""
        intent = self.intents[intent_id]
        intent["latest_charge"]["amount_refunded"] = intent["amount"]

    # ------------------------------------------------------------------------------------------------ the API
    def _answer(self, body: dict[str, Any], status: int = 200) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def _create(self, request: Any) -> tuple[int, dict[str, str], str]:
        key = request.headers.get("Idempotency-Key", "")
        if key in self._by_key:
            return self._answer(self.intents[self._by_key[key]])
        form = parse_qs(request.body)
        intent = recorded("payment_intent_created")
        intent_id = f"pi_test{len(self.intents) + 1:04d}"
        intent.update(id=intent_id, client_secret=f"{intent_id}_secret_x", amount=int(form["amount"][0]),
                      currency=form["currency"][0],
                      metadata={name[len("metadata["):-1]: values[0] for name, values in form.items()
                                if name.startswith("metadata[")})
        self.intents[intent_id] = intent
        self._by_key[key] = intent_id
        return self._answer(intent)

    def _retrieve(self, request: Any) -> tuple[int, dict[str, str], str]:
        intent_id = request.path_url.split("/")[3].split("?")[0]
        return self._answer(copy.deepcopy(self.intents[intent_id]))

    def _cancel(self, request: Any) -> tuple[int, dict[str, str], str]:
        intent = self.intents[request.path_url.split("/")[3]]
        if intent["status"] in ("succeeded", "canceled"):
            refused = recorded("cancel_refused")
            return self._answer(refused["body"], refused["status"])
        intent["status"] = "canceled"
        return self._answer(intent)

    def _refund(self, request: Any) -> tuple[int, dict[str, str], str]:
        intent_id = parse_qs(request.body)["payment_intent"][0]
        intent = self.intents[intent_id]
        intent["latest_charge"]["amount_refunded"] = intent["amount"]
        refund = {**recorded("refund_created"), "id": f"re_test{len(self.refunds) + 1:04d}",
                  "payment_intent": intent_id, "amount": intent["amount"]}
        self.refunds.append(refund["id"])
        return self._answer(refund)


def event(event_id: str, kind: str, intent_id: str, *, created: int,
          last_payment_error: dict[str, Any] | None = None) -> str:
    """A Stripe event body as the queue holds it (the processor re-reads the PaymentIntent it names)."""
    obj: dict[str, Any] = ({"id": intent_id, "object": "payment_intent", "last_payment_error": last_payment_error}
                           if kind.startswith("payment_intent.") else
                           {"id": "ch_x", "object": "charge", "payment_intent": intent_id})
    return json.dumps({"id": event_id, "object": "event", "type": kind, "created": created,
                       "data": {"object": obj}})
