"""No secret reaches the logs: a short game flow against the local stack, then every line its functions (and its
gateway) wrote is searched for every secret value the run used.

The flow: sign up, a wrong login, log in, refresh, an authorized read, a password reset (requested, its token taken
from the emailed link, confirmed), a paid join of a contest the admin creates (localstripe's client secret), paying
at localstripe (its signed webhook -> receiver -> queue -> processor) and the emails that follow (SendGrid's key).
The values searched: the passwords (right, wrong, new, the admin's), every access and refresh token issued, the
reset token, the PaymentIntent's client secret, the local Stripe secret key and webhook secret, and every generated
secret of the stack (JWT signing keys, SendGrid key; infra/local/resources.py). A token is also searched by its
signature alone, so a line holding part of it is found too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

from infra.local.resources import generated_secret_values, local_secret_values
from tests.e2e.client import ADMIN_PASSWORD, SIGNING_KEYS, TIMEOUT, Player, sign_up, unique_email
from tests.support import localstripe

MIN_SECRET_LENGTH = 8  # shorter values would match by chance; every secret here is far longer


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _post(base_url: str, path: str, body: dict[str, Any] | None, player: Player | None = None) -> requests.Response:
    headers = player.auth if player else {}
    return requests.post(f"{base_url}{path}", json=body, headers=headers, timeout=TIMEOUT)


def _wait(what: str, seconds: float, probe: Any) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:.0f} s"
        time.sleep(0.25)


def _mail(mail_url: str, to: str, kind: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{mail_url}/api/messages", params={"to": to}, timeout=TIMEOUT)
    answer.raise_for_status()
    return [item for item in answer.json()["items"] if item["kind"] == kind]


def searched_forms(value: str) -> set[str]:
    """A value as it may appear in a line: itself, URL-quoted, and a token's signature (the part after its last
    dot) when that is long enough to be its own."""
    forms = {value, quote(value, safe="")}
    head, dot, tail = value.rpartition(".")
    if dot and head and len(tail) >= 16:
        forms.add(tail)
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def leaks(lines: Iterable[str], secrets: dict[str, str]) -> list[str]:
    """`what: line` for every line holding a form of a secret (the secrets in it masked: the report is a log too)."""
    forms = {form: what for what, value in secrets.items() for form in searched_forms(value)}
    found = []
    for line in lines:
        held = dict.fromkeys(what for form, what in forms.items() if form in line)
        masked = line.strip()
        for form in sorted((f for f in forms if f in masked), key=len, reverse=True):
            masked = masked.replace(form, f"<{forms[form]}>")
        found.extend(f"{what}: {masked[:300]}" for what in held)
    return found


def test_the_leak_search_finds_a_secret_whole_quoted_or_by_its_signature() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    lines = [
        "ok line",
        f"Authorization: Bearer {token}",
        "url /x?p=pass%20word%2042",
        "sig c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
    ]
    found = leaks(lines, {"access token": token, "password": "pass word 42"})
    assert [entry.split(":")[0] for entry in found] == ["access token", "password", "access token"], found
    assert not leaks(["nothing here"], {"password": "pass word 42"})
    assert "pass word 42" not in found[1] and "<password>" in found[1]


def test_no_secret_reaches_the_logs(local_stack: Any, base_url: str, admin: Player) -> None:
    secrets: dict[str, str] = {
        "admin password": ADMIN_PASSWORD,
        "admin access token": admin.access_token,
        "admin refresh token": admin.refresh_token,
    }

    # sign up, a wrong password, log in, refresh, an authorized read
    player = sign_up(base_url, email=unique_email("leak"))
    secrets |= {
        "password": player.password,
        "signup access token": player.access_token,
        "signup refresh token": player.refresh_token,
    }
    wrong = "a wrong password typed by a player 9"
    secrets["wrong password"] = wrong
    assert _post(base_url, "/v1/auth/login", {"email": player.email, "password": wrong}).status_code == 401
    logged_in = _post(base_url, "/v1/auth/login", {"email": player.email, "password": player.password})
    assert logged_in.status_code == 200, logged_in.text
    secrets |= {
        "login access token": logged_in.json()["accessToken"],
        "login refresh token": logged_in.json()["refreshToken"],
    }
    refreshed = _post(base_url, "/v1/auth/refresh", {"refreshToken": logged_in.json()["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    secrets |= {
        "refreshed access token": refreshed.json()["accessToken"],
        "refreshed refresh token": refreshed.json()["refreshToken"],
    }
    me = requests.get(
        f"{base_url}/v1/me", timeout=TIMEOUT, headers={"Authorization": f"Bearer {refreshed.json()['accessToken']}"}
    )
    assert me.status_code == 200, me.text

    # a password reset, its token from the emailed link
    assert _post(base_url, "/v1/auth/password-reset", {"email": player.email}).status_code == 202
    mails = _wait("the reset email", 60, lambda: _mail(local_stack.mail_url, player.email, "password_reset"))
    reset_url = mails[0]["dynamicTemplateData"]["resetUrl"]
    token = parse_qs(urlsplit(reset_url).query)["token"][0]
    new_password = "the player's brand new password 7"
    secrets |= {"reset token": token, "new password": new_password}
    confirmed = _post(base_url, "/v1/auth/password-reset/confirm", {"token": token, "newPassword": new_password})
    assert confirmed.status_code in (200, 204), confirmed.text
    relogged = _post(base_url, "/v1/auth/login", {"email": player.email, "password": new_password})
    assert relogged.status_code == 200, relogged.text
    player = Player(
        player.email, new_password, player.user_id, relogged.json()["accessToken"], relogged.json()["refreshToken"]
    )
    secrets |= {"new access token": player.access_token, "new refresh token": player.refresh_token}

    # a paid join through localstripe, its webhook, the emails that follow
    now = datetime.now(UTC)
    created = _post(
        base_url,
        "/v1/contests",
        {
            "name": f"Leak check {now.timestamp():.0f}",
            "startsAt": _iso(now + timedelta(hours=1)),
            "endsAt": _iso(now + timedelta(days=1)),
            "entryFee": {"amount": "3.00", "currency": "usd"},
        },
        admin,
    )
    assert created.status_code == 201, created.text
    contest_id = created.json()["id"]
    assert _post(base_url, f"/v1/contests/{contest_id}/publish", None, admin).status_code == 200
    joined = _post(base_url, f"/v1/contests/{contest_id}/entries", None, player)
    assert joined.status_code == 202, joined.text
    payment = joined.json()["payment"]
    secrets["client secret"] = payment["clientSecret"]
    assert localstripe.pay(local_stack.stripe_url, payment["paymentIntentId"])["status"] == "succeeded"
    _wait(
        "the webhook",
        30,
        lambda: _post(base_url, f"/v1/contests/{contest_id}/entries", None, player).json()["status"] == "active",
    )
    _wait("the entry email", 60, lambda: _mail(local_stack.mail_url, player.email, "entry_confirmed"))

    # the stack's own secrets
    secrets |= {f"local secret {index}": value for index, value in enumerate(local_secret_values())}
    secrets |= {
        f"generated secret {index}": value
        for index, value in enumerate(generated_secret_values(Path(local_stack.state_dir)))
    }
    secrets |= {f"signing key {kid}": key for kid, key in SIGNING_KEYS.items() if kid != "current"}
    short = [what for what, value in secrets.items() if len(value) < MIN_SECRET_LENGTH]
    assert not short, f"too short to search for: {short}"
    assert any(what.startswith("generated secret") for what in secrets), "the stack generated no secret?"

    log_path = Path(local_stack.log_path)
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    # The log is the functions' own: it holds the access lines of the routes this flow called.
    for resource in ("/v1/auth/signup", "/v1/auth/refresh", "/v1/auth/password-reset/confirm", "/v1/webhooks/stripe"):
        assert any(f'"resource":"{resource}"' in line or f'"resource": "{resource}"' in line for line in lines), (
            f"no access line of {resource} in {log_path}"
        )
    found = leaks(lines, secrets)
    assert not found, f"{len(found)} log line(s) hold a secret:\n  " + "\n  ".join(found[:40])
