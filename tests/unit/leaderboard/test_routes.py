"""The three leaderboard routes in-process (handlers, services, moto table), black-box style: status, body, codes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import leaderboard as board
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb.plumbing import Meter
from tickerleague.config import settings
from tickerleague.domain.contests import Contest, ContestStatus, Visibility
from tickerleague.services import leaderboard_recompute

from functions import leaderboard as routes
from tests.support.events import Caller, HttpAnswer, api_event, call
from tests.support.leaderboard import (
    START,
    T0,
    FixedContests,
    FixedPrices,
    add_entry,
    entry_item,
    make_contest,
    put_entries,
)

MINUTE = timedelta(minutes=1)
PASSWORD = "correct horse battery"


def person(email: str, role: str = "user") -> tuple[Caller, dict[str, str]]:
    from tickerleague.services import auth

    result = auth.signup(email, PASSWORD, email.split("@", maxsplit=1)[0], datetime.now(UTC), role=role)
    return Caller(result.user.id, role), {"Authorization": f"Bearer {result.access_token}"}


def board_of(
    reference: str, *, query: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> HttpAnswer:
    path = f"/v1/contests/{reference}/leaderboard"
    return call(
        routes.get_leaderboard,
        api_event(
            "GET",
            path,
            resource="/v1/contests/{contestId}/leaderboard",
            path_params={"contestId": reference},
            query=query,
            headers=headers,
        ),
    )


def me_in(contest_id: str, caller: Caller | None) -> HttpAnswer:
    return call(
        routes.me,
        api_event(
            "GET",
            f"/v1/contests/{contest_id}/leaderboard/me",
            resource="/v1/contests/{contestId}/leaderboard/me",
            path_params={"contestId": contest_id},
            caller=caller,
        ),
    )


def history_in(contest_id: str, caller: Caller | None) -> HttpAnswer:
    return call(
        routes.history,
        api_event(
            "GET",
            f"/v1/contests/{contest_id}/portfolio/history",
            resource="/v1/contests/{contestId}/portfolio/history",
            path_params={"contestId": contest_id},
            caller=caller,
        ),
    )


def recompute(contest: Contest, at: datetime = T0, prices: dict[str, str] | None = None) -> None:
    report = leaderboard_recompute.recompute_contest(contest, at, FixedPrices(prices or {}))
    assert report.outcome in ("published", "unchanged")


def all_pages(reference: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        answer = board_of(reference, query={"limit": str(limit), **({"cursor": cursor} if cursor else {})})
        assert answer.status == 200, answer.body
        pages += 1
        items += answer.body["items"]
        cursor = answer.body["nextCursor"]
        if cursor is None:
            return items, pages


def seeded(count: int, contest: Contest | None = None) -> tuple[Contest, list[Any]]:
    """`count` entries with distinct cash, some ties: cash = 100000 - 10 * (i // 2)."""
    target = contest or make_contest()
    entries = [
        entry_item(target, cash=START - 10 * (index // 2), joined_at=T0 - timedelta(seconds=1000 - index))
        for index in range(count)
    ]
    put_entries(entries)
    return target, entries


# ---------------------------------------------------------------------------------------------------- the board
@pytest.mark.parametrize("limit", [100, 7, 20])
def test_pages_cover_every_entry_once_in_rank_order(limit: int) -> None:
    contest, entries = seeded(250)
    recompute(contest)
    items, pages = all_pages(contest.contest_id, limit)
    assert pages == -(-250 // limit)
    assert [item["entryId"] for item in items] == [entry.entry_id for entry in entries]  # ties: earlier join first
    assert [item["rank"] for item in items[:5]] == [1, 1, 3, 3, 5]
    first = items[0]
    assert set(first) == {"rank", "entryId", "userId", "displayName", "totalValue", "returnPct"}
    assert (first["totalValue"], first["returnPct"]) == ("100000.00", "0.0000")
    assert (items[-1]["totalValue"], items[-1]["returnPct"]) == ("98760.00", "-1.2400")


def test_first_page_answer_shape() -> None:
    contest, _ = seeded(3)
    recompute(contest)
    answer = board_of(contest.contest_id)
    assert answer.status == 200
    assert set(answer.body) == {"asOf", "final", "items", "nextCursor"}
    assert answer.body["asOf"] == "2026-12-01T15:00:00Z" and answer.body["final"] is False
    assert answer.body["nextCursor"] is None and len(answer.body["items"]) == 3


def test_a_cursor_keeps_reading_the_run_it_started_on() -> None:
    contest, entries = seeded(30)
    recompute(contest)
    first = board_of(contest.contest_id, query={"limit": "10"})
    # The standings change underneath: the reader still gets a consistent second page of the first run.
    from tests.support.leaderboard import trade

    trade(entries[25], T0 + timedelta(seconds=5), cash=Decimal("999999.00"))
    recompute(contest, T0 + MINUTE)
    second = board_of(contest.contest_id, query={"limit": "10", "cursor": first.body["nextCursor"]})
    assert second.body["asOf"] == first.body["asOf"]
    assert [item["entryId"] for item in second.body["items"]] == [entry.entry_id for entry in entries[10:20]]
    assert board_of(contest.contest_id).body["items"][0]["entryId"] == entries[25].entry_id


def test_a_cursor_whose_run_expired_continues_in_the_current_run() -> None:
    contest, entries = seeded(30)
    recompute(contest)
    first = board_of(contest.contest_id, query={"limit": "10"})
    run_id = board.get_head(contest.contest_id, Meter()).run_id  # type: ignore[union-attr]
    client, table = plumbing.client(), settings().table_name
    for page in range(3):  # TTL removed the old run's pages
        client.delete_item(TableName=table, Key=board._key(board.page_key(contest.contest_id, run_id, page)))
    second = board_of(contest.contest_id, query={"limit": "10", "cursor": first.body["nextCursor"]})
    assert second.status == 200
    assert [item["entryId"] for item in second.body["items"]] == [entry.entry_id for entry in entries[10:20]]


def _tamper(cursor: str) -> str:
    payload, signature = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["p"]["o"] = 0
    edited = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{edited}.{signature}"


def test_edited_or_foreign_cursor_is_invalid_cursor() -> None:
    contest, _ = seeded(30)
    other, _ = seeded(30)
    recompute(contest)
    recompute(other)
    cursor = board_of(contest.contest_id, query={"limit": "10"}).body["nextCursor"]
    for bad in (_tamper(cursor), cursor[:-2] + "xx", "not-a-cursor", cursor + "."):
        answer = board_of(contest.contest_id, query={"cursor": bad})
        assert (answer.status, answer.error_code) == (400, "INVALID_CURSOR"), bad
    foreign = board_of(other.contest_id, query={"cursor": cursor})
    assert (foreign.status, foreign.error_code) == (400, "INVALID_CURSOR")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_limit_out_of_bounds_is_validation_failed(limit: str) -> None:
    contest, _ = seeded(2)
    answer = board_of(contest.contest_id, query={"limit": limit})
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED")
    assert "limit" in answer.body["error"]["details"]["fields"]


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_bounds_are_inclusive(limit: str) -> None:
    contest, _ = seeded(120)
    recompute(contest)
    answer = board_of(contest.contest_id, query={"limit": limit})
    assert answer.status == 200 and len(answer.body["items"]) == int(limit)


def test_contest_by_slug_and_unknown_contest() -> None:
    contest, _ = seeded(2)
    recompute(contest)
    assert board_of(contest.slug).body["items"] == board_of(contest.contest_id).body["items"]
    for unknown in ("01JAAAAAAAAAAAAAAAAAAAAAAA", "no-such-contest"):
        answer = board_of(unknown)
        assert (answer.status, answer.error_code) == (404, "NOT_FOUND")


def test_draft_and_private_contests_are_hidden_from_outsiders() -> None:
    _, admin = person("admin@example.com", "admin")
    entrant_caller, entrant = person("entrant@example.com")
    _, outsider = person("outsider@example.com")
    draft = make_contest(status=ContestStatus.DRAFT)
    private = make_contest(visibility=Visibility.PRIVATE)
    add_entry(private, user_id=entrant_caller.user_id)
    recompute(private)
    assert board_of(draft.contest_id).status == 404
    assert board_of(draft.contest_id, headers=outsider).status == 404
    assert board_of(draft.contest_id, headers=admin).status == 200
    assert board_of(private.contest_id).status == 404
    assert board_of(private.contest_id, headers=outsider).status == 404
    assert board_of(private.contest_id, headers=entrant).status == 200
    assert board_of(private.contest_id, headers=admin).status == 200


def test_before_the_first_standings_everyone_is_tied_at_starting_cash_in_joining_order() -> None:
    contest = make_contest(status=ContestStatus.SCHEDULED, starting_cash=Decimal("2500.00"))
    joined = [
        add_entry(contest, cash=Decimal("2500.00"), joined_at=T0 + timedelta(seconds=index)) for index in range(7)
    ]
    add_entry(contest, status="pending_payment", joined_at=T0)
    items, pages = all_pages(contest.contest_id, 3)
    assert pages == 3
    assert [item["entryId"] for item in items] == [entry.entry_id for entry in joined]
    assert {(item["rank"], item["totalValue"], item["returnPct"]) for item in items} == {(1, "2500.00", "0.0000")}
    first = board_of(contest.contest_id)
    assert first.body["asOf"] is None and first.body["final"] is False


def test_final_standings_say_final() -> None:
    contest, _ = seeded(3)
    leaderboard_recompute.compute_final_standings(
        contest.contest_id, contest.ends_at, prices=FixedPrices({}), contests=FixedContests(contest)
    )
    answer = board_of(contest.contest_id)
    assert answer.body["final"] is True and answer.body["asOf"] == "2026-12-02T15:00:00Z"


# ---------------------------------------------------------------------------------------------------- me
def test_me_answers_rank_value_and_out_of() -> None:
    contest, entries = seeded(5)
    caller = Caller(entries[3].user_id)
    recompute(contest)
    answer = me_in(contest.contest_id, caller)
    assert answer.status == 200
    assert answer.body == {
        "rank": 3,
        "totalValue": "99990.00",
        "returnPct": "-0.0100",
        "outOf": 5,
        "asOf": "2026-12-01T15:00:00Z",
    }


def test_me_not_joined_is_404_and_anonymous_is_401() -> None:
    contest, _ = seeded(3)
    recompute(contest)
    stranger = Caller("01JSTRANGERAAAAAAAAAAAAAAA")
    assert (me_in(contest.contest_id, stranger).status, me_in(contest.contest_id, stranger).error_code) == (
        404,
        "NOT_FOUND",
    )
    assert me_in("not-an-id", stranger).status == 404
    assert me_in(contest.contest_id, None).status == 401


def test_me_for_an_entrant_who_joined_after_the_last_recompute() -> None:
    contest, _ = seeded(250)  # values 100000.00 down to 98760.00
    recompute(contest)
    late = add_entry(contest, cash=Decimal("99000.00"), joined_at=T0 + timedelta(seconds=5))
    answer = me_in(contest.contest_id, Caller(late.user_id))
    assert answer.status == 200
    # Strictly greater: 100000 - 10k for k = 0..99, two entries each = 200 entries above 99000.00.
    assert answer.body["rank"] == 201 and answer.body["outOf"] == 251
    assert answer.body["totalValue"] == "99000.00"


def test_me_before_any_standings() -> None:
    contest = make_contest(status=ContestStatus.SCHEDULED)
    entry = add_entry(contest)
    answer = me_in(contest.contest_id, Caller(entry.user_id))
    assert answer.status == 200
    assert answer.body["rank"] == 1 and answer.body["asOf"] is None and answer.body["totalValue"] == "100000.00"


# ---------------------------------------------------------------------------------------------------- history
def test_history_has_one_point_per_recompute_oldest_first() -> None:
    contest = make_contest()
    mine = add_entry(contest, cash=Decimal("0.00"), positions={"AAPL": ("1000", "100000.00")})
    add_entry(contest)
    for minute, price in enumerate(["100", "101", "99.5"]):
        recompute(contest, T0 + minute * MINUTE, {"AAPL": price})
    answer = history_in(contest.contest_id, Caller(mine.user_id))
    assert answer.status == 200
    assert answer.body["items"] == [
        {"at": "2026-12-01T15:00:00Z", "totalValue": "100000.00", "returnPct": "0.0000", "rank": 1},
        {"at": "2026-12-01T15:01:00Z", "totalValue": "101000.00", "returnPct": "1.0000", "rank": 1},
        {"at": "2026-12-01T15:02:00Z", "totalValue": "99500.00", "returnPct": "-0.5000", "rank": 2},
    ]


def test_history_includes_the_final_point_and_404s_strangers() -> None:
    contest, entries = seeded(3)
    recompute(contest)
    leaderboard_recompute.compute_final_standings(
        contest.contest_id, contest.ends_at, prices=FixedPrices({}), contests=FixedContests(contest)
    )
    points = history_in(contest.contest_id, Caller(entries[0].user_id)).body["items"]
    assert [point["at"] for point in points] == ["2026-12-01T15:00:00Z", "2026-12-02T15:00:00Z"]
    assert history_in(contest.contest_id, Caller("01JSTRANGERAAAAAAAAAAAAAAA")).status == 404


def test_history_before_any_standings_is_empty() -> None:
    contest = make_contest()
    entry = add_entry(contest)
    answer = history_in(contest.contest_id, Caller(entry.user_id))
    assert (answer.status, answer.body) == (200, {"items": []})
