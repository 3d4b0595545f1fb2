"""Contest routes in-process against moto: create, list, read, edit, publish, cancel."""

from __future__ import annotations

import pytest

from tests.support.events import HttpAnswer
from tests.unit.contests.helpers import (
    World,
    action,
    create,
    create_raw,
    force_status,
    future,
    get,
    join,
    listing,
    patch,
    published,
)

CONTEST_FIELDS = {
    "id",
    "slug",
    "name",
    "description",
    "status",
    "visibility",
    "startsAt",
    "endsAt",
    "startingCash",
    "entryFee",
    "maxEntries",
    "entryCount",
    "rules",
    "createdAt",
    "updatedAt",
}
DEFAULT_RULES = {
    "allowedSymbols": None,
    "maxPositionPct": None,
    "minPrice": None,
    "maxTradesPerDay": None,
    "allowLateEntry": True,
    "commission": {"perTrade": "0.00"},
    "allowFractional": False,
    "allowShortSelling": False,
}


# ---------------------------------------------------------------------------------------------------- create
def test_create_answers_a_draft_in_the_contract_shape(world: World) -> None:
    starts, ends = future(1), future(8)
    answer = create(world.admin, description="Tech only", startsAt=starts, endsAt=ends, maxEntries=50)
    assert answer.status == 201
    body = answer.body
    assert set(body) == CONTEST_FIELDS
    assert body["status"] == "draft"
    assert body["slug"] == "spring-cup"
    assert body["visibility"] == "public"
    assert (body["startsAt"], body["endsAt"]) == (starts, ends)
    assert body["startingCash"] == "100000.00"
    assert body["entryFee"] is None
    assert body["maxEntries"] == 50
    assert body["entryCount"] == 0
    assert body["rules"] == DEFAULT_RULES
    assert body["createdAt"].endswith("Z") and body["updatedAt"] == body["createdAt"]


@pytest.mark.parametrize(("fee", "shown"), [
    ({"amount": "10", "currency": "USD"}, {"amount": "10.00", "currency": "usd"}),
    ({"amount": "500", "currency": "jpy"}, {"amount": "500", "currency": "jpy"}),
])
def test_create_keeps_an_entry_fee_in_the_currency_decimals(world: World, fee: dict[str, str],
                                                            shown: dict[str, str]) -> None:
    answer = create(world.admin, entryFee=fee)
    assert answer.status == 201, answer.body
    assert answer.body["entryFee"] == shown


def test_create_keeps_given_rules_and_normalizes_them(world: World) -> None:
    answer = create(
        world.admin,
        startingCash="2500.5",
        rules={
            "allowedSymbols": ["aapl", "msft", "brk-b", "AAPL"],
            "maxPositionPct": "25",
            "minPrice": "1",
            "maxTradesPerDay": 10,
            "allowLateEntry": False,
            "commission": {"perTrade": "4.95"},
            "allowFractional": True,
        },
    )
    assert answer.status == 201, answer.body
    assert answer.body["startingCash"] == "2500.50"
    assert answer.body["rules"] == {
        "allowedSymbols": ["AAPL", "MSFT", "BRK.B"],
        "maxPositionPct": "25",
        "minPrice": "1.00",
        "maxTradesPerDay": 10,
        "allowLateEntry": False,
        "commission": {"perTrade": "4.95"},
        "allowFractional": True,
        "allowShortSelling": False,
    }


def test_slugs_are_unique_and_stable(world: World) -> None:
    first = create(world.admin).body
    second = create(world.admin).body
    third = create(world.admin, name="spring   CUP!").body
    assert [first["slug"], second["slug"], third["slug"]] == ["spring-cup", "spring-cup-2", "spring-cup-3"]
    renamed = patch(world.admin, first["id"], {"name": "Autumn Cup"})
    assert renamed.status == 200
    assert renamed.body["slug"] == "spring-cup"
    assert get("spring-cup", world.admin).body["name"] == "Autumn Cup"


