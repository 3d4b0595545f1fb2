"""Admin tools and account self-service over real HTTP against the local stack (gateway, authorizer, handlers,
DynamoDB Local): the story of issue 11's "done when", as a new operator and a new player would try it with curl."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.e2e.client import TIMEOUT, Player, assert_envelope, log_in, sign_up, unique_email


def _get(base_url: str, path: str, who: Player, **params: str) -> requests.Response:
    return requests.get(f"{base_url}{path}", params=params or None, headers=who.auth, timeout=TIMEOUT)


def _post(base_url: str, path: str, body: Any, who: Player | None = None) -> requests.Response:
    return requests.post(f"{base_url}{path}", json=body, headers=who.auth if who else None, timeout=TIMEOUT)


def test_admin_finds_suspends_reinstates_and_reads_the_story(base_url: str, admin: Player) -> None:
    email = unique_email("suspect")
    player = sign_up(base_url, email=email)

    found = _get(base_url, "/v1/admin/users", admin, query=email[:14].upper())
    assert found.status_code == 200, found.text
    assert [user["id"] for user in found.json()["items"]] == [player.user_id]
    assert_envelope(_get(base_url, "/v1/admin/users", player), 403, "FORBIDDEN")
    assert_envelope(requests.get(f"{base_url}/v1/admin/users", timeout=TIMEOUT), 401, "UNAUTHENTICATED")

    assert_envelope(_post(base_url, f"/v1/admin/users/{player.user_id}/suspend", {}, admin), 422,
                    "VALIDATION_FAILED")
    suspended = _post(base_url, f"/v1/admin/users/{player.user_id}/suspend", {"reason": "chargebacks"}, admin)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    started = time.monotonic()
    while _get(base_url, "/v1/me", player).status_code == 200:  # the old access token stops within a minute
        assert time.monotonic() - started < 60, "a suspended user's access token still works after 60 s"
        time.sleep(1)
    assert _get(base_url, "/v1/me", player).status_code in (401, 403)
    assert_envelope(_post(base_url, "/v1/auth/login", {"email": email, "password": player.password}), 403,
                    "ACCOUNT_SUSPENDED")
    assert_envelope(_post(base_url, "/v1/auth/refresh", {"refreshToken": player.refresh_token}), 403,
                    "ACCOUNT_SUSPENDED")
    assert_envelope(_post(base_url, f"/v1/admin/users/{admin.user_id}/suspend", {"reason": "me"}, admin), 409,
                    "INVALID_STATE_TRANSITION")

    reinstated = _post(base_url, f"/v1/admin/users/{player.user_id}/reinstate", {"reason": "appeal"}, admin)
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "active", reinstated.text
    again = log_in(base_url, email, player.password)
    me = requests.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {again['accessToken']}"},
                      timeout=TIMEOUT)
    assert me.status_code == 200, me.text
    assert_envelope(_post(base_url, "/v1/auth/refresh", {"refreshToken": player.refresh_token}), 401,
                    "UNAUTHENTICATED")

    story = _get(base_url, "/v1/admin/audit", admin, targetId=player.user_id)
    assert story.status_code == 200, story.text
    events = story.json()["items"]
    assert [event["action"] for event in events] == ["user.reinstated", "user.suspended"]
    assert events[1]["reason"] == "chargebacks" and events[1]["actorId"] == admin.user_id
    assert events[1]["requestId"] == suspended.headers["X-Request-Id"] and events[1]["sourceIp"]
    assert_envelope(_get(base_url, "/v1/admin/audit", admin, cursor="forged.cursor"), 400, "INVALID_CURSOR")


def test_player_changes_display_name_and_password(base_url: str) -> None:
    player = sign_up(base_url)
    other_session = log_in(base_url, player.email, player.password)
    renamed = requests.patch(f"{base_url}/v1/me", json={"displayName": "Renamed Player",
                                                         "emailPreferences": {"contestReminders": False}},
                             headers=player.auth, timeout=TIMEOUT)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["displayName"] == "Renamed Player"
    assert renamed.json()["emailPreferences"] == {"contestReminders": False}

    wrong = _post(base_url, "/v1/auth/password", {"currentPassword": "not it at all", "newPassword": "x" * 12},
                  player)
    assert_envelope(wrong, 401, "INVALID_CREDENTIALS")
    new_password = "a brand new passphrase"
    changed = _post(base_url, "/v1/auth/password", {"currentPassword": player.password, "newPassword": new_password},
                    player)
    assert changed.status_code == 204, changed.text
    assert_envelope(_post(base_url, "/v1/auth/refresh", {"refreshToken": other_session["refreshToken"]}), 401,
                    "UNAUTHENTICATED")
    assert _post(base_url, "/v1/auth/refresh", {"refreshToken": player.refresh_token}).status_code == 200
    assert_envelope(_post(base_url, "/v1/auth/login", {"email": player.email, "password": player.password}), 401,
                    "INVALID_CREDENTIALS")
    assert log_in(base_url, player.email, new_password)["user"]["displayName"] == "Renamed Player"


def test_password_reset_answers_alike_and_refuses_a_bad_token(base_url: str) -> None:
    player = sign_up(base_url)
    for email in (player.email, unique_email("nobody")):
        answer = _post(base_url, "/v1/auth/password-reset", {"email": email})
        assert (answer.status_code, answer.text) == (202, ""), email
    bad = _post(base_url, "/v1/auth/password-reset/confirm", {"token": "not-a-token", "newPassword": "x" * 12})
    assert_envelope(bad, 400, "INVALID_TOKEN")
