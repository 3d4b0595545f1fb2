"""Demo data for the local stack, idempotent (infra/seed.py calls `seed_demo` after the admin exists and
`rearm_lifecycles` after every start).

Five contests, found again by their slugs on later runs: one scheduled (starts in a day), one active (started
yesterday, created directly in `active` and given a lifecycle execution so it ends on time), one ended (with final
standings when the leaderboard code is there), one private and one paid (5.00 usd, nobody joined);
and four demo players (password
LOCAL_DEMO_PASSWORD, default "local-demo-password") joined to them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from tickerleague.clock import utcnow
from tickerleague.domain.contests import (
    Contest,
    ContestDefinition,
    ContestRules,
    ContestStatus,
    EntryFee,
    Visibility,
)

logger = logging.getLogger("tickerleague.seed")

DEFAULT_DEMO_PASSWORD = "local-demo-password"
PLAYERS = (("ava@example.com", "Ava"), ("ben@example.com", "Ben"), ("chloe@example.com", "Chloe"),
           ("dev@example.com", "Dev"))


@dataclass(frozen=True)
class DemoContest:
    name: str
    status: ContestStatus
    starts_in: timedelta
    ends_in: timedelta
    visibility: Visibility = Visibility.PUBLIC
    description: str = ""
    rules: ContestRules = field(default_factory=ContestRules)
    entry_fee: EntryFee | None = None  # paid: nobody is joined by the seed (try the paid join yourself, README)
    max_entries: int | None = None


DEMO_CONTESTS = (
    DemoContest("Weekly Tech Sprint", ContestStatus.SCHEDULED, timedelta(days=1), timedelta(days=8),
                description="A week of trading big tech only.",
                rules=ContestRules(allowed_symbols=("AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META"),
                                   max_position_pct=Decimal("40"))),
    DemoContest("Open Market Marathon", ContestStatus.ACTIVE, timedelta(days=-1), timedelta(days=6),
                description="Anything in the S&P 500, all month long."),
    DemoContest("Last Month Classic", ContestStatus.ENDED, timedelta(days=-30), timedelta(days=-2),
                description="Finished: see the final standings."),
    DemoContest("Friends and Family Cup", ContestStatus.SCHEDULED, timedelta(days=2), timedelta(days=9),
                visibility=Visibility.PRIVATE, description="Invite only."),
    DemoContest("Paid Pro League", ContestStatus.SCHEDULED, timedelta(days=1), timedelta(days=8),
                description="5.00 USD to enter; pay at localstripe with card 4242 4242 4242 4242.",
                entry_fee=EntryFee(Decimal("5.00"), "usd"), max_entries=50),
)


def demo_password() -> str:
    return os.environ.get("LOCAL_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)


def seed_players(now: datetime) -> list[str]:
    """The demo players' user ids (created when missing)."""
    from tickerleague.adapters.dynamodb.users import user_id_for_email
    from tickerleague.services import auth

    ids = []
    for email, name in PLAYERS:
        existing = user_id_for_email(email)
        if existing is None:
            existing = auth.signup(email, demo_password(), name, now).user.id
            logger.info("seeded demo player %s", email)
        ids.append(existing)
    return ids


def _definition(demo: DemoContest, now: datetime) -> ContestDefinition:
    return ContestDefinition(name=demo.name, description=demo.description, starts_at=now + demo.starts_in,
                             ends_at=now + demo.ends_in, visibility=demo.visibility, rules=demo.rules,
                             entry_fee=demo.entry_fee, max_entries=demo.max_entries)


def _existing(demo: DemoContest) -> Contest | None:
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.domain.contests import slugify

    return repo.get_by_slug(slugify(demo.name))


def _join_all(contest: Contest, player_ids: list[str]) -> None:
    from tickerleague.http.principal import Principal
    from tickerleague.services.entries import join_contest

    for user_id in player_ids:
        join_contest(Principal(user_id, "user", "seed"), contest.contest_id, contest.invite_code)


