"""The leaderboard recompute and the contest lifecycle steps with DynamoDB and EventBridge failing at each call:
a failed run publishes no partial board (readers keep the last whole one), a failed step moves the contest only
all the way or not at all, and the retry (the next run, the state machine's retry) completes it once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.domain.contests import ContestStatus
from tickerleague.http.unavailable import is_transient

from tests.faults import state
from tests.support import faults
from tests.support.events import HttpAnswer, api_event, call
from tests.support.faults import Injector
from tests.support.leaderboard import START, T0, FixedPrices, entry_item, make_contest, put_entries
from tests.unit.contests.helpers import World

ENTRIES = 30


def board_of(contest_id: str) -> HttpAnswer:
    from functions import leaderboard as routes

    return call(
        routes.get_leaderboard,
        api_event(
            "GET",
            f"/v1/contests/{contest_id}/leaderboard",
            resource="/v1/contests/{contestId}/leaderboard",
            path_params={"contestId": contest_id},
            query={"limit": "100"},
        ),
    )


def seeded(world: World) -> tuple[Any, list[Any]]:
    contest = make_contest()
    entries = [
        entry_item(contest, cash=START - 10 * index, joined_at=T0 - timedelta(seconds=1000 - index))
        for index in range(ENTRIES)
    ]
    put_entries(entries)
    return contest, entries


def recompute(contest: Any, at: Any = T0) -> Any:
    from tickerleague.services import leaderboard_recompute as leaderboard

    return leaderboard.recompute_contest(contest, at, FixedPrices({}), incremental=False)


def whole_board(contest_id: str, entries: list[Any], *, cash_drop: int = 0) -> None:
    answer = board_of(contest_id)
    assert answer.status == 200, answer.body
    items = answer.body["items"]
    assert [item["entryId"] for item in items] == [entry.entry_id for entry in entries]
    assert items[-1]["totalValue"] == f"{START - 10 * (len(entries) - 1) - cash_drop:.2f}"


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("BatchWriteItem", "throttling"),
        ("BatchWriteItem", "internal500"),
        ("PutItem", "throughput"),
        ("UpdateItem", "read_timeout"),
        ("TransactWriteItems", "conflict"),
        ("Query", "connect_timeout"),
        ("GetItem", "throttling"),
    ],
)
def test_a_recompute_that_fails_leaves_the_last_whole_board_and_the_next_run_publishes_it(
    world: World, inject: Injector, operation: str, fault: str
) -> None:
    contest, entries = seeded(world)
    assert recompute(contest).outcome == "published"
    whole_board(contest.contest_id, entries)
    # Everyone loses 5.00: the next board differs from the last in every row.
    moved = [
        entry_item(
            contest,
            user_id=e.user_id,
            entry_id=e.entry_id,
            joined_at=T0 - timedelta(seconds=1000 - i),
            cash=START - 10 * i - 5,
            display_name=e.display_name,
        )
        for i, e in enumerate(entries)
    ]
    put_entries(moved)
    inject.fail(operation, faults.TRANSACTION_FAULTS[fault], times=faults.PERSISTENT)
    try:
        report = recompute(contest, T0 + timedelta(minutes=1))
    except Exception as error:  # the scheduled run fails: its next run is the retry
        assert is_transient(error), error
    else:
        assert report.outcome in ("published", "unchanged"), report.outcome  # the fault was absorbed
    with inject.off():
        _old_or_new(contest.contest_id, entries)
    inject.clear()
    assert recompute(contest, T0 + timedelta(minutes=2)).outcome == "published"
    whole_board(contest.contest_id, entries, cash_drop=5)


def _old_or_new(contest_id: str, entries: list[Any]) -> None:
    """Whatever readers see is one whole board: every entry once, all rows from the same run."""
    answer = board_of(contest_id)
    assert answer.status == 200, answer.body
    items = answer.body["items"]
    assert sorted(item["entryId"] for item in items) == sorted(entry.entry_id for entry in entries)
    drops = {Decimal(START - 10 * i) - Decimal(items[i]["totalValue"]) for i in range(len(items))}
    assert drops in ({Decimal(0)}, {Decimal(5)}), drops  # all from the old run, or all from the new one


# ------------------------------------------------------------------------------------------------ lifecycle
class Recorder:
    def __init__(self, now: Any) -> None:
        self.now = now
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ended: list[str] = []

    def ports(self, *, publish: Any = None, on_ended: Any = None) -> Any:
        from tickerleague.services.lifecycle import LifecyclePorts

        return LifecyclePorts(
            clock=lambda: self.now,
            sleep=lambda seconds: None,
            publish=publish or (lambda kind, detail: self.events.append((kind, detail))),
            on_ended=on_ended or (lambda contest_id, at: self.ended.append(contest_id)),
        )


def _scheduled() -> Any:
    return make_contest(status=ContestStatus.SCHEDULED, starts_at=T0, ends_at=T0 + timedelta(days=1))


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("GetItem", "throttling"),
        ("UpdateItem", "internal500"),
        ("UpdateItem", "throughput"),
        ("UpdateItem", "read_timeout"),
    ],
)
def test_an_activation_that_fails_is_retried_by_the_state_machine_and_activates_once(
    world: World, inject: Injector, operation: str, fault: str
) -> None:
    from tickerleague.services import lifecycle

    contest = _scheduled()
    recorder = Recorder(T0)
    inject.fail(operation, faults.TRANSACTION_FAULTS[fault], times=faults.PERSISTENT)
    try:
        lifecycle.activate(contest.contest_id, 1, recorder.ports())
    except Exception as error:
        assert is_transient(error), error
    with inject.off():
        status = state.contest_item(contest.contest_id)["status"]
    assert inject.fired and status in ("scheduled", "active")
    inject.clear()
    assert lifecycle.activate(contest.contest_id, 1, recorder.ports()) == "activated"
    assert state.contest_item(contest.contest_id)["status"] == "active"
    assert [kind for kind, _ in recorder.events] == ["ContestStarted"]


def test_an_activation_whose_event_cannot_be_published_fails_and_its_retry_publishes(
    world: World, inject: Injector, published: list[Any]
) -> None:
    from tickerleague.services import lifecycle

    contest = _scheduled()
    inject.fail("PutEvents", faults.internal_error())
    with pytest.raises(Exception) as raised:
        lifecycle.activate(contest.contest_id, 1, lifecycle.LifecyclePorts(clock=lambda: T0, sleep=lambda _: None))
    assert is_transient(raised.value)
    assert state.contest_item(contest.contest_id)["status"] == "active"  # the move is made; only the event is owed
    assert (
        lifecycle.activate(contest.contest_id, 1, lifecycle.LifecyclePorts(clock=lambda: T0, sleep=lambda _: None))
        == "activated"
    )
    assert [kind for kind, _ in published] == ["ContestStarted"]


@pytest.mark.parametrize("fault", ["throttling", "read_timeout"])
def test_an_end_whose_hook_fails_ends_nothing_and_the_retry_ends_once(
    world: World, inject: Injector, fault: str
) -> None:
    from tickerleague.services import lifecycle

    contest = make_contest(starts_at=T0 - timedelta(days=1), ends_at=T0)
    recorder = Recorder(T0)
    calls: list[str] = []

    def hook(contest_id: str, at: Any) -> None:  # the real hooks read and write the table: fail like them
        calls.append(contest_id)
        if len(calls) == 1:
            raise faults.DYNAMODB_FAULTS[fault](_client(), "Query")

    with pytest.raises(Exception) as raised:
        lifecycle.end(contest.contest_id, 1, recorder.ports(on_ended=hook))
    assert is_transient(raised.value)
    assert state.contest_item(contest.contest_id)["status"] == "active"
    assert lifecycle.end(contest.contest_id, 1, recorder.ports(on_ended=hook)) == "ended"
    assert state.contest_item(contest.contest_id)["status"] == "ended"
    assert [kind for kind, _ in recorder.events] == ["ContestEnded"] and len(calls) == 2


def test_the_real_end_hooks_under_a_failing_table_end_once(world: World, inject: Injector) -> None:
    from tickerleague.services import lifecycle

    contest = make_contest(starts_at=T0 - timedelta(days=1), ends_at=T0)
    put_entries([entry_item(contest, cash=START - index) for index in range(5)])
    inject.fail("BatchWriteItem", faults.throttling(), times=faults.PERSISTENT)
    recorder = Recorder(T0)
    ports = lifecycle.LifecyclePorts(
        clock=lambda: T0, sleep=lambda _: None, publish=lambda kind, detail: recorder.events.append((kind, detail))
    )
    try:
        lifecycle.end(contest.contest_id, 1, ports)
    except Exception as error:
        assert is_transient(error), error
        with inject.off():
            assert state.contest_item(contest.contest_id)["status"] == "active"
    inject.clear()
    assert lifecycle.end(contest.contest_id, 1, ports) == "ended"
    assert state.contest_item(contest.contest_id)["status"] == "ended"
    answer = board_of(contest.contest_id)
    assert answer.status == 200 and len(answer.body["items"]) == 5


def _client() -> Any:
    import boto3

    return boto3.client("dynamodb", region_name="us-east-1")
