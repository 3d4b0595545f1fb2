"""Demo seed data (infra/seed_demo.py through infra/seed.py): idempotent, and lifecycles re-armed after a restart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.contests.helpers import World


@pytest.fixture
def demo_password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOCAL_DEMO_PASSWORD", "demo password for tests")
    return "demo password for tests"


def test_seeding_twice_gives_the_same_demo_world(world: World, demo_password: str) -> None:
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.adapters.dynamodb.users import user_id_for_email

    from infra import seed

    seed.run()
    first = {contest.slug: contest for contest in _all_contests(repo)}
    seed.run()
    second = {contest.slug: contest for contest in _all_contests(repo)}
    assert {slug: contest.contest_id for slug, contest in first.items()} == \
        {slug: contest.contest_id for slug, contest in second.items()}
    statuses = {slug: (contest.status.value, contest.definition.visibility.value, contest.entry_count)
                for slug, contest in second.items()}
    assert statuses == {
        "weekly-tech-sprint": ("scheduled", "public", 4),
        "open-market-marathon": ("active", "public", 4),
        "last-month-classic": ("ended", "public", 4),
        "friends-and-family-cup": ("scheduled", "private", 4),
        "paid-pro-league": ("scheduled", "public", 0),  # paid: nobody is joined by the seed
    }
    assert user_id_for_email("ava@example.com") is not None


def test_demo_players_can_log_in_with_the_demo_password(world: World, demo_password: str) -> None:
    from tickerleague.clock import utcnow
    from tickerleague.services import auth
    from tickerleague.services.audit import RequestOrigin

    from infra.seed_demo import seed_demo

    seed_demo(world.admin.user_id)
    assert auth.login("ben@example.com", demo_password, "198.51.100.1", RequestOrigin(), utcnow()).user.email \
        == "ben@example.com"


def test_the_active_contest_has_a_lifecycle_that_will_end_it(world: World, demo_password: str) -> None:
    from infra.seed_demo import seed_demo

    contests = {contest.slug: contest for contest in seed_demo(world.admin.user_id)}
    running = {item["name"] for item in world.executions() if item["status"] == "RUNNING"}
    assert running == {contests[slug].execution_name() for slug in
                       ("weekly-tech-sprint", "open-market-marathon", "friends-and-family-cup",
                        "paid-pro-league")}


def test_rearm_starts_every_scheduled_and_active_lifecycle_again(world: World, demo_password: str) -> None:
    import boto3

    from infra.seed_demo import rearm_lifecycles, seed_demo

    contests = {contest.slug: contest for contest in seed_demo(world.admin.user_id)}
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    # A restart: the local stack's moto forgets its executions (a new state machine stands in for that here).
    sfn.delete_state_machine(stateMachineArn=world.state_machine_arn)
    world.state_machine_arn = sfn.create_state_machine(
        name="ContestLifecycle", definition='{"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}',
        roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    names = rearm_lifecycles()
    expected = {contests[slug].execution_name() for slug in
                ("weekly-tech-sprint", "open-market-marathon", "friends-and-family-cup",
                        "paid-pro-league")}
    assert set(names) == expected
    assert {item["name"] for item in world.executions()} == expected
    assert set(rearm_lifecycles()) == expected  # again: the same executions, nothing new
    assert len(world.executions()) == 4


def _all_contests(repo: Any) -> list[Any]:
    from tickerleague.domain.contests import ContestStatus

    return [contest for status in ContestStatus for contest in repo.ids_in_status(status)]
