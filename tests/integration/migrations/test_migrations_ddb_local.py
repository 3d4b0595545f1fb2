"""The migrations on DynamoDB Local: old-shaped items (as the code before issue 11 wrote them) are migrated once,
found by the read paths that need the new keys, and a second run (even one that lost the run records) changes
nothing; a run stopped after one page resumes and touches each item once; a writer between the scan and the
update is not overwritten; an item deleted meanwhile is not recreated."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

pytestmark = pytest.mark.integration

CREATED = "2026-11-20T09:00:00.000Z"


@pytest.fixture
def client(ddb_table: str, ddb_local: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=ddb_local, region_name="us-east-1")


def _old_user(index: int, name: str | None = None) -> str:
    """A user as UserItem.new wrote it before the admin tools: no GSI1/GSI2/GSI4 keys."""
    from tickerleague.adapters.dynamodb.users import UserItem

    user_id = f"01JOLD{index:020d}"
    display = name or f"Old Player {index}"
    pk, sk = UserItem.key(user_id)
    UserItem(
        pk,
        sk,
        user_id=user_id,
        email=f"old{index}@example.com",
        display_name=display,
        role="user",
        status="active",
        password_hash="$argon2id$old",
        created_at=f"2026-11-20T09:{index:02d}:00.000Z",
        updated_at=CREATED,
    ).save()
    return user_id


def _new_user(index: int) -> str:
    from tickerleague.adapters.dynamodb.users import EmailMarker, SessionItem, UserItem

    user_id = f"01JNEW{index:020d}"
    UserItem.new(
        user_id,
        email=f"new{index}@example.com",
        display_name=f"New Player {index}",
        role="user",
        status="active",
        password_hash="$argon2id$new",
        created_at=f"2026-12-01T09:{index:02d}:00.000Z",
        updated_at=CREATED,
    ).save()
    EmailMarker.new(f"new{index}@example.com", user_id).save()
    SessionItem.new(user_id, f"s{index}", 1_700_000_000, 1_900_000_000).save()
    return user_id


def _old_audit(index: int, action: str) -> str:
    """An audit event as AuditItem.new wrote it before the by-action index: GSI1 and GSI2 only."""
    from tickerleague.adapters.dynamodb.audit import ALL_EVENTS, AuditItem

    audit_id = f"01KAUDIT{index:018d}"
    pk, sk = AuditItem.key("01JADMIN", audit_id)
    AuditItem(
        pk,
        sk,
        GSI1PK=AuditItem.target_partition("01JTARGET"),
        GSI1SK=audit_id,
        GSI2PK=ALL_EVENTS,
        GSI2SK=audit_id,
        audit_id=audit_id,
        at=CREATED,
        actor_id="01JADMIN",
        action=action,
        target_type="user",
        target_id="01JTARGET",
    ).save()
    return audit_id


def _table(client: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item but the runner's own, by "PK|SK"."""
    items: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        response = client.scan(**request)
        for raw in response["Items"]:
            if not raw["PK"]["S"].startswith("MIGRATION#"):
                items[f"{raw['PK']['S']}|{raw['SK']['S']}"] = raw
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _forget_runs(client: Any, table: str) -> None:
    """Delete every MIGRATION# item: the next run starts from scratch (as if the records were lost)."""
    response = client.scan(
        TableName=table,
        ConsistentRead=True,
        FilterExpression="begins_with(PK, :m)",
        ExpressionAttributeValues={":m": {"S": "MIGRATION#"}},
    )
    for raw in response["Items"]:
        client.delete_item(TableName=table, Key={"PK": raw["PK"], "SK": raw["SK"]})