def test_a_private_contest_has_an_invite_code_for_admins(world: World) -> None:
    answer = create(world.admin, visibility="private")
    assert answer.status == 201
    assert len(answer.body["inviteCode"]) == 10


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 121}, "name"),
        ({"startsAt": "2026-13-01T00:00:00Z"}, "startsAt"),
        ({"startsAt": "2030-01-01T00:00:00+02:00"}, "startsAt"),
        ({"startsAt": "2030-01-01"}, "startsAt"),
        ({"startsAt": "2020-01-01T00:00:00Z"}, "startsAt"),
        ({"endsAt": "2020-01-01T00:00:00Z"}, "endsAt"),
        ({"startingCash": "100.001"}, "startingCash"),
        ({"startingCash": "-1.00"}, "startingCash"),
        ({"startingCash": "0.99"}, "startingCash"),
        ({"startingCash": "10000000.01"}, "startingCash"),
        ({"startingCash": "1e5"}, "startingCash"),
        ({"maxEntries": 1}, "maxEntries"),
        ({"maxEntries": "5"}, "maxEntries"),
        ({"visibility": "secret"}, "visibility"),
        ({"entryFee": {"amount": "0.10", "currency": "usd"}}, "entryFee.amount"),
        ({"entryFee": {"amount": "500.5", "currency": "jpy"}}, "entryFee.amount"),
        ({"entryFee": {"amount": "5.00", "currency": "xyz"}}, "entryFee.currency"),
        ({"entryFee": {"amount": "5.00", "currency": "dollars"}}, "entryFee.currency"),
        ({"rules": {"allowShortSelling": True}}, "rules.allowShortSelling"),
        ({"rules": {"allowedSymbols": ["ZZZZZZ"]}}, "rules.allowedSymbols"),
        ({"rules": {"maxPositionPct": "0"}}, "rules.maxPositionPct"),
        ({"rules": {"maxTradesPerDay": 0}}, "rules.maxTradesPerDay"),
        ({"rules": {"commission": {"perTrade": "0.001"}}}, "rules.commission.perTrade"),
        ({"rules": {"bogus": 1}}, "rules.bogus"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_create_refuses_bad_input_with_the_field_named(world: World, overrides: dict[str, object], field: str) -> None:
    answer = create(world.admin, **overrides)
    assert answer.status == 422, answer.body
    assert answer.error_code == "VALIDATION_FAILED"
    assert field in answer.body["error"]["details"]["fields"]
    assert listing(world.admin).body["items"] == []  # nothing half-written


def test_create_refuses_a_json_float_for_money(world: World) -> None:
    body = f'{{"name": "Cup", "startsAt": "{future(1)}", "endsAt": "{future(2)}", "startingCash": 100.5}}'
    answer = _raw_create(world, body)
    assert answer.status == 422
    assert "startingCash" in answer.body["error"]["details"]["fields"]


def _raw_create(world: World, raw: str) -> HttpAnswer:
    from functions import contests
    from tests.support.events import api_event, call

    return call(contests.create, api_event("POST", "/v1/contests", raw_body=raw, caller=world.admin.caller))


def test_missing_required_fields_are_all_named(world: World) -> None:
    answer = create_raw(world.admin, {})
    assert answer.status == 422
    assert {"name", "startsAt", "endsAt"} <= set(answer.body["error"]["details"]["fields"])


def test_one_422_names_every_bad_field_schema_and_rule_alike(world: World) -> None:
    """A wrong type, a missing field and broken rules (name, cash, fee, symbols, commission) in one body: one answer
    names them all, so a form can show every problem at once."""
    answer = create_raw(world.admin, {
        "name": "   ", "startsAt": "2020-01-01T00:00:00Z", "startingCash": "0.99", "maxEntries": "5",
        "entryFee": {"amount": "0.10", "currency": "usd"},
        "rules": {"allowedSymbols": ["ZZZZZZ"], "maxPositionPct": "0", "commission": {"perTrade": "0.001"},
                  "allowShortSelling": True},
    })
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED")
    assert set(answer.body["error"]["details"]["fields"]) == {
        "name", "startsAt", "endsAt", "startingCash", "maxEntries", "entryFee.amount", "rules.allowedSymbols",
        "rules.maxPositionPct", "rules.commission.perTrade", "rules.allowShortSelling"}
    assert listing(world.admin).body["items"] == []


def test_one_422_names_every_bad_field_of_an_edit(world: World) -> None:
    contest_id = create(world.admin).body["id"]
    answer = patch(world.admin, contest_id, {"name": "", "startingCash": None, "maxEntries": 1,
                                             "rules": {"maxTradesPerDay": 0, "allowLateEntry": None}})
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED")
    assert set(answer.body["error"]["details"]["fields"]) == {
        "name", "startingCash", "maxEntries", "rules.maxTradesPerDay", "rules.allowLateEntry"}
    assert get(contest_id, world.admin).body["name"] == "Spring Cup"  # nothing changed


def test_players_cannot_create(world: World) -> None:
    answer = create(world.alice)
    assert answer.status == 403
    assert answer.error_code == "FORBIDDEN"


# ---------------------------------------------------------------------------------------------------- read
def test_get_by_id_or_slug(world: World) -> None:
    contest = published(world)
    for reference in (contest["id"], contest["slug"], contest["slug"].upper()):
        answer = get(reference)
        assert answer.status == 200, reference
        assert answer.body["id"] == contest["id"]
        assert "inviteCode" not in answer.body


def test_unknown_contest_is_404(world: World) -> None:
    for reference in ("01HX0000000000000000000000", "no-such-slug", "x" * 500):
        answer = get(reference)
        assert answer.status == 404
        assert answer.error_code == "NOT_FOUND"


def test_a_draft_is_hidden_from_everyone_but_admins(world: World) -> None:
    draft = create(world.admin).body
    assert get(draft["id"]).status == 404
    assert get(draft["slug"], world.alice).status == 404
    assert get(draft["id"], world.admin).status == 200


def test_a_private_contest_is_visible_to_admins_and_entrants_only(world: World) -> None:
    contest = published(world, visibility="private")
    code = contest["inviteCode"]
    assert get(contest["id"]).status == 404
    assert get(contest["id"], world.alice).status == 404
    assert join(world.alice, contest["id"], {"inviteCode": code}).status == 201
    seen = get(contest["id"], world.alice)
    assert seen.status == 200
    assert seen.body["inviteCode"] == code
    assert get(contest["slug"], world.bob).status == 404
    assert get(contest["id"], world.admin).body["inviteCode"] == code


def test_a_forged_token_on_a_public_route_is_401(world: World) -> None:
    from functions import contests
    from tests.support.events import api_event, call

    contest = published(world)
    answer = call(
        contests.get,
        api_event(
            "GET",
            f"/v1/contests/{contest['id']}",
            resource="/v1/contests/{contestId}",
            path_params={"contestId": contest["id"]},
            headers={"Authorization": "Bearer not-a-token"},
        ),
    )
    assert answer.status == 401


# ---------------------------------------------------------------------------------------------------- list
def test_the_public_list_shows_public_scheduled_active_and_ended_only(world: World) -> None:
    draft = create(world.admin, name="Draft").body
    scheduled = published(world, name="Scheduled")
    active = published(world, name="Active")
    force_status(active["id"], "active")
    ended = published(world, name="Ended")
    force_status(ended["id"], "ended")
    cancelled = published(world, name="Cancelled")
    action(world.admin, cancelled["id"], "cancel")
    private = published(world, name="Private", visibility="private")

    public_ids = {item["id"] for item in listing().body["items"]}
    assert public_ids == {scheduled["id"], active["id"], ended["id"]}
    assert {item["id"] for item in listing(world.alice).body["items"]} == public_ids
    admin_items = listing(world.admin).body["items"]
    assert {item["id"] for item in admin_items} == {
        draft["id"],
        scheduled["id"],
        active["id"],
        ended["id"],
        cancelled["id"],
        private["id"],
    }
    assert admin_items[0]["name"] == "Private"  # newest first
    assert next(item for item in admin_items if item["id"] == private["id"])["inviteCode"]


def test_the_status_filter(world: World) -> None:
    create(world.admin, name="Draft")
    early = published(world, name="Early", startsAt=future(1), endsAt=future(3))
    late = published(world, name="Late", startsAt=future(2), endsAt=future(3))
    items = listing(status="scheduled").body["items"]
    assert [item["id"] for item in items] == [early["id"], late["id"]]  # soonest first
    assert listing(status="draft").body["items"] == []
    assert len(listing(world.admin, status="draft").body["items"]) == 1
    assert listing(status="cancelled").body == {"items": [], "nextCursor": None}


@pytest.mark.parametrize("query", [{"status": "bogus"}, {"limit": "0"}, {"limit": "101"}, {"limit": "abc"}])
def test_bad_list_queries_are_422(world: World, query: dict[str, str]) -> None:
    answer = listing(None, **query)
    assert answer.status == 422
    assert set(answer.body["error"]["details"]["fields"]) == set(query)


def test_pagination_walks_every_item_once(world: World) -> None:
    created = [published(world, name=f"Cup {n}")["id"] for n in range(5)]
    create(world.admin, name="hidden draft")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = listing(None, **query).body
        seen.extend(item["id"] for item in body["items"])
        cursor = body["nextCursor"]
        pages += 1
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    assert pages == 3


def test_a_cursor_is_bound_to_its_list_and_caller(world: World) -> None:
    for n in range(3):
        published(world, name=f"Cup {n}")
    cursor = listing(limit="1").body["nextCursor"]
    assert cursor
    assert listing(limit="1", cursor=cursor).status == 200
    for answer in (
        listing(limit="1", cursor=cursor[:-2] + "xx"),
        listing(limit="1", cursor=cursor, status="scheduled"),
        listing(world.alice, limit="1", cursor=cursor),
    ):
        assert answer.status == 400
        assert answer.error_code == "INVALID_CURSOR"


# ---------------------------------------------------------------------------------------------------- edit
def test_patch_a_draft(world: World) -> None:
    draft = create(world.admin).body
    answer = patch(
        world.admin,
        draft["id"],
        {"startingCash": "5000", "maxEntries": 10, "visibility": "private", "rules": {"maxTradesPerDay": 3}},
    )
    assert answer.status == 200, answer.body
    assert answer.body["startingCash"] == "5000.00"
    assert answer.body["maxEntries"] == 10
    assert answer.body["inviteCode"]
    assert answer.body["rules"] == {**DEFAULT_RULES, "maxTradesPerDay": 3}
    cleared = patch(world.admin, draft["id"], {"maxEntries": None, "visibility": "public"})
    assert cleared.body["maxEntries"] is None
    assert "inviteCode" not in cleared.body
    assert get(draft["id"], world.admin).body["maxEntries"] is None


def test_patch_refuses_unknown_fields_and_nulls(world: World) -> None:
    draft = create(world.admin).body
    for body, field in (
        ({"status": "active"}, "status"),
        ({"name": None}, "name"),
        ({}, "body"),
        ({"startsAt": "2020-01-01T00:00:00Z"}, "startsAt"),
        ({"endsAt": draft["startsAt"]}, "endsAt"),
    ):
        answer = patch(world.admin, draft["id"], body)
        assert answer.status == 422, body
        assert field in answer.body["error"]["details"]["fields"]


def test_patch_a_scheduled_contest_reschedules_its_lifecycle(world: World) -> None:
    contest = published(world)
    new_start = future(2)
    answer = patch(world.admin, contest["id"], {"startsAt": new_start, "description": "moved"})
    assert answer.status == 200
    assert answer.body["startsAt"] == new_start
    executions = {item["name"]: item["status"] for item in world.executions()}
    assert executions == {f"{contest['id']}-v1": "ABORTED", f"{contest['id']}-v2": "RUNNING"}


def test_patch_a_scheduled_contest_with_a_locked_field_is_409(world: World) -> None:
    contest = published(world)
    answer = patch(world.admin, contest["id"], {"startingCash": "5.00"})
    assert answer.status == 409
    assert answer.error_code == "INVALID_STATE_TRANSITION"
    same = patch(world.admin, contest["id"], {"startingCash": contest["startingCash"], "name": "Same cash"})
    assert same.status == 200  # sending a field with its current value is not an edit


@pytest.mark.parametrize("status", ["active", "ended", "cancelled"])
def test_patch_after_scheduling_is_409(world: World, status: str) -> None:
    contest = published(world)
    force_status(contest["id"], status)
    answer = patch(world.admin, contest["id"], {"name": "Too late"})
    assert answer.status == 409
    assert answer.error_code == "INVALID_STATE_TRANSITION"


def test_patch_unknown_contest_is_404(world: World) -> None:
    assert patch(world.admin, "01HX0000000000000000000000", {"name": "x"}).status == 404


# ---------------------------------------------------------------------------------------------------- publish
def test_publish_starts_one_execution_named_by_schedule_version(world: World) -> None:
    contest = published(world)
    assert contest["status"] == "scheduled"
    executions = world.executions()
    assert [item["name"] for item in executions] == [f"{contest['id']}-v1"]
    import boto3

    described = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(
        executionArn=executions[0]["executionArn"]
    )
    import json

    started = json.loads(described["input"])
    assert started.pop("correlationId")  # the publish request's (tests/unit/contests/test_correlation.py)
    assert started == {
        "contestId": contest["id"],
        "scheduleVersion": 1,
        "startsAt": contest["startsAt"],
        "endsAt": contest["endsAt"],
    }


def test_publish_twice_is_409(world: World) -> None:
    contest = published(world)
    answer = action(world.admin, contest["id"], "publish")
    assert answer.status == 409
    assert answer.error_code == "INVALID_STATE_TRANSITION"
    assert len(world.executions()) == 1


def test_publish_after_the_start_passed_is_422_and_changes_nothing(world: World) -> None:
    draft = create(world.admin).body
    from tickerleague.adapters.dynamodb.contests import ContestItem

    pk, sk = ContestItem.key(draft["id"])
    ContestItem(pk, sk).update(actions=[ContestItem.starts_at.set("2020-01-01T00:00:00Z")])
    answer = action(world.admin, draft["id"], "publish")
    assert answer.status == 422
    assert "startsAt" in answer.body["error"]["details"]["fields"]
    assert get(draft["id"], world.admin).body["status"] == "draft"
    assert world.executions() == []


def test_publish_is_admin_only_and_404_for_unknown(world: World) -> None:
    draft = create(world.admin).body
    assert action(world.alice, draft["id"], "publish").status == 403
    assert action(world.admin, "01HX0000000000000000000000", "publish").status == 404


# ---------------------------------------------------------------------------------------------------- cancel
@pytest.mark.parametrize("status", ["draft", "scheduled", "active"])
def test_cancel_from_live_statuses(world: World, status: str) -> None:
    contest = create(world.admin).body if status == "draft" else published(world)
    if status == "active":
        force_status(contest["id"], "active")
    answer = action(world.admin, contest["id"], "cancel")
    assert answer.status == 200
    assert answer.body["status"] == "cancelled"
    if status != "draft":
        assert {item["status"] for item in world.executions()} == {"ABORTED"}


@pytest.mark.parametrize("status", ["ended", "cancelled"])
def test_cancel_from_terminal_statuses_is_409(world: World, status: str) -> None:
    contest = published(world)
    force_status(contest["id"], status)
    answer = action(world.admin, contest["id"], "cancel")
    assert answer.status == 409
    assert answer.error_code == "INVALID_STATE_TRANSITION"


def test_admin_actions_are_audited(world: World) -> None:
    from tickerleague.adapters.dynamodb.audit import AuditItem

    contest = published(world)
    action(world.admin, contest["id"], "cancel")
    events = list(AuditItem.gsi1.query(f"AUDIT#TARGET#{contest['id']}"))
    assert sorted(item.action for item in events) == ["contest.cancelled", "contest.created", "contest.published"]  # type: ignore[attr-defined]
