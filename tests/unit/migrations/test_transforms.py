"""The pure per-item transforms: an old-shaped item gets exactly the keys the current model writes on a new one;
an item that has them (a new item, or one migrated already) gets nothing; other items are not touched."""

from __future__ import annotations

from typing import Any

import pytest

from infra.migrations import m0001_user_admin_search_keys as m0001
from infra.migrations import m0002_audit_action_index as m0002
from infra.migrations.base import Update
from infra.migrations.runner import to_plain, update_request

USER_ATTRIBUTES: dict[str, Any] = {
    "email": "zoe@example.com",
    "display_name": "Zoë Ünder",
    "role": "user",
    "status": "active",
    "password_hash": "$argon2id$x",
    "created_at": "2026-11-30T10:00:00.000Z",
    "updated_at": "2026-11-30T10:00:00.000Z",
}
INDEX_KEYS = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI4PK", "GSI4SK")


def _new_user() -> dict[str, Any]:
    from tickerleague.adapters.dynamodb.users import UserItem

    return to_plain(UserItem.new("01JUSER0000000000000000000", **USER_ATTRIBUTES).serialize())


def _applied(item: dict[str, Any], update: Update) -> dict[str, Any]:
    for attribute, value in update.expect.items():
        assert item.get(attribute) == value
    for attribute in update.expect_absent:
        assert attribute not in item
    changed = {**item, **update.set}
    for attribute in update.remove:
        changed.pop(attribute, None)
    return changed


def test_an_old_user_gets_the_keys_a_new_user_is_written_with() -> None:
    new = _new_user()
    old = {key: value for key, value in new.items() if key not in INDEX_KEYS}
    update = m0001.transform(old)
    assert update is not None
    assert _applied(old, update) == new
    assert set(update.expect) == {"email", "created_at", "display_name"}
    assert set(update.expect_absent) == {"GSI1PK", "GSI2PK", "GSI4PK"}


def test_a_user_with_every_key_needs_nothing_and_a_migrated_one_neither() -> None:
    new = _new_user()
    assert m0001.transform(new) is None
    old = {key: value for key, value in new.items() if key not in INDEX_KEYS}
    update = m0001.transform(old)
    assert update is not None
    assert m0001.transform(_applied(old, update)) is None


def test_a_user_missing_only_the_name_key_gets_only_that_one() -> None:
    # e.g. created between the GSI1/GSI2 keys and GSI4, or renamed: each pair is decided on its own
    new = _new_user()
    partial = {key: value for key, value in new.items() if key not in ("GSI4PK", "GSI4SK")}
    update = m0001.transform(partial)
    assert update is not None
    assert set(update.set) == {"GSI4PK", "GSI4SK"}
    assert update.set["GSI4PK"] == "USERS#NAME#z"
    assert update.set["GSI4SK"] == "zoë ünder#01JUSER0000000000000000000"
    assert dict(update.expect) == {"display_name": "Zoë Ünder"}


@pytest.mark.parametrize(
    "item",
    [
        {"PK": "USER#01J", "SK": "SESSION#abc", "user_id": "01J"},
        {"PK": "EMAIL#zoe@example.com", "SK": "EMAIL", "user_id": "01J"},
        {"PK": "USER#01J", "SK": "PROFILE"},  # no user_id: not a user item this code wrote
        {"PK": "AUDIT#ACTOR#01J", "SK": "01K", "action": "user.suspend", "audit_id": "01K"},
    ],
)
def test_user_migration_leaves_other_items_alone(item: dict[str, Any]) -> None:
    assert m0001.transform(item) is None


def _new_audit() -> dict[str, Any]:
    from tickerleague.adapters.dynamodb.audit import AuditItem

    event = AuditItem.new(
        audit_id="01KAUDIT000000000000000000",
        at="2026-11-30T10:00:00.000Z",
        actor_id="01JADMIN",
        action="user.suspend",
        target_type="user",
        target_id="01JUSER",
        before={"status": "active"},
        after={"status": "suspended"},
        request_id="req",
        source_ip="192.0.2.1",
        reason="fraud",
    )
    return to_plain(event.serialize())


def test_an_old_audit_event_gets_the_action_key_a_new_one_is_written_with() -> None:
    new = _new_audit()
    old = {key: value for key, value in new.items() if key not in ("GSI4PK", "GSI4SK")}
    update = m0002.transform(old)
    assert update is not None
    assert _applied(old, update) == new
    assert m0002.transform(new) is None
    assert m0002.transform(_applied(old, update)) is None


@pytest.mark.parametrize(
    "item",
    [
        {"PK": "USER#01J", "SK": "PROFILE", "user_id": "01J", "action": "x", "audit_id": "y"},
        {"PK": "AUDIT#ACTOR#01J", "SK": "01K"},  # no action: nothing to index
    ],
)
def test_audit_migration_leaves_other_items_alone(item: dict[str, Any]) -> None:
    assert m0002.transform(item) is None


def test_an_update_becomes_one_conditional_update_item() -> None:
    request = update_request(
        Update(set={"GSI4PK": "A", "n": 1}, remove=("old",), expect={"action": "x"}, expect_absent=("GSI4PK",))
    )
    assert request["UpdateExpression"] == "SET #s0 = :s0, #s1 = :s1 REMOVE #r0"
    assert request["ConditionExpression"] == "attribute_exists(#pk) AND #e0 = :e0 AND attribute_not_exists(#a0)"
    assert request["ExpressionAttributeNames"] == {
        "#pk": "PK",
        "#s0": "GSI4PK",
        "#s1": "n",
        "#r0": "old",
        "#e0": "action",
        "#a0": "GSI4PK",
    }
    assert request["ExpressionAttributeValues"] == {":s0": {"S": "A"}, ":s1": {"N": "1"}, ":e0": {"S": "x"}}


def test_an_update_cannot_be_empty_or_touch_the_key() -> None:
    with pytest.raises(ValueError, match="set or remove"):
        Update()
    with pytest.raises(ValueError, match="key"):
        Update(set={"SK": "other"})
