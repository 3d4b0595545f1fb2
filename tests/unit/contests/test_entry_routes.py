"""Joining and the portfolio, in-process against moto (concurrency lives in tests/integration/contests/)."""

from __future__ import annotations

import pytest

from tests.unit.contests.helpers import (
    World,
    action,
    create,
    force_status,
    get,
    join,
    make_person,
    patch,
    portfolio,
    published,
)

ENTRY_FIELDS = {"id", "contestId", "userId", "status", "cash", "joinedAt"}


def stored_entry_count(contest_id: str) -> int:
    from tickerleague.adapters.dynamodb import contests as repo

    contest = repo.get(contest_id, consistent=True)
    assert contest is not None
    return contest.entry_count


def test_join_answers_201_with_the_entry(world: World) -> None:
    contest = published(world, startingCash="2500.50")
    answer = join(world.alice, contest["id"])
    assert answer.status == 201
    assert set(answer.body) == ENTRY_FIELDS
    assert answer.body["contestId"] == contest["id"]
    assert answer.body["userId"] == world.alice.user_id
    assert answer.body["status"] == "active"
    assert answer.body["cash"] == "2500.50"
    assert answer.body["joinedAt"].endswith("Z") and len(answer.body["joinedAt"]) == 20
    assert get(contest["id"]).body["entryCount"] == 1


def test_join_accepts_an_empty_object_body(world: World) -> None:
    contest = published(world)
    assert join(world.alice, contest["id"], {}).status == 201


def test_joining_again_answers_the_same_entry_with_200(world: World) -> None:
    contest = published(world)
    first = join(world.alice, contest["id"])
    again = join(world.alice, contest["id"])
    assert again.status == 200
    assert again.body == first.body
    assert stored_entry_count(contest["id"]) == 1


def test_the_entry_is_written_with_its_id_marker_and_display_name(world: World) -> None:
    from tickerleague.adapters.dynamodb.entries import find_entry_by_id, get_entry

    contest = published(world)
    entry_id = join(world.alice, contest["id"]).body["id"]
    stored = get_entry(contest["id"], world.alice.user_id)
    assert stored is not None
    assert stored.display_name == "Alice"
    assert str(stored.portfolio.cash) == "100000.00"
    assert find_entry_by_id(entry_id) == stored


def test_a_full_contest_refuses_with_contest_full(world: World) -> None:
    contest = published(world, maxEntries=2)
    carol = make_person("carol@example.com", "Carol")
    assert join(world.alice, contest["id"]).status == 201
    assert join(world.bob, contest["id"]).status == 201
    answer = join(carol, contest["id"])
    assert answer.status == 409
    assert answer.error_code == "CONTEST_FULL"
    assert stored_entry_count(contest["id"]) == 2
    assert join(world.alice, contest["id"]).status == 200  # an entrant still gets their entry back


