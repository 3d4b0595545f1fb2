"""`emailPreferences.contestReminders: false`, end to end in process: the player turns reminders off with
`PATCH /v1/me` (the account route, as the API calls it), `GET /v1/me` shows it, and then the contest's own events
run through the sender as the queue hands them over (fan-out steps and chunks included, final standings computed
by the lifecycle's hook): no contest_starting and no contest_ended for that player, while the transactional kinds
(entry confirmed, refunded, cancelled) still go, and a player who kept reminders on gets every kind."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from tickerleague.services.notifications import Outcome, SenderPorts, handle_message

from functions import account, auth
from tests.support.admin import route
from tests.unit.contests.helpers import make_person
from tests.unit.notifications.conftest import FakeQueue
from tests.unit.notifications.support import ReplayServer, make_contest, seed_entries

pytestmark = pytest.mark.usefixtures("sendgrid_key")


def _event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": f"ev-{detail_type}", "detail-type": detail_type, "source": "tickerleague.contests",
            "detail": detail}


def _deliver(body: dict[str, Any], name: str) -> Outcome:
    """One message and everything it queues, to exhaustion, one message at a time as the poller would."""
    total = Outcome()
    pending = [body]
    step = 0
    while pending:
        queue = FakeQueue()
        outcome = handle_message(json.loads(json.dumps(pending.pop(0))), f"{name}-{step}",
                                 SenderPorts(enqueue=queue, sleep=lambda seconds: None))
        step += 1
        total.sent += outcome.sent
        for reason, count in outcome.skipped.items():
            total.skipped[reason] = total.skipped.get(reason, 0) + count
        pending.extend(queue.bodies)
    return total


def test_reminders_off_in_patch_me_stop_starting_and_ended_but_not_transactional_mail(
        sendgrid_replay: ReplayServer) -> None:
    from tickerleague.services.leaderboard_recompute import compute_final_standings

    ava = make_person("ava.quiet@example.com", "Ava")
    ben = make_person("ben.keen@example.com", "Ben")
    patched = route(account.update_me, "PATCH", "/v1/me", caller=ava.caller,
                    body={"emailPreferences": {"contestReminders": False}})
    assert patched.status == 200 and patched.body["emailPreferences"] == {"contestReminders": False}
    assert route(auth.me, "GET", "/v1/me", caller=ava.caller).body["emailPreferences"] == {"contestReminders": False}
    assert route(auth.me, "GET", "/v1/me", caller=ben.caller).body["emailPreferences"] == {"contestReminders": True}

    contest_id = make_contest("Quiet Cup")
    players = [ava.caller.user_id, ben.caller.user_id]
    seed_entries(contest_id, players)
    for user_id in players:
        assert _deliver(_event("EntryConfirmed", {"contestId": contest_id, "entryId": f"e-{user_id}",
                                                  "userId": user_id}), f"confirmed-{user_id}").sent == 1
    started = _deliver(_event("ContestStarted", {"contestId": contest_id}), "started")
    assert (started.sent, started.skipped) == (1, {"opted_out": 1})
    compute_final_standings(contest_id, datetime.now(UTC))
    ended = _deliver(_event("ContestEnded", {"contestId": contest_id}), "ended")
    assert (ended.sent, ended.skipped) == (1, {"opted_out": 1})
    refunded = _deliver(_event("EntryRefunded", {"contestId": contest_id, "entryId": "e-ava", "userId": players[0],
                                                 "amount": "7.50", "currency": "eur"}), "refunded")
    assert refunded.sent == 1
    assert _deliver(_event("ContestCancelled", {"contestId": contest_id}), "cancelled").sent == 2

    received: dict[str, list[str]] = defaultdict(list)
    for request in sendgrid_replay.requests:
        body = request["body"]
        received[body["personalizations"][0]["to"][0]["email"]].append(body["custom_args"]["kind"])
    assert sorted(received["ava.quiet@example.com"]) == ["contest_cancelled", "entry_confirmed", "entry_refunded"]
    assert sorted(received["ben.keen@example.com"]) == ["contest_cancelled", "contest_ended", "contest_starting",
                                                        "entry_confirmed"]


def test_turning_reminders_back_on_sends_them_again(sendgrid_replay: ReplayServer) -> None:
    ava = make_person("ava.back@example.com", "Ava")
    for value in (False, True):
        answer = route(account.update_me, "PATCH", "/v1/me", caller=ava.caller,
                       body={"emailPreferences": {"contestReminders": value}})
        assert answer.body["emailPreferences"] == {"contestReminders": value}
    contest_id = make_contest("Back Cup")
    seed_entries(contest_id, [ava.caller.user_id])
    assert _deliver(_event("ContestStarted", {"contestId": contest_id}), "started").sent == 1
    assert [r["body"]["custom_args"]["kind"] for r in sendgrid_replay.requests] == ["contest_starting"]