def _scheduled(demo: DemoContest, admin: str, now: datetime) -> Contest:
    from tickerleague.services import contests as service

    actor = service.Actor(admin)
    draft = service.create_contest(actor, _definition(demo, now), now=now)
    return service.publish_contest(actor, draft.contest_id, now=now)


def _running(demo: DemoContest, admin: str, now: datetime) -> Contest:
    """Straight into `active` (its start is in the past, so publish would refuse it), then its lifecycle."""
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.domain.contests import slugify
    from tickerleague.ids import new_ulid
    from tickerleague.services.contests import default_lifecycle

    contest = Contest(contest_id=new_ulid(), slug=slugify(demo.name), status=ContestStatus.ACTIVE,
                      definition=_definition(demo, now), created_at=now, updated_at=now, created_by=admin)
    repo.insert(contest, None)
    return replace(contest, execution_arn=default_lifecycle().start(contest))


def _finished(demo: DemoContest, admin: str, now: datetime, player_ids: list[str]) -> Contest:
    """Active while the players join, then the end step's own work: the ended hooks and final standings, the flip."""
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.domain.contests import slugify
    from tickerleague.ids import new_ulid
    from tickerleague.services import lifecycle_hooks

    contest = Contest(contest_id=new_ulid(), slug=slugify(demo.name), status=ContestStatus.ACTIVE,
                      definition=_definition(demo, now), created_at=now, updated_at=now, created_by=admin)
    repo.insert(contest, None)
    _join_all(contest, player_ids)
    lifecycle_hooks.on_contest_ended(contest.contest_id, contest.ends_at)
    _final_standings(contest)
    repo.lifecycle_transition(contest.contest_id, contest.schedule_version, ContestStatus.ACTIVE,
                              ContestStatus.ENDED, now)
    return replace(contest, status=ContestStatus.ENDED)


def _final_standings(contest: Contest) -> None:
    """Unless a lifecycle hook already did it (compute_final_standings is idempotent)."""
    try:
        from tickerleague.services.leaderboard_recompute import compute_final_standings
    except ImportError:
        return
    compute_final_standings(contest.contest_id, contest.ends_at)


def seed_demo(admin_id: str, now: datetime | None = None) -> list[Contest]:
    """The demo contests and players (the ones already there are left alone)."""
    moment = now or utcnow()
    players = seed_players(moment)
    seeded: list[Contest] = []
    builders: dict[ContestStatus, Callable[[DemoContest], Contest]] = {
        ContestStatus.ACTIVE: lambda demo: _running(demo, admin_id, moment),
        ContestStatus.ENDED: lambda demo: _finished(demo, admin_id, moment, players),
    }
    for demo in DEMO_CONTESTS:
        existing = _existing(demo)
        if existing is not None:
            seeded.append(existing)
            continue
        build = builders.get(demo.status, lambda demo: _scheduled(demo, admin_id, moment))
        contest = build(demo)
        if contest.status is not ContestStatus.ENDED and demo.entry_fee is None:
            _join_all(contest, players)
        logger.info("seeded demo contest %s (%s)", contest.slug, contest.status.value)
        seeded.append(contest)
    return seeded


def rearm_lifecycles() -> list[str]:
    """Start the lifecycle execution of every scheduled or active contest again (the local stack forgets its
    executions when it stops). Safe to repeat: an execution is named by the contest's schedule version, and each
    step only acts on the status and schedule it expects. Returns the execution names."""
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.services.contests import default_lifecycle

    lifecycle = default_lifecycle()
    names = []
    for status in (ContestStatus.SCHEDULED, ContestStatus.ACTIVE):
        for contest in repo.ids_in_status(status):
            lifecycle.start(contest)
            names.append(contest.execution_name())
    logger.info("re-armed %d contest lifecycles", len(names))
    return names
