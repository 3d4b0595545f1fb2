"""Joining a contest and reading one's portfolio.

A join costs one consistent BatchGetItem (contest, the caller's entry, the caller's profile) and, for a new entry,
ONE transaction: the entry put (`attribute_not_exists`), the contest's `entry_count + 1` (only while joinable and
below `max_entries`) and the entry-id marker. Capacity is therefore exact under any concurrency: the count and the
entry are written together or not at all.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tickerleague import metrics
from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.clock import iso_ms, utcnow
from tickerleague.domain.contests import Contest, ContestStatus
from tickerleague.domain.entries import Entry
from tickerleague.domain.portfolio import Portfolio
from tickerleague.domain.principal import Principal
from tickerleague.errors import Conflict, NotFound
from tickerleague.ids import is_ulid, new_ulid
from tickerleague.lazy import lazy_module

if TYPE_CHECKING:
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.adapters.dynamodb import users as users_table
    from tickerleague.adapters.dynamodb.payments import PaymentRecord
    from tickerleague.services import payments
else:  # PynamoDB is imported at first use, not at cold start (tickerleague/lazy.py)
    repo = lazy_module("tickerleague.adapters.dynamodb.contests")
    users_table = lazy_module("tickerleague.adapters.dynamodb.users")
    payments = lazy_module("tickerleague.services.payments")

DEFAULT_DISPLAY_NAME = "Player"


@dataclass(frozen=True)
class JoinAnswer:
    entry: Entry
    created: bool  # False: the caller had already joined, this is that entry
    payment: PaymentRecord | None = None  # a paid contest's entry: its payment (services/payments.py)


def _not_joinable(contest: Contest) -> Conflict:
    return Conflict(f"This contest is {contest.status.value} and cannot be joined.", code="CONTEST_NOT_JOINABLE",
                    details={"status": contest.status.value})


def _full() -> Conflict:
    return Conflict("This contest is full.", code="CONTEST_FULL")


def _check_access(contest: Contest, principal: Principal, invite_code: str | None) -> None:
    """404 for what the caller may not see: drafts (non-admins), private contests without the right code."""
    if principal.is_admin:
        return
    if contest.status is ContestStatus.DRAFT:
        raise NotFound("No such contest.")
    if contest.is_private:
        expected = contest.invite_code or ""
        if not invite_code or not expected or not hmac.compare_digest(invite_code.encode(), expected.encode()):
            raise NotFound("No such contest.")


def _check_joinable(contest: Contest) -> None:
    if not contest.is_joinable:
        raise _not_joinable(contest)
    if contest.is_full:
        raise _full()


def _entry_confirmed(entry: Entry) -> None:
    """After the join's transaction: the entry is active, so its owner gets the confirmation email."""
    from tickerleague.adapters import events

    events.publish_after_commit("EntryConfirmed", {"contestId": entry.contest_id, "entryId": entry.entry_id,
                                                   "userId": entry.user_id}, source="tickerleague.entries")


def join_contest(principal: Principal, contest_id: str, invite_code: str | None, *,
                 now: datetime | None = None) -> JoinAnswer:
    """The caller's entry: new (created=True) or the one they already have (never a second one)."""
    if not is_ulid(contest_id):
        raise NotFound("No such contest.")
    contest_key = repo.ContestItem.key(contest_id)
    entry_key = entries_table.entry_key(contest_id, principal.user_id)
    user_key = users_table.UserItem.key(principal.user_id)
    found = repo.batch_get([
        {"PK": contest_key[0], "SK": contest_key[1]}, entry_key, {"PK": user_key[0], "SK": user_key[1]},
    ])
    raw_contest = found.get(repo.raw_key(contest_key))
    if raw_contest is None:
        raise NotFound("No such contest.")
    raw_entry = found.get(repo.raw_key(entry_key))
    if raw_entry is not None:
        item = plumbing.from_attribute_map(raw_entry)
        if "paymentAmount" in item:  # a paid entry: the same PaymentIntent, or a new hold if the old one ran out
            paid = payments.existing_join(repo.contest_from_raw(raw_contest), item, now or utcnow())
            return JoinAnswer(paid.entry, created=paid.created, payment=paid.payment)
        return JoinAnswer(entries_table.entry_from_item(item), created=False)
    contest = repo.contest_from_raw(raw_contest)
    _check_access(contest, principal, invite_code)
    _check_joinable(contest)

    raw_user = found.get(repo.raw_key(user_key))
    display_name = (
        users_table.UserItem.from_raw_data(raw_user).display_name if raw_user is not None else DEFAULT_DISPLAY_NAME
    )
    if contest.definition.entry_fee is not None:
        paid = payments.paid_join(principal.user_id, contest, display_name, now or utcnow())
        return JoinAnswer(paid.entry, created=paid.created, payment=paid.payment)
    entry = Entry(
        entry_id=new_ulid(), contest_id=contest_id, user_id=principal.user_id, display_name=display_name,
        status="active", joined_at=iso_ms(now or utcnow()), portfolio=Portfolio.fresh(contest.definition.starting_cash),
    )
    marker = {**entries_table.entry_id_marker_key(entry.entry_id), "type": "entryId", "contestId": contest_id,
              "userId": principal.user_id}
    result = repo.join_transaction(contest_id, entries_table.entry_to_item(entry), marker)
    if result.outcome == "joined":
        # Only the transaction's winner counts: a retried or concurrent join of the same user gets `duplicate`.
        # A paid entry is counted when its payment activates it (services/payments.py).
        metrics.count("EntriesJoined", paid="false")
        _entry_confirmed(entry)
        return JoinAnswer(entry, created=True)
    if result.outcome == "duplicate":
        # A concurrent join of the same user won: answer with that entry.
        existing = (entries_table.entry_from_item(result.existing_entry) if result.existing_entry
                    else entries_table.get_entry(contest_id, principal.user_id))
        if existing is not None:
            return JoinAnswer(existing, created=False)
    if result.outcome == "full":
        raise _full()
    if result.outcome == "not_joinable":
        current = repo.get(contest_id, consistent=True)
        raise _not_joinable(current or contest)
    raise NotFound("No such contest.")