class Recording:
    """The real client; remembers the key of every UpdateItem outside the runner's own items."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.updated: Counter[str] = Counter()
        self.scans: list[tuple[str, int, Any]] = []  # (filter, Segment, ExclusiveStartKey or None) of every Scan

    def scan(self, **kwargs: Any) -> Any:
        self.scans.append(
            (kwargs.get("FilterExpression", ""), kwargs.get("Segment", 0), kwargs.get("ExclusiveStartKey"))
        )
        return self._client.scan(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        key = kwargs["Key"]
        if not key["PK"]["S"].startswith("MIGRATION#"):
            self.updated[f"{key['PK']['S']}|{key['SK']['S']}"] += 1
        return self._client.update_item(**kwargs)


def test_every_migration_twice_the_second_run_changes_nothing(client: Any, ddb_table: str) -> None:
    from tickerleague.adapters.dynamodb import admin_users, audit
    from tickerleague.adapters.dynamodb.users import UserItem

    from infra.migrations import runner

    old_users = [_old_user(index) for index in range(12)]
    new_users = [_new_user(index) for index in range(3)]
    old_events = [_old_audit(index, "user.suspend" if index % 2 else "contest.cancel") for index in range(8)]
    before = _table(client, ddb_table)
    # before: the admin search and list, and the audit by action, do not see the old items
    assert {user.user_id for user in admin_users.matching("old", "old")} == set()
    assert audit.query(actor_id=None, target_id=None, action="user.suspend", limit=50, position=None).events == []

    recording = Recording(client)
    first = runner.run_pending(recording, ddb_table, segments=3, page_size=5)
    assert [(outcome.migration_id, outcome.state) for outcome in first][:2] == [("0001", "done"), ("0002", "done")]
    assert first[0].counts.updated == 12 and first[1].counts.updated == 8
    expected = {f"USER#{user_id}|PROFILE" for user_id in old_users}
    expected |= {f"AUDIT#ACTOR#01JADMIN|{audit_id}" for audit_id in old_events}
    assert set(recording.updated) == expected
    assert set(recording.updated.values()) == {1}

    after = _table(client, ddb_table)
    assert set(after) == set(before)
    for name, raw in after.items():
        added = {key for key in raw if key not in before[name]}
        if name in expected:
            assert {key: value for key, value in raw.items() if key in before[name]} == before[name]
            assert added == (
                {"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI4PK", "GSI4SK"}
                if name.startswith("USER#")
                else {"GSI4PK", "GSI4SK"}
            )
        else:
            assert raw == before[name], name
    # an old user now has the keys a new one is written with
    migrated = UserItem.get(*UserItem.key(old_users[3]), consistent_read=True)
    fresh = UserItem.new(
        migrated.user_id, email=migrated.email, display_name=migrated.display_name, created_at=migrated.created_at
    )
    for key in ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI4PK", "GSI4SK"):
        assert getattr(migrated, key) == getattr(fresh, key)
    # the read paths find them: name and email prefix, newest first, audit by action
    assert {user.user_id for user in admin_users.matching("old", "old")} == set(old_users)
    assert {user.user_id for user in admin_users.matching("zzz", "old player 1")} == {
        old_users[1],
        old_users[10],
        old_users[11],
    }
    everyone = admin_users.newest(None, 50, None).users
    assert [user.user_id for user in everyone] == [*reversed(new_users), *reversed(old_users)]
    suspended = audit.query(actor_id=None, target_id=None, action="user.suspend", limit=50, position=None).events
    assert [event.id for event in suspended] == [old_events[i] for i in (7, 5, 3, 1)]
    statuses = {one.migration_id: one for one in runner.status(client, ddb_table)}
    assert statuses["0001"].state == "done" and statuses["0001"].segments_done == 3
    assert statuses["0001"].counts["updated"] == 12
    assert all(runner.plan(client, ddb_table, migration) == (0, 0) for migration in runner.discover())

    # second run: recorded as done, nothing read or written
    again = Recording(client)
    second = runner.run_pending(again, ddb_table, segments=3, page_size=5)
    assert {outcome.state for outcome in second} == {"already done"}
    assert not again.updated
    assert _table(client, ddb_table) == after

    # and even with the records lost, the transforms find nothing left to do
    _forget_runs(client, ddb_table)
    lost = Recording(client)
    third = runner.run_pending(lost, ddb_table, segments=2, page_size=7)
    assert {outcome.state for outcome in third} == {"done"}
    assert sum(outcome.counts.updated for outcome in third) == 0
    assert not lost.updated
    assert _table(client, ddb_table) == after


def test_a_run_stopped_after_one_page_resumes_and_touches_each_item_once(client: Any, ddb_table: str) -> None:
    from infra.migrations import m0001_user_admin_search_keys as m0001
    from infra.migrations import runner

    users = [_old_user(index) for index in range(30)]
    recording = Recording(client)
    stopped = runner.run_pending(recording, ddb_table, segments=2, page_size=4, max_pages=1)
    assert [(outcome.migration_id, outcome.state) for outcome in stopped] == [("0001", "partial")]
    assert 1 <= len(recording.updated) <= 4  # one page of at most 4 items
    assert stopped[0].counts.scanned == len(recording.updated)
    (state, *_) = runner.status(client, ddb_table)
    assert state.state == "running" and state.segments == 2 and state.segments_done == 0
    checkpoints = [
        client.get_item(TableName=ddb_table, Key=runner.checkpoint_key("0001", segment), ConsistentRead=True).get(
            "Item"
        )
        for segment in range(2)
    ]
    assert sum(checkpoint is not None for checkpoint in checkpoints) == 1
    (checkpoint,) = [checkpoint for checkpoint in checkpoints if checkpoint is not None]
    assert "lastKey" in checkpoint and checkpoint["done"] == {"BOOL": False}

    stopped_segment = int(checkpoint["SK"]["S"].removeprefix("SEGMENT#"))
    users_filter = m0001.MIGRATION.filter.expression
    assert recording.scans == [(users_filter, stopped_segment, None)]

    # the resumed run keeps the run's two segments whatever it is asked for, starts the stopped segment at its
    # checkpoint (page 1 is not read again), and finishes
    recording.scans.clear()
    resumed = runner.run_pending(recording, ddb_table, segments=5, page_size=4)
    users_scans = [(segment, start) for expression, segment, start in recording.scans if expression == users_filter]
    starts = [start for segment, start in users_scans if segment == stopped_segment]
    assert starts[0] == checkpoint["lastKey"]["M"] and None not in starts
    assert {segment for segment, _ in users_scans} == {0, 1}
    assert resumed[0].state == "done" and resumed[0].segments == 2
    assert recording.updated == Counter({f"USER#{user_id}|PROFILE": 1 for user_id in users})
    assert stopped[0].counts.scanned + resumed[0].counts.scanned == 30
    (state, *_) = runner.status(client, ddb_table)
    assert state.state == "done" and state.segments_done == 2 and state.counts["updated"] == 30


def test_a_writer_between_the_scan_and_the_update_is_not_overwritten(client: Any, ddb_table: str) -> None:
    from tickerleague.adapters.dynamodb import accounts, admin_users
    from tickerleague.adapters.dynamodb.users import UserItem

    from infra.migrations import m0001_user_admin_search_keys as m0001
    from infra.migrations import runner

    user_id = _old_user(1, name="Before Rename")
    pk, sk = UserItem.key(user_id)
    as_scanned = client.get_item(TableName=ddb_table, Key={"PK": {"S": pk}, "SK": {"S": sk}})["Item"]
    accounts.update_profile(user_id, display_name="After Rename", contest_reminders=None, updated_at=CREATED)

    counts = runner.migrate_item(client, ddb_table, m0001.MIGRATION, as_scanned)
    assert (counts.conflicts, counts.updated) == (1, 1)
    user = UserItem.get(pk, sk, consistent_read=True)
    assert user.display_name == "After Rename"
    assert UserItem.name_sort_key("After Rename", user_id) == user.GSI4SK  # the writer's key, not the stale one
    assert (user.GSI1SK, user.GSI2PK) == ("old1@example.com", "USERS")  # the rest of the backfill still applied
    assert [found.user_id for found in admin_users.matching("zzz", "after")] == [user_id]
    assert admin_users.matching("zzz", "before") == []


def test_an_item_deleted_between_the_scan_and_the_update_is_not_recreated(client: Any, ddb_table: str) -> None:
    from tickerleague.adapters.dynamodb.audit import AuditItem

    from infra.migrations import m0002_audit_action_index as m0002
    from infra.migrations import runner

    audit_id = _old_audit(1, "user.suspend")
    key = {"PK": {"S": AuditItem.actor_partition("01JADMIN")}, "SK": {"S": audit_id}}
    as_scanned = client.get_item(TableName=ddb_table, Key=key)["Item"]
    client.delete_item(TableName=ddb_table, Key=key)

    counts = runner.migrate_item(client, ddb_table, m0002.MIGRATION, as_scanned)
    assert (counts.updated, counts.gone) == (0, 1)
    assert "Item" not in client.get_item(TableName=ddb_table, Key=key, ConsistentRead=True)


def test_the_command_line_runs_reports_and_plans(
    ddb_table: str, ddb_local: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    def printed() -> list[dict[str, Any]]:
        lines = capsys.readouterr().out.splitlines()
        return [json.loads(line) for line in lines if not line.startswith("table ")]

    from infra.migrations.__main__ import main

    for index in range(6):
        _old_user(index)
    _old_audit(1, "user.suspend")
    where = ["--table", ddb_table, "--endpoint", ddb_local]

    assert main(["plan", *where]) == 0
    planned = printed()
    assert [(one["id"], one["wouldChange"]) for one in planned][:2] == [("0001", 6), ("0002", 1)]

    assert main([*where, "--max-pages", "1", "--segments", "2", "--page-size", "2"]) == 3  # stopped: run again
    assert main(where) == 0
    ran = printed()
    assert [(one["id"], one["state"]) for one in ran][:3] == [("0001", "partial"), ("0001", "done"), ("0002", "done")]
    assert ran[0]["updated"] + ran[1]["updated"] == 6 and ran[2]["updated"] == 1

    assert main(["status", *where]) == 0
    states = printed()
    assert [(one["id"], one["state"], one["segmentsDone"], one["updated"]) for one in states][:2] == [
        ("0001", "done", 2, 6),
        ("0002", "done", 4, 1),  # started by the second run: the default 4 segments
    ]
    assert main(where) == 0
    again = printed()
    assert {one["state"] for one in again} == {"already done"}
    assert main(["plan", *where]) == 0
    assert {one["wouldChange"] for one in printed()} == {0}


class FailingAfter(Recording):
    """The real client, failing the n-th item update (as a dropped connection would)."""

    def __init__(self, client: Any, n: int) -> None:
        super().__init__(client)
        self.left = n

    def update_item(self, **kwargs: Any) -> Any:
        if not kwargs["Key"]["PK"]["S"].startswith("MIGRATION#"):
            self.left -= 1
            if self.left == 0:
                raise ConnectionError("connection dropped")
        return super().update_item(**kwargs)


def test_a_run_that_failed_midway_stops_every_segment_and_the_next_run_finishes(client: Any, ddb_table: str) -> None:
    from infra.migrations import runner

    users = [_old_user(index) for index in range(40)]
    failing = FailingAfter(client, 6)
    with pytest.raises(ConnectionError):
        runner.run_pending(failing, ddb_table, segments=3, page_size=3)
    # 5 before the failure, then each other segment at most the rest of its page of 3
    assert 5 <= sum(failing.updated.values()) <= 5 + 2 * 3
    (state, *_) = runner.status(client, ddb_table)
    assert state.state == "running"

    again = Recording(client)
    outcomes = runner.run_pending(again, ddb_table)
    assert outcomes[0].state == "done" and outcomes[0].segments == 3
    assert failing.updated + again.updated == Counter({f"USER#{user_id}|PROFILE": 1 for user_id in users})


def test_a_killed_process_resumes_from_its_checkpoints(client: Any, ddb_table: str, ddb_local: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from infra.migrations import runner
    from tests.support.waiting import wait_for

    users = [_old_user(index) for index in range(300)]
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "layers" / "core"), str(root)])}
    command = [sys.executable, "-m", "infra.migrations", "--table", ddb_table, "--endpoint", ddb_local]
    process = subprocess.Popen(  # one segment, one item a page: many checkpoints to be killed between
        [*command, "--segments", "1", "--page-size", "1"], cwd=root, env=env, stdout=subprocess.DEVNULL
    )
    try:

        def pages_saved() -> bool:
            item = client.get_item(TableName=ddb_table, Key=runner.checkpoint_key("0001", 0), ConsistentRead=True)
            return int(item.get("Item", {}).get("pages", {}).get("N", "0")) >= 3

        wait_for(pages_saved, timeout=60)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    def migrated() -> set[str]:
        return {name for name, raw in _table(client, ddb_table).items() if "GSI4PK" in raw}

    before = migrated()
    assert 3 <= len(before) < 300  # killed mid-run
    (state, *_) = runner.status(client, ddb_table)
    assert state.state == "running"

    recording = Recording(client)
    outcomes = runner.run_pending(recording, ddb_table, segments=4)
    assert outcomes[0].state == "done" and outcomes[0].segments == 1
    everyone = {f"USER#{user_id}|PROFILE" for user_id in users}
    assert set(recording.updated) == everyone - before and set(recording.updated.values()) == {1}
    assert migrated() == everyone


def test_ctrl_c_stops_after_the_pages_in_progress_are_saved(client: Any, ddb_table: str, ddb_local: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from infra.migrations import runner
    from tests.support.waiting import wait_for

    for index in range(300):
        _old_user(index)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "layers" / "core"), str(root)])}
    command = [sys.executable, "-m", "infra.migrations", "--table", ddb_table, "--endpoint", ddb_local]
    process = subprocess.Popen(
        [*command, "--segments", "2", "--page-size", "2"], cwd=root, env=env, stdout=subprocess.PIPE, text=True
    )
    try:

        def some_pages_saved() -> bool:
            item = client.get_item(TableName=ddb_table, Key=runner.checkpoint_key("0001", 0), ConsistentRead=True)
            return int(item.get("Item", {}).get("pages", {}).get("N", "0")) >= 2

        wait_for(some_pages_saved, timeout=60)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out
    assert "run the same command again to resume" in out
    migrated = sum("GSI4PK" in raw for raw in _table(client, ddb_table).values())
    checkpoints = [
        client.get_item(TableName=ddb_table, Key=runner.checkpoint_key("0001", segment), ConsistentRead=True).get(
            "Item", {}
        )
        for segment in range(2)
    ]
    assert 0 < migrated < 300
    saved = sum(int(checkpoint.get("updated", {}).get("N", "0")) for checkpoint in checkpoints)
    assert saved == migrated  # every page applied was saved before the process exited
