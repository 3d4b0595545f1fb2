"""GET /v1/admin/audit: filters on actor, target and action (one query per page on an index), newest first."""

from __future__ import annotations

from typing import Any

import pytest

from functions import admin
from tests.support.admin import Crowd, admin_call, login, refresh

AUDIT = "/v1/admin/audit"


def audit(crowd: Crowd, **query: str) -> Any:
    return admin_call(admin.list_audit, "GET", AUDIT, crowd, query=query or None)


def _story(crowd: Crowd) -> None:
    """ava fails a login, reuses a refresh token, gets suspended and reinstated by the admin."""
    login("ava.stone@example.com", "wrong password!!")
    session = login("ava.stone@example.com")
    refresh(session.body["refreshToken"])
    refresh(session.body["refreshToken"])
    for verb, handler, body in (("suspend", admin.suspend_user, {"reason": "stolen card"}),
                                ("reinstate", admin.reinstate_user, None)):
        answer = admin_call(handler, "POST", f"/v1/admin/users/{{userId}}/{verb}", crowd,
                            params={"userId": crowd.ava.user_id}, body=body)
        assert answer.status == 200, answer.body


def test_the_whole_story_of_an_account_by_target(crowd: Crowd) -> None:
    _story(crowd)
    story = audit(crowd, targetId=crowd.ava.user_id)
    assert story.status == 200
    assert [event["action"] for event in story.body["items"]] == [
        "user.reinstated", "user.suspended", "auth.refresh_reused", "auth.login_failed"]
    assert story.body["nextCursor"] is None
    ids = [event["id"] for event in story.body["items"]]
    assert ids == sorted(ids, reverse=True)


def test_filters_by_actor_and_action_and_combined(crowd: Crowd) -> None:
    _story(crowd)
    by_admin = audit(crowd, actorId=crowd.admin.user_id)
    assert [event["action"] for event in by_admin.body["items"]] == ["user.reinstated", "user.suspended"]
    suspensions = audit(crowd, action="user.suspended")
    assert [event["targetId"] for event in suspensions.body["items"]] == [crowd.ava.user_id]
    both = audit(crowd, actorId=crowd.admin.user_id, action="user.reinstated")
    assert [event["action"] for event in both.body["items"]] == ["user.reinstated"]
    nothing = audit(crowd, targetId=crowd.ava.user_id, actorId=crowd.ben.user_id)
    assert nothing.body["items"] == []
    everything = audit(crowd)
    assert len(everything.body["items"]) == 4


def test_pages_newest_first_with_signed_cursors(crowd: Crowd) -> None:
    _story(crowd)
    seen: list[str] = []
    cursor = None
    while True:
        page = audit(crowd, limit="1", **({"cursor": cursor} if cursor else {}))
        assert page.status == 200, page.body
        seen += [event["id"] for event in page.body["items"]]
        cursor = page.body["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 4 and seen == sorted(seen, reverse=True)
    first = audit(crowd, limit="1")
    assert audit(crowd, limit="1", cursor=first.body["nextCursor"][:-3] + "abc").error_code == "INVALID_CURSOR"
    assert audit(crowd, limit="1", action="user.suspended",
                 cursor=first.body["nextCursor"]).error_code == "INVALID_CURSOR"


@pytest.mark.parametrize("query", [{"actor": "x"}, {"limit": "0"}, {"limit": "101"}, {"targetId": ""}])
def test_bad_filters_are_422(crowd: Crowd, query: dict[str, str]) -> None:
    answer = audit(crowd, **query)
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED")


def test_one_query_per_page(crowd: Crowd, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a filter that drops items, PynamoDB alone would read on to fill the page; the route reads once."""
    _story(crowd)
    from pynamodb.connection.base import Connection

    calls: list[str] = []
    original = Connection.query

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(kwargs.get("index_name")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "query", counting)
    audit(crowd, targetId=crowd.ava.user_id, action="auth.login_failed", limit="1")
    audit(crowd, action="user.suspended")
    audit(crowd, actorId=crowd.admin.user_id)
    audit(crowd)
    assert calls == ["GSI1", "GSI4", "None", "GSI2"]
