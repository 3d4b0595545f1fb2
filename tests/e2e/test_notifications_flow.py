"""Email as a player gets it, against the local stack: domain events -> EventBridge rule -> notifications queue ->
sender -> the SendGrid stand-in (on a free port here, 127.0.0.1:8025 in `make dev`). A player joins a short contest
and gets entry_confirmed, contest_starting and contest_ended (final rank inside), one each; a cancelled contest
sends one contest_cancelled."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.e2e.client import TIMEOUT, Player, sign_up

CONTEST_SECONDS = 12


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _contest(base_url: str, admin: Player, name: str, starts_in: float) -> str:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=starts_in)
    body = {"name": name, "startsAt": _iso(starts), "endsAt": _iso(starts + timedelta(seconds=CONTEST_SECONDS)),
            "startingCash": "100000.00"}
    created = requests.post(f"{base_url}/v1/contests", json=body, headers=admin.auth, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    contest_id: str = created.json()["id"]
    published = requests.post(f"{base_url}/v1/contests/{contest_id}/publish", headers=admin.auth, timeout=TIMEOUT)
    assert published.status_code == 200, published.text
    return contest_id


def _join(base_url: str, player: Player, contest_id: str) -> None:
    joined = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
    assert joined.status_code == 201, joined.text


def _mail(mail_url: str, to: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{mail_url}/api/messages", params={"to": to}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _wait_for_kinds(mail_url: str, to: str, kinds: set[str], seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        items = _mail(mail_url, to)
        if kinds <= {item["kind"] for item in items}:
            return items
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {sorted(kinds)}; got {[i['kind'] for i in _mail(mail_url, to)]}")


def test_a_short_contest_sends_confirmed_starting_and_ended_once_each(local_stack: Any, admin: Player) -> None:
    base_url, mail_url = local_stack.base_url, local_stack.mail_url
    player = sign_up(base_url)
    contest_id = _contest(base_url, admin, "E2E mail sprint", starts_in=4)
    _join(base_url, player, contest_id)
    wanted = {"entry_confirmed", "contest_starting", "contest_ended"}
    items = _wait_for_kinds(mail_url, player.email, wanted, CONTEST_SECONDS + 60)
    time.sleep(3)  # anything duplicated would have arrived by now
    items = _mail(mail_url, player.email)
    assert sorted(item["kind"] for item in items) == sorted(wanted), [i["kind"] for i in items]
    assert items[0]["kind"] == "contest_ended"  # newest first
    ended = items[0]
    assert ended["dynamicTemplateData"]["rank"] == "1" and ended["dynamicTemplateData"]["outOf"] == "1"
    assert "#1" in ended["subject"] and "100000.00" in ended["html"]
    assert f"/contests/{contest_id}/leaderboard" in ended["html"]
    page = requests.get(f"{mail_url}/", timeout=TIMEOUT)
    assert page.status_code == 200 and "E2E mail sprint has ended" in page.text


def test_a_cancelled_contest_sends_one_cancellation(local_stack: Any, admin: Player) -> None:
    base_url, mail_url = local_stack.base_url, local_stack.mail_url
    player = sign_up(base_url)
    contest_id = _contest(base_url, admin, "E2E mail cancelled", starts_in=300)
    _join(base_url, player, contest_id)
    cancelled = requests.post(f"{base_url}/v1/contests/{contest_id}/cancel", headers=admin.auth, timeout=TIMEOUT)
    assert cancelled.status_code == 200, cancelled.text
    _wait_for_kinds(mail_url, player.email, {"entry_confirmed", "contest_cancelled"}, 30)
    time.sleep(2)
    kinds = sorted(item["kind"] for item in _mail(mail_url, player.email))
    assert kinds == ["contest_cancelled", "entry_confirmed"]


def _pay_and_refund(local_stack: Any, admin: Player, player: Player) -> None:
    """A paid contest: the player joins, pays at localstripe, becomes active through the webhook; the admin refunds."""
    from tests.support import localstripe

    base_url = local_stack.base_url
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    created = requests.post(f"{base_url}/v1/contests", headers=admin.auth, timeout=TIMEOUT, json={
        "name": "E2E quiet paid", "startsAt": _iso(starts), "endsAt": _iso(starts + timedelta(days=1)),
        "entryFee": {"amount": "5.00", "currency": "eur"}})
    assert created.status_code == 201, created.text
    contest_id = created.json()["id"]
    assert requests.post(f"{base_url}/v1/contests/{contest_id}/publish", headers=admin.auth,
                         timeout=TIMEOUT).status_code == 200
    joined = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
    assert joined.status_code == 202, joined.text
    entry = joined.json()
    assert localstripe.pay(local_stack.stripe_url, entry["payment"]["paymentIntentId"])["status"] == "succeeded"
    deadline = time.monotonic() + 30
    while True:
        again = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
        if again.json()["status"] == "active":
            break
        assert time.monotonic() < deadline, "the webhook did not make the entry active within 30 s"
        time.sleep(0.5)
    refunded = requests.post(f"{base_url}/v1/admin/contests/{contest_id}/entries/{entry['id']}/refund",
                             headers=admin.auth, json={"reason": "asked for it"}, timeout=TIMEOUT)
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded", refunded.text


def test_reminders_off_in_patch_me_stop_starting_and_ended_mail_only(local_stack: Any, admin: Player) -> None:
    base_url, mail_url = local_stack.base_url, local_stack.mail_url
    quiet, keen = sign_up(base_url), sign_up(base_url)
    patched = requests.patch(f"{base_url}/v1/me", headers=quiet.auth, timeout=TIMEOUT,
                             json={"emailPreferences": {"contestReminders": False}})
    assert patched.status_code == 200 and patched.json()["emailPreferences"] == {"contestReminders": False}
    me = requests.get(f"{base_url}/v1/me", headers=quiet.auth, timeout=TIMEOUT)
    assert me.status_code == 200 and me.json()["emailPreferences"] == {"contestReminders": False}

    contest_id = _contest(base_url, admin, "E2E quiet sprint", starts_in=4)
    _join(base_url, quiet, contest_id)
    _join(base_url, keen, contest_id)
    # The player who kept reminders on gets all three: the events have run for everyone once these are in.
    _wait_for_kinds(mail_url, keen.email, {"entry_confirmed", "contest_starting", "contest_ended"},
                    CONTEST_SECONDS + 60)
    _pay_and_refund(local_stack, admin, quiet)
    _wait_for_kinds(mail_url, quiet.email, {"entry_confirmed", "entry_refunded"}, 30)
    time.sleep(3)  # anything late would have arrived by now
    kinds = sorted(item["kind"] for item in _mail(mail_url, quiet.email))
    assert kinds == ["entry_confirmed", "entry_confirmed", "entry_refunded"], kinds
