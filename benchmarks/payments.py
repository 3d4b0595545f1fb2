"""Webhook received -> entry active, over real HTTP against a running `make dev` (measured, never asserted).

    make dev                                     # in another terminal (or LOCAL_API_PORT=... LOCAL_STRIPE_PORT=...)
    .venv/bin/python -m benchmarks.payments --api http://127.0.0.1:3000 --stripe http://127.0.0.1:8420 --payments 100

For each payment: a fresh player joins a paid contest (202), pays at localstripe as a client would (PaymentMethod,
set on the PaymentIntent, confirm), then joins again every 50 ms until the entry is `active` (joining again never
reads Stripe, so only the webhook can make it active). Reported: confirm -> active, and that minus localstripe's own
1 s wait before it sends a webhook (`webhooks.py: asyncio.sleep(1)`), i.e. webhook sent -> entry active. `--workers`
payments run at once.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests

from tests.support import localstripe

LOCALSTRIPE_WEBHOOK_DELAY = 1.0
TIMEOUT = 30


def _token(api: str, email: str, password: str, *, signup: bool) -> str:
    path = "/v1/auth/signup" if signup else "/v1/auth/login"
    body = {"email": email, "password": password, **({"displayName": "Bench"} if signup else {})}
    answer = requests.post(f"{api}{path}", json=body, timeout=TIMEOUT)
    answer.raise_for_status()
    return str(answer.json()["accessToken"])


def _contest(api: str, admin: str, seats: int) -> str:
    now = datetime.now(UTC)
    auth = {"Authorization": f"Bearer {admin}"}
    created = requests.post(f"{api}/v1/contests", headers=auth, timeout=TIMEOUT, json={
        "name": f"Bench {uuid.uuid4().hex[:8]}", "startsAt": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endsAt": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "maxEntries": max(seats, 2),
        "entryFee": {"amount": "5.00", "currency": "usd"}})
    created.raise_for_status()
    contest_id = str(created.json()["id"])
    requests.post(f"{api}/v1/contests/{contest_id}/publish", headers=auth, timeout=TIMEOUT).raise_for_status()
    return contest_id


def _one(api: str, stripe: str, contest_id: str) -> float:
    player = _token(api, f"bench-{uuid.uuid4().hex[:12]}@example.com", "bench password 1234", signup=True)
    auth = {"Authorization": f"Bearer {player}"}
    joined = requests.post(f"{api}/v1/contests/{contest_id}/entries", headers=auth, timeout=TIMEOUT)
    joined.raise_for_status()
    intent = joined.json()["payment"]["paymentIntentId"]
    localstripe.pay(stripe, intent)
    confirmed = time.perf_counter()
    while True:
        again = requests.post(f"{api}/v1/contests/{contest_id}/entries", headers=auth, timeout=TIMEOUT)
        if again.json().get("status") == "active":
            return time.perf_counter() - confirmed
        if time.perf_counter() - confirmed > 60:
            raise RuntimeError(f"{intent}: not active after 60 s")
        time.sleep(0.05)


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:3000")
    parser.add_argument("--stripe", default="http://127.0.0.1:8420")
    parser.add_argument("--payments", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--admin-password", default="local-admin-password")
    args = parser.parse_args()
    admin = _token(args.api, "admin@example.com", args.admin_password, signup=False)
    contest_id = _contest(args.api, admin, args.payments)
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        times = list(pool.map(lambda _: _one(args.api, args.stripe, contest_id), range(args.payments)))
    after_send = [max(0.0, value - LOCALSTRIPE_WEBHOOK_DELAY) for value in times]
    print(f"| {args.payments} payments, {args.workers} at once | p50 | p95 | max |")
    print("|---|---|---|---|")
    for label, series in (("confirm -> active", times), ("webhook sent -> active", after_send)):
        print(f"| {label} | {statistics.median(series):.2f} s | {_pct(series, 95):.2f} s | {max(series):.2f} s |")


if __name__ == "__main__":
    main()