def test_the_transaction_decides_capacity_when_the_read_was_stale(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the write is an optimisation; the condition in the transaction is what keeps the limit."""
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.domain.contests import Contest

    contest = published(world, maxEntries=2)
    join(world.alice, contest["id"])
    join(world.bob, contest["id"])
    real = repo.contest_from_raw

    def stale(raw: dict[str, object]) -> Contest:
        from dataclasses import replace

        return replace(real(raw), entry_count=0)

    monkeypatch.setattr(repo, "contest_from_raw", stale)
    answer = join(make_person("carol@example.com", "Carol"), contest["id"])
    assert answer.status == 409
    assert answer.error_code == "CONTEST_FULL"
    assert stored_entry_count(contest["id"]) == 2


def test_the_transaction_decides_joinability_when_the_read_was_stale(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.domain.contests import Contest, ContestStatus

    contest = published(world)
    action(world.admin, contest["id"], "cancel")
    real = repo.contest_from_raw

    def stale(raw: dict[str, object]) -> Contest:
        from dataclasses import replace

        return replace(real(raw), status=ContestStatus.SCHEDULED)

    monkeypatch.setattr(repo, "contest_from_raw", stale)
    answer = join(world.alice, contest["id"])
    assert answer.status == 409
    assert answer.error_code == "CONTEST_NOT_JOINABLE"
    from tickerleague.adapters.dynamodb.entries import get_entry

    assert get_entry(contest["id"], world.alice.user_id) is None  # nothing half-written


def test_a_duplicate_found_by_the_transaction_answers_the_stored_entry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two joins of one user that both read "not joined": the second's transaction fails on the entry, and it
    answers with the winner's entry."""
    from tickerleague.adapters.dynamodb import contests as repo

    contest = published(world)
    first = join(world.alice, contest["id"]).body
    real_batch_get = repo.batch_get

    def without_entry(keys: list[dict[str, str]]) -> dict[str, dict[str, object]]:
        found = real_batch_get(keys)
        return {key: value for key, value in found.items() if not key.startswith("ENTRY#")}

    monkeypatch.setattr(repo, "batch_get", without_entry)
    answer = join(world.alice, contest["id"])
    assert answer.status == 200
    assert answer.body == first
    assert stored_entry_count(contest["id"]) == 1


@pytest.mark.parametrize("status", ["ended", "cancelled"])
def test_finished_contests_are_not_joinable(world: World, status: str) -> None:
    contest = published(world)
    force_status(contest["id"], status)
    answer = join(world.alice, contest["id"])
    assert answer.status == 409
    assert answer.error_code == "CONTEST_NOT_JOINABLE"


def test_an_active_contest_is_joinable_only_with_late_entry(world: World) -> None:
    late = published(world, name="Late ok")
    closed = published(world, name="No late", rules={"allowLateEntry": False})
    force_status(late["id"], "active")
    force_status(closed["id"], "active")
    assert join(world.alice, late["id"]).status == 201
    answer = join(world.alice, closed["id"])
    assert answer.status == 409
    assert answer.error_code == "CONTEST_NOT_JOINABLE"


def test_a_draft_is_404_for_players_and_409_for_admins(world: World) -> None:
    draft = create(world.admin).body
    assert join(world.alice, draft["id"]).status == 404
    answer = join(world.admin, draft["id"])
    assert answer.status == 409
    assert answer.error_code == "CONTEST_NOT_JOINABLE"


def test_a_private_contest_needs_its_invite_code(world: World) -> None:
    contest = published(world, visibility="private")
    for body in (None, {}, {"inviteCode": "WRONGCODE1"}, {"inviteCode": contest["inviteCode"].lower()}):
        answer = join(world.alice, contest["id"], body)
        assert answer.status == 404, body
        assert answer.error_code == "NOT_FOUND"
    assert join(world.alice, contest["id"], {"inviteCode": contest["inviteCode"]}).status == 201
    assert stored_entry_count(contest["id"]) == 1


def test_a_wrong_invite_code_does_not_reveal_the_state(world: World) -> None:
    contest = published(world, visibility="private")
    action(world.admin, contest["id"], "cancel")
    assert join(world.alice, contest["id"], {"inviteCode": "WRONGCODE1"}).status == 404
    assert join(world.alice, contest["id"], {"inviteCode": contest["inviteCode"]}).status == 409


@pytest.mark.parametrize("reference", ["01HX0000000000000000000000", "spring-cup", "x"])
def test_join_unknown_or_by_slug_is_404(world: World, reference: str) -> None:
    published(world)
    assert join(world.alice, reference).status == 404


@pytest.mark.parametrize("body", [{"inviteCode": 5}, {"surprise": 1}, {"inviteCode": "x" * 65}])
def test_join_refuses_bad_bodies(world: World, body: dict[str, object]) -> None:
    contest = published(world)
    answer = join(world.alice, contest["id"], body)
    assert answer.status == 422
    assert stored_entry_count(contest["id"]) == 0


def test_join_without_a_principal_is_401(world: World) -> None:
    from functions import entries
    from tests.support.events import api_event, call

    contest = published(world)
    answer = call(
        entries.join,
        api_event(
            "POST",
            f"/v1/contests/{contest['id']}/entries",
            resource="/v1/contests/{contestId}/entries",
            path_params={"contestId": contest["id"]},
        ),
    )
    assert answer.status == 401


def test_rescheduling_keeps_entries(world: World) -> None:
    contest = published(world)
    join(world.alice, contest["id"])
    assert patch(world.admin, contest["id"], {"name": "Renamed"}).body["entryCount"] == 1


# ---------------------------------------------------------------------------------------------------- portfolio
def test_portfolio_of_a_fresh_entry(world: World) -> None:
    contest = published(world, startingCash="1000")
    join(world.alice, contest["id"])
    answer = portfolio(world.alice, contest["id"])
    assert answer.status == 200
    body = answer.body
    assert set(body) == {"contestId", "cash", "positions", "totalValue", "returnPct", "asOf"}
    assert body["contestId"] == contest["id"]
    assert body["cash"] == "1000.00"
    assert body["positions"] == []
    assert body["totalValue"] == "1000.00"
    assert body["returnPct"] == "0.0000"
    assert body["asOf"].endswith("Z")


def test_portfolio_values_positions_and_returns(world: World) -> None:
    """Positions are marked to the latest stored quote."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from tickerleague.adapters.dynamodb.entries import (
        client,
        entry_from_item,
        entry_to_item,
        from_attribute_map,
        get_entry,
        to_attribute_map,
    )
    from tickerleague.adapters.dynamodb.quotes import put_latest
    from tickerleague.config import settings
    from tickerleague.domain.portfolio import Portfolio, Position
    from tickerleague.domain.quotes import Quote

    contest = published(world, startingCash="1000")
    join(world.alice, contest["id"])
    entry = get_entry(contest["id"], world.alice.user_id)
    assert entry is not None
    from dataclasses import replace

    traded = replace(
        entry,
        portfolio=Portfolio(
            starting_cash=Decimal("1000.00"),
            cash=Decimal("700.00"),
            positions={
                "AAPL": Position(
                    "AAPL", quantity=Decimal("3"), cost_basis=Decimal("310.00"), realized_pnl=Decimal("-1.25")
                )
            },
        ),
    )
    client().put_item(TableName=settings().table_name, Item=to_attribute_map(entry_to_item(traded)))
    assert entry_from_item(from_attribute_map(to_attribute_map(entry_to_item(traded)))) == traded
    now = datetime.now(UTC)
    put_latest(Quote(symbol="AAPL", price=Decimal("110.0000"), as_of=now, source="simulated"), now)
    body = portfolio(world.alice, contest["id"]).body
    assert body["cash"] == "700.00"
    assert body["positions"] == [
        {
            "symbol": "AAPL",
            "quantity": "3",
            "avgCost": "103.3333",
            "lastPrice": "110.0000",
            "marketValue": "330.00",
            "unrealizedPnl": "20.00",
            "realizedPnl": "-1.25",
        }
    ]
    assert body["totalValue"] == "1030.00"
    assert body["returnPct"] == "3.0000"


def test_portfolio_when_not_joined_is_404(world: World) -> None:
    contest = published(world)
    join(world.alice, contest["id"])
    for reference in (contest["id"], "01HX0000000000000000000000", "not-an-id"):
        answer = portfolio(world.bob, reference)
        assert answer.status == 404
        assert answer.error_code == "NOT_FOUND"
