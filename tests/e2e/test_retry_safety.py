"""Retry and abuse safety over real HTTP against the local stack: a contest created twice with one Idempotency-Key
exists once (the second answer says it was replayed), and 60 quick orders from one player hit 429 with Retry-After
and RateLimit headers while another player trades on. The order bucket has the contract's numbers here
(tests/e2e/client.py STACK_ENV); 30 burst, 1 per second."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import requests

from tests.e2e.client import TIMEOUT, Player, assert_envelope, sign_up


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _contest_body(name: str, starts_in: timedelta, lasts: timedelta) -> dict[str, str]:
    starts = datetime.now(UTC).replace(microsecond=0) + starts_in
    return {"name": name, "startsAt": _iso(starts), "endsAt": _iso(starts + lasts), "startingCash": "100000.00"}


def test_a_contest_created_twice_with_one_key_exists_once(base_url: str, admin: Player) -> None:
    name = f"Idempotent {uuid.uuid4().hex[:8]}"
    body = _contest_body(name, timedelta(days=3), timedelta(days=3))
    headers = {**admin.auth, "Idempotency-Key": f"create-{uuid.uuid4()}"}
    first = requests.post(f"{base_url}/v1/contests", json=body, headers=headers, timeout=TIMEOUT)
    again = requests.post(f"{base_url}/v1/contests", json=body, headers=headers, timeout=TIMEOUT)
    assert (first.status_code, again.status_code) == (201, 201), (first.text, again.text)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.json() == first.json()
    slug = first.json()["slug"]
    second = requests.get(f"{base_url}/v1/contests/{slug}-2", headers=admin.auth, timeout=TIMEOUT)
    assert_envelope(second, 404, "NOT_FOUND")  # no second contest was made
    other = requests.post(f"{base_url}/v1/contests", json={**body, "name": name + " b"}, headers=headers,
                          timeout=TIMEOUT)
    assert_envelope(other, 422, "IDEMPOTENCY_KEY_REUSED")


def test_60_quick_orders_hit_429_while_another_player_trades_on(base_url: str, admin: Player) -> None:
    body = _contest_body("E2E rate limits", timedelta(seconds=3), timedelta(minutes=5))
    created = requests.post(f"{base_url}/v1/contests", json=body, headers=admin.auth, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    contest_id = created.json()["id"]
    published = requests.post(f"{base_url}/v1/contests/{contest_id}/publish", headers=admin.auth, timeout=TIMEOUT)
    assert published.status_code == 200, published.text
    hammer, calm = sign_up(base_url), sign_up(base_url)
    for player in (hammer, calm):
        joined = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
        assert joined.status_code == 201, joined.text
    deadline = time.monotonic() + 30
    while requests.get(f"{base_url}/v1/contests/{contest_id}", headers=calm.auth,
                       timeout=TIMEOUT).json()["status"] != "active":
        assert time.monotonic() < deadline, "the contest did not start"
        time.sleep(1)

    order = {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market"}
    url = f"{base_url}/v1/contests/{contest_id}/orders"
    began = time.monotonic()
    answers = [requests.post(url, json=order, headers=hammer.auth, timeout=TIMEOUT) for _ in range(60)]
    elapsed = time.monotonic() - began
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {201, 429}, statuses
    assert statuses[:30] == [201] * 30 and 429 in statuses
    assert statuses.count(201) <= 30 + int(elapsed) + 1
    for answer in answers:
        assert answer.headers["RateLimit-Limit"] == "30"
        assert int(answer.headers["RateLimit-Remaining"]) >= 0 and int(answer.headers["RateLimit-Reset"]) >= 0
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert_envelope(refused, 429, "RATE_LIMITED")
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["RateLimit-Remaining"] == "0"

    traded = requests.post(url, json=order, headers=calm.auth, timeout=TIMEOUT)
    assert traded.status_code == 201, traded.text
    assert traded.headers["RateLimit-Remaining"] == "29"
    # The limited player may still read (another bucket).
    portfolio = requests.get(f"{base_url}/v1/contests/{contest_id}/portfolio", headers=hammer.auth, timeout=TIMEOUT)
    assert portfolio.status_code == 200, portfolio.text
