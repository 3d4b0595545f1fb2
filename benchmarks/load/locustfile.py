"""The game loop as locust users: each signs up, joins the run's active free contest, then quotes, trades (market
buys and sells, limit buys that stay open and are cancelled), reads its portfolio, orders and the leaderboard, and
once pays its way into the run's paid contest at localstripe (PaymentMethod, set on the PaymentIntent, confirm) and
waits for the entry to become active.

Run by ``python -m benchmarks.load`` (``make bench-load``), which starts the stack, creates the contests and passes
them in the environment (LOAD_CONTEST_ID, LOAD_PAID_CONTEST_ID, LOAD_STRIPE_URL, LOAD_SAMPLES). Every request is
written to LOAD_SAMPLES as one JSON line; benchmarks/load/results.py classifies them. Routes are named by the spec's
path templates so each is looked up in api-specification.json.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from locust import HttpUser, between, events, task

CONTEST_ID = os.environ.get("LOAD_CONTEST_ID", "")
PAID_CONTEST_ID = os.environ.get("LOAD_PAID_CONTEST_ID", "")
STRIPE_URL = os.environ.get("LOAD_STRIPE_URL", "")
SAMPLES_PATH = os.environ.get("LOAD_SAMPLES", "load-samples.jsonl")
PASSWORD = "load test password 42"
STRIPE_KEY = ("sk_test_tickerleague_load", "")  # localstripe accepts any sk_ key
SYMBOLS = ("AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "JPM", "KO", "PEP", "XOM")
PAYMENT_WAIT_SECONDS = 20.0
CENT = Decimal("0.01")

_samples = open(SAMPLES_PATH, "a", encoding="utf-8")  # noqa: SIM115 - one file for the process, closed at quit


def record(route: str, status: int, millis: float, code: str | None = None, error: str | None = None) -> None:
    _samples.write(json.dumps({"route": route, "status": status, "millis": round(millis, 2), "code": code,
                               "error": error}) + "\n")


def _error_code(response: Any) -> str | None:
    if response is None or response.status_code < 400:
        return None
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


@events.request.add_listener
def _on_request(name: str, response_time: float, response: Any, exception: BaseException | None,
                **_: Any) -> None:
    status = int(getattr(response, "status_code", 0) or 0)  # locust answers 0 when no response came
    record(name, status, float(response_time), _error_code(response),
           None if status else f"{type(exception).__name__}: {exception}"[:200])


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    _samples.flush()
    _samples.close()


ORDERS = "/v1/contests/{contestId}/orders"


class LoadPlayer(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.token = ""
        self.prices: dict[str, Decimal] = {}
        self.open_orders: list[str] = []
        self.paid = False
        answer = self.client.post("/v1/auth/signup", name="POST /v1/auth/signup", json={
            "email": f"load-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "displayName": "Load"})
        if answer.status_code != 201:
            return
        self.token = answer.json()["accessToken"]
        self.client.post(f"/v1/contests/{CONTEST_ID}/entries", name="POST /v1/contests/{contestId}/entries [free]",
                         headers=self.auth)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _order(self, variant: str, **body: Any) -> Any:
        return self.client.post(f"/v1/contests/{CONTEST_ID}/orders", name=f"POST {ORDERS} [{variant}]", json=body,
                                headers=self.auth)

    @task(4)
    def quote(self) -> None:
        symbol = random.choice(SYMBOLS)
        answer = self.client.get(f"/v1/stocks/{symbol}/quote", name="GET /v1/stocks/{symbol}/quote",
                                 headers=self.auth)
        if answer.status_code == 200:
            self.prices[symbol] = Decimal(answer.json()["price"])

    @task(3)
    def market_buy(self) -> None:
        self._order("market buy", symbol=random.choice(SYMBOLS), side="buy", quantity=str(random.randint(1, 5)),
                    type="market", clientOrderId=uuid.uuid4().hex)

    @task(2)
    def market_sell(self) -> None:
        """A random symbol: sometimes not held, and refused by rule (INSUFFICIENT_SHARES), as players do."""
        self._order("market sell", symbol=random.choice(SYMBOLS), side="sell", quantity="1", type="market")

    @task(1)
    def limit_buy(self) -> None:
        """Far below the last quote: stays open (and reserves its cash) until cancelled."""
        if not self.prices:
            return
        symbol, price = random.choice(list(self.prices.items()))
        limit = (price * Decimal("0.5")).quantize(CENT, rounding=ROUND_HALF_EVEN)
        answer = self._order("limit buy", symbol=symbol, side="buy", quantity="1", type="limit", limitPrice=str(limit),
                             timeInForce="gtc")
        if answer.status_code == 201 and answer.json()["status"] == "open":
            self.open_orders.append(answer.json()["id"])

    @task(1)
    def cancel(self) -> None:
        if self.open_orders:
            order_id = self.open_orders.pop(0)
            self.client.delete(f"/v1/contests/{CONTEST_ID}/orders/{order_id}", headers=self.auth,
                               name="DELETE /v1/contests/{contestId}/orders/{orderId}")

    @task(2)
    def portfolio(self) -> None:
        self.client.get(f"/v1/contests/{CONTEST_ID}/portfolio", name="GET /v1/contests/{contestId}/portfolio",
                        headers=self.auth)

    @task(1)
    def orders(self) -> None:
        self.client.get(f"/v1/contests/{CONTEST_ID}/orders", name=f"GET {ORDERS}", headers=self.auth)

    @task(2)
    def leaderboard(self) -> None:
        self.client.get(f"/v1/contests/{CONTEST_ID}/leaderboard", name="GET /v1/contests/{contestId}/leaderboard")

    @task(1)
    def paid_join(self) -> None:
        """Once per user: join (202 pending_payment), pay at localstripe, poll until the webhook made it active."""
        if self.paid or not PAID_CONTEST_ID or not self.token:
            return
        self.paid = True
        started = time.monotonic()
        joined = self.client.post(f"/v1/contests/{PAID_CONTEST_ID}/entries", headers=self.auth,
                                  name="POST /v1/contests/{contestId}/entries [paid]")
        if joined.status_code != 202:
            return
        intent = joined.json()["payment"]["paymentIntentId"]
        method = self.client.post(f"{STRIPE_URL}/v1/payment_methods", auth=STRIPE_KEY,
                                  name="localstripe POST /v1/payment_methods", data={
                                      "type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12",
                                      "card[exp_year]": "2030", "card[cvc]": "123"})
        if method.status_code != 200:
            return
        self.client.post(f"{STRIPE_URL}/v1/payment_intents/{intent}", auth=STRIPE_KEY,
                         name="localstripe POST /v1/payment_intents/{id}", data={"payment_method": method.json()["id"]})
        self.client.post(f"{STRIPE_URL}/v1/payment_intents/{intent}/confirm", auth=STRIPE_KEY,
                         name="localstripe POST /v1/payment_intents/{id}/confirm")
        deadline = started + PAYMENT_WAIT_SECONDS
        while time.monotonic() < deadline:
            seen = self.client.get(f"/v1/contests/{PAID_CONTEST_ID}/entries/me/payment", headers=self.auth,
                                   name="GET /v1/contests/{contestId}/entries/me/payment")
            if seen.status_code == 200 and seen.json()["status"] == "succeeded":
                record("flow paid join: 202 -> payment succeeded", 200, (time.monotonic() - started) * 1000)
                return
            time.sleep(0.5)
        record("flow paid join: 202 -> payment succeeded", 0, (time.monotonic() - started) * 1000,
               error=f"not succeeded within {PAYMENT_WAIT_SECONDS:.0f} s")
