"""Stopping the local stack mid-contest and starting it again on the same data loses nothing (`make dev` keeps its
data under .local/; here a state dir of the test's own, two stacks one after the other on it).

Before the stop: an active contest with a player in it, two open limit buys (one that can never fill, one that the
simulated prices will cross in a minute or two), a pending paid join, and the player's emails queued behind a SendGrid
that answers 429 with `Retry-After: 20` (a stand-in of the test's own, for this first stack only). After the start:
the orders are still open and the matching job fills the crossable one, the payment made now at localstripe makes the
entry active through the webhook, every queued email goes exactly once (same queue message, same at-most-once marker),
and the contest ends on time (its lifecycle re-armed by infra.seed.on_start), expiring the other order.

The simulated price of a symbol is a pure function of (symbol, minute), so the test picks a symbol and a limit that
cannot fill before the stop and must fill in either of the two minutes after it. About three and a half minutes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.client import ADMIN_EMAIL, ADMIN_PASSWORD, STACK_ENV, TIMEOUT, Player, log_in, sign_up
from tests.support import localstripe
from tests.support.waiting import wait_till

pytestmark = pytest.mark.slow

MINUTE = timedelta(minutes=1)
CENT = Decimal("0.01")
LEAD_SECONDS = 40  # from choosing the crossable order to the first minute that can fill it
RETRY_AFTER_SECONDS = 20  # the notifications queue's maxReceiveCount is 6: a few 429s never reach the dead letters


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class RefusingSendGrid:
    """`POST /v3/mail/send` answered 429 with Retry-After, every attempt recorded as (recipient, kind, contest)."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                for personalization in body.get("personalizations", []):
                    custom = {**(body.get("custom_args") or {}), **(personalization.get("custom_args") or {})}
                    data = personalization.get("dynamic_template_data") or body.get("dynamic_template_data") or {}
                    outer.attempts.extend((to["email"], str(custom.get("kind")), str(data.get("contestName")))
                                          for to in personalization["to"])
                answer = json.dumps({"errors": [{"message": "too many requests"}]}).encode()
                self.send_response(429)
                self.send_header("Retry-After", str(RETRY_AFTER_SECONDS))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RefusingSendGrid:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def refusing_sendgrid() -> Iterator[RefusingSendGrid]:
    with RefusingSendGrid() as server:
        yield server


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _crossing_after_restart(now: datetime) -> tuple[str, Decimal, datetime]:
    """A symbol, a limit, and the first minute it can fill: every price a placement (or a refresh before that
    minute) can see is above the limit, and the prices of that minute and the next are at or below it. The first
    minute is at least LEAD_SECONDS away, time enough to place the orders and stop the stack; the two minutes give
    the restart a minute of slack."""
    from tickerleague.adapters.quotes.simulated import price_at
    from tickerleague.domain.symbols import SymbolUniverse

    first = _minute(now) + (MINUTE if now.second <= 60 - LEAD_SECONDS else 2 * MINUTE)
    before = [_minute(now) - 2 * MINUTE + step * MINUTE for step in range(int((first - _minute(now)) / MINUTE) + 2)]
    for symbol in SymbolUniverse.default().symbols():
        seen = min(price_at(symbol, moment) for moment in before)
        limit = max(price_at(symbol, first), price_at(symbol, first + MINUTE))
        if Decimal(10) < limit < seen * Decimal("0.999"):
            return symbol, limit, first
    raise AssertionError("no symbol falls for two minutes")


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def post(self, path: str, who: Player, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.base_url}{path}", headers=who.auth, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, who: Player) -> dict[str, Any]:
        answer = requests.get(f"{self.base_url}{path}", headers=who.auth, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def contest(self, admin: Player, body: dict[str, Any]) -> str:
        created = self.post("/v1/contests", admin, json=body)
        assert created.status_code == 201, created.text
        contest_id: str = created.json()["id"]
        published = self.post(f"/v1/contests/{contest_id}/publish", admin)
        assert published.status_code == 200, published.text
        return contest_id


def _admin(base_url: str) -> Player:
    body = log_in(base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    return Player(ADMIN_EMAIL, ADMIN_PASSWORD, body["user"]["id"], body["accessToken"], body["refreshToken"])


def _mails(mail_url: str, to: str) -> list[tuple[str, str]]:
    """(kind, contest name) of every email the mail stand-in kept for `to`."""
    answer = requests.get(f"{mail_url}/api/messages", params={"to": to}, timeout=TIMEOUT)
    answer.raise_for_status()
    return [(mail["kind"], str(mail["dynamicTemplateData"].get("contestName"))) for mail in answer.json()["items"]]


def test_a_restart_mid_contest_loses_no_order_payment_timer_or_email(
        tmp_path: Path, refusing_sendgrid: RefusingSendGrid) -> None:
    from infra.local.harness import running_stack
    from infra.local.mailbox import local_template_ids_setting
    from infra.local.template import DEFAULT_PARAMETERS_FILE

    # The first stack has no mail stand-in: its functions send to the refusing SendGrid (the template's parameters).
    parameters = json.loads(DEFAULT_PARAMETERS_FILE.read_text(encoding="utf-8"))
    parameters["Parameters"].update(SendGridApiBase=refusing_sendgrid.url,
                                    SendGridTemplateIds=local_template_ids_setting())
    refusing_parameters = tmp_path / "parameters.json"
    refusing_parameters.write_text(json.dumps(parameters), encoding="utf-8")
    state_dir = tmp_path / "state"
    with running_stack(env_overrides=STACK_ENV, state_dir=state_dir, mail_port=0,
                       parameters_file=refusing_parameters) as first:
        api = Api(first.base_url)
        admin = _admin(first.base_url)
        player = sign_up(first.base_url)
        now = datetime.now(UTC)
        symbol, limit, fills_from = _crossing_after_restart(now)
        starts = now.replace(microsecond=0) + timedelta(seconds=4)
        ends = fills_from + 2 * MINUTE + timedelta(seconds=10)  # after both minutes that can fill the order
        contest_id = api.contest(admin, {"name": "Restart e2e", "startsAt": _iso(starts), "endsAt": _iso(ends),
                                         "startingCash": "100000.00"})
        paid_id = api.contest(admin, {"name": "Restart e2e paid", "startsAt": _iso(now + timedelta(hours=1)),
                                      "endsAt": _iso(now + timedelta(days=1)),
                                      "entryFee": {"amount": "5.00", "currency": "usd"}})
        joined = api.post(f"/v1/contests/{contest_id}/entries", player)
        assert joined.status_code == 201, joined.text
        pending = api.post(f"/v1/contests/{paid_id}/entries", player)
        assert pending.status_code == 202 and pending.json()["status"] == "pending_payment", pending.text
        intent_id = pending.json()["payment"]["paymentIntentId"]
        wait_till("the contest to start",
                  lambda: api.get(f"/v1/contests/{contest_id}", player)["status"] == "active", 30)

        orders = f"/v1/contests/{contest_id}/orders"
        quote = Decimal(api.get("/v1/stocks/MSFT/quote", player)["price"])
        never = api.post(orders, player, json={
            "symbol": "MSFT", "side": "buy", "quantity": "2", "type": "limit", "timeInForce": "gtc",
            "limitPrice": str((quote / 2).quantize(CENT, rounding=ROUND_HALF_EVEN))})
        later = api.post(orders, player, json={"symbol": symbol, "side": "buy", "quantity": "3", "type": "limit",
                                                "timeInForce": "gtc", "limitPrice": str(limit)})
        assert never.status_code == 201 and later.status_code == 201, (never.text, later.text)
        never_id, later_id = never.json()["id"], later.json()["id"]
        cash_before = api.get(f"/v1/contests/{contest_id}/portfolio", player)["cash"]

        # The join's entry_confirmed (and the start's contest_starting) met the 429 and wait in the queue.
        wait_till("the sender to try the player's email", lambda: any(
            to == player.email for to, _, _ in refusing_sendgrid.attempts), 30, every=0.25)
        for order_id in (never_id, later_id):
            assert api.get(f"{orders}/{order_id}", player)["status"] == "open"
    tried = {(kind, contest) for to, kind, contest in refusing_sendgrid.attempts if to == player.email}
    assert ("entry_confirmed", "Restart e2e") in tried, tried
    assert (state_dir / "queues.json").exists(), "the clean stop saved no queued message"

    with running_stack(env_overrides=STACK_ENV, state_dir=state_dir) as second:
        assert second.mail_url is not None and second.stripe_url is not None
        api = Api(second.base_url)
        # Tokens issued before the restart still work (signing keys and sessions are on disk).
        assert api.get(f"/v1/contests/{contest_id}", player)["status"] == "active"
        assert api.get(f"{orders}/{never_id}", player)["status"] == "open"
        assert api.get(f"{orders}/{later_id}", player)["status"] in {"open", "filled"}
        assert api.get(f"/v1/contests/{contest_id}/portfolio", player)["cash"] == cash_before

        # The pending payment: paid now, at the localstripe that kept its PaymentIntent; the webhook alone (joining
        # again never reads Stripe) makes the entry active.
        assert localstripe.pay(second.stripe_url, intent_id)["status"] == "succeeded"
        wait_till("the paid entry to become active", lambda: api.post(
            f"/v1/contests/{paid_id}/entries", player).json()["status"] == "active", 30, every=0.5)

        # Every email that waited in the queue goes (the restored message keeps its id, so the at-most-once marker
        # its first attempt claimed is still its own).
        mail_url = second.mail_url
        wait_till("the queued emails to go after the restart",
                  lambda: tried <= set(_mails(mail_url, player.email)), RETRY_AFTER_SECONDS + 40)
        filled = wait_till("the crossable order to fill", lambda: (
            order if (order := api.get(f"{orders}/{later_id}", player))["status"] == "filled" else None),
            max(0.0, (fills_from + 2 * MINUTE - datetime.now(UTC)).total_seconds()) + 20)
        assert Decimal(filled["filledPrice"]) <= limit and filled["filledQuantity"] == "3"

        wait_till("the contest to end on time", lambda: api.get(
            f"/v1/contests/{contest_id}", player)["status"] == "ended",
            max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 30)
        wait_till("the never-crossed order to expire at the end",
                  lambda: api.get(f"{orders}/{never_id}", player)["status"] == "expired", 20)
        # ... once each: no email twice, whatever was retried before and after the restart.
        mails = _mails(mail_url, player.email)
        assert len(mails) == len(set(mails)), mails
        assert ("entry_confirmed", "Restart e2e paid") in mails, mails
