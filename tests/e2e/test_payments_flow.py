"""A paid contest over real HTTP against the local stack and its localstripe: the admin creates and publishes a paid
contest, a player joins (202), pays at localstripe as a client would (PaymentMethod, set it on the PaymentIntent,
confirm), becomes active through the webhook alone (localstripe -> receiver -> SQS -> processor), the admin refunds
the entry (one refund at localstripe however often it is asked)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.e2e.client import TIMEOUT, Player, assert_envelope, sign_up
from tests.support import localstripe


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _entry_status(base_url: str, player: Player, contest_id: str) -> str:
    """Joining again answers the entry as it is (200) and never reads Stripe: only the webhook can have changed it."""
    answer = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


def test_join_pay_active_refund(local_stack: Any, base_url: str, admin: Player) -> None:
    now = datetime.now(UTC)
    created = requests.post(f"{base_url}/v1/contests", headers=admin.auth, timeout=TIMEOUT, json={
        "name": f"Paid e2e {now.timestamp():.0f}", "startsAt": _iso(now + timedelta(hours=1)),
        "endsAt": _iso(now + timedelta(days=1)), "entryFee": {"amount": "7.50", "currency": "eur"}, "maxEntries": 10})
    assert created.status_code == 201, created.text
    assert created.json()["entryFee"] == {"amount": "7.50", "currency": "eur"}
    contest_id = created.json()["id"]
    published = requests.post(f"{base_url}/v1/contests/{contest_id}/publish", headers=admin.auth, timeout=TIMEOUT)
    assert published.status_code == 200, published.text

    player = sign_up(base_url)
    joined = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
    assert joined.status_code == 202, joined.text
    entry = joined.json()
    assert entry["status"] == "pending_payment"
    payment = entry["payment"]
    assert (payment["amount"], payment["currency"], payment["status"]) == ("7.50", "eur", "requires_payment_method")
    assert payment["clientSecret"].startswith(payment["paymentIntentId"])
    again = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
    assert again.status_code == 200 and again.json()["payment"]["paymentIntentId"] == payment["paymentIntentId"]

    intent = localstripe.pay(local_stack.stripe_url, payment["paymentIntentId"])
    assert intent["status"] == "succeeded" and intent["amount"] == 750
    deadline = time.monotonic() + 20
    while _entry_status(base_url, player, contest_id) != "active":
        assert time.monotonic() < deadline, "the webhook did not make the entry active within 20 s"
        time.sleep(0.25)
    seen = requests.get(f"{base_url}/v1/contests/{contest_id}/entries/me/payment", headers=player.auth,
                        timeout=TIMEOUT).json()
    assert (seen["status"], seen["clientSecret"], seen["refundedAmount"]) == ("succeeded", None, "0.00")

    refund_path = f"{base_url}/v1/admin/contests/{contest_id}/entries/{entry['id']}/refund"
    forbidden = requests.post(refund_path, headers=player.auth, json={"reason": "mine"}, timeout=TIMEOUT)
    assert_envelope(forbidden, 403, "FORBIDDEN")
    for _ in range(3):
        refunded = requests.post(refund_path, headers=admin.auth, json={"reason": "duplicate charge"},
                                 timeout=TIMEOUT)
        assert refunded.status_code == 200, refunded.text
        assert refunded.json()["status"] == "refunded"
    assert len(localstripe.refunds(local_stack.stripe_url, payment["paymentIntentId"])) == 1
    seen = requests.get(f"{base_url}/v1/contests/{contest_id}/entries/me/payment", headers=player.auth,
                        timeout=TIMEOUT).json()
    assert (seen["status"], seen["refundedAmount"]) == ("refunded", "7.50")


def test_bad_webhooks_are_400_in_the_envelope(base_url: str) -> None:
    unsigned = requests.post(f"{base_url}/v1/webhooks/stripe", data=b'{"id": "evt_1", "type": "x"}', timeout=TIMEOUT,
                             headers={"Content-Type": "application/json"})
    assert_envelope(unsigned, 400, "BAD_SIGNATURE")
    forged = requests.post(f"{base_url}/v1/webhooks/stripe", data=b'{"id": "evt_1"}', timeout=TIMEOUT,
                           headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"})
    assert_envelope(forged, 400, "BAD_SIGNATURE")
