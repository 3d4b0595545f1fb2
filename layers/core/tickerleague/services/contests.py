"""Contest use cases: create, list, read, edit, publish, cancel.

Every state change is one conditional transaction together with its audit event. A create with an Idempotency-Key
writes a marker (the admin, the key's hash, the definition's fingerprint) in that transaction, so a retry whose first
answer was lost gets the contest that the first one made instead of a second one (domain/idempotency.py).
Publishing and rescheduling start the lifecycle execution BEFORE the contest records the new schedule: an execution
whose schedule never got recorded finds a different `scheduleVersion` (or a draft) when it wakes and does nothing,
whereas a recorded schedule without an execution would never start.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from tickerleague.clock import iso, utcnow
from tickerleague.config import settings
from tickerleague.domain.contests import (
    PUBLICLY_LISTED,
    Contest,
    ContestDefinition,
    ContestStatus,
    apply_edit,
    definition_fingerprint,
    invite_code_visible_to,
    listed_symbol,
    needs_status_check,
    publish_errors,
    slug_candidate,
    slugify,
    transitioned,
    validate_new,
    visible_to,
)
from tickerleague.domain.idempotency import key_digest
from tickerleague.domain.principal import Principal
from tickerleague.errors import Conflict, IdempotencyKeyReused, NotFound, ServiceUnavailable, ValidationFailed
from tickerleague.ids import is_ulid, new_ulid
from tickerleague.lazy import lazy_module
from tickerleague.services import placement_memory
from tickerleague.services.ports import Cursors

if TYPE_CHECKING:
    from tickerleague.adapters.dynamodb import audit as audit_table
    from tickerleague.adapters.dynamodb import contests as repo
    from tickerleague.adapters.dynamodb.audit import AuditItem
else:  # PynamoDB is imported at first use, not at cold start (tickerleague/lazy.py)
    repo = lazy_module("tickerleague.adapters.dynamodb.contests")
    audit_table = lazy_module("tickerleague.adapters.dynamodb.audit")

logger = logging.getLogger("tickerleague.contests")

SLUG_ATTEMPTS = 50
WRITE_ATTEMPTS = 4
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
INVITE_LENGTH = 10
MAX_REFERENCE_LENGTH = 120


class LifecyclePort(Protocol):
    """Starts and stops the lifecycle execution of a contest's current schedule."""

    def start(self, contest: Contest) -> str: ...

    def stop(self, execution_arn: str, cause: str) -> None: ...


@dataclass(frozen=True)
class Actor:
    """Who changes a contest, for the audit trail."""

    user_id: str
    request_id: str | None = None
    source_ip: str | None = None


@dataclass(frozen=True)
class VisibleContest:
    contest: Contest
    show_invite_code: bool


known_symbol = listed_symbol


def default_lifecycle() -> LifecyclePort:
    from tickerleague.adapters.stepfunctions import LifecycleWorkflows

    return LifecycleWorkflows()


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def _audit(actor: Actor, action: str, before: Contest | None, after: Contest, now: datetime) -> AuditItem:
    return audit_table.AuditItem.new(
        audit_id=new_ulid(), at=iso(now), actor_id=actor.user_id, action=action, target_type="contest",
        target_id=after.contest_id, before=_audit_state(before), after=_audit_state(after),
        request_id=actor.request_id, source_ip=actor.source_ip,
    )


def _audit_state(contest: Contest | None) -> dict[str, Any] | None:
    if contest is None:
        return None
    definition = contest.definition
    return {
        "status": contest.status.value, "name": definition.name, "startsAt": iso(definition.starts_at),
        "endsAt": iso(definition.ends_at), "startingCash": str(definition.starting_cash),
        "visibility": definition.visibility.value, "maxEntries": definition.max_entries,
        "scheduleVersion": contest.schedule_version,
    }


# ---------------------------------------------------------------------------------------------------- create
@dataclass(frozen=True)
class Creation:
    contest: Contest
    replayed: bool = False  # made by an earlier request under the same Idempotency-Key (as it stands now)


def create_contest(actor: Actor, definition: ContestDefinition, *, now: datetime | None = None,
                   is_known_symbol: Callable[[str], bool] = known_symbol) -> Contest:
    """A new draft (no Idempotency-Key: every call creates one)."""
    return create_contest_once(actor, definition, None, now=now, is_known_symbol=is_known_symbol).contest


def create_contest_once(actor: Actor, definition: ContestDefinition, idempotency_key: str | None, *,
                        now: datetime | None = None,
                        is_known_symbol: Callable[[str], bool] = known_symbol) -> Creation:
    """POST /v1/contests: a new draft. Its slug comes from the name and is unique: `name`, `name-2`, `name-3` ...
    by marker items. Under an Idempotency-Key, at most one contest per (admin, key) while the key lasts: the same
    definition again answers the first contest (`replayed`), another one is 422 IDEMPOTENCY_KEY_REUSED; looked up
    before validation (a retry must not fail on a start time that has passed meanwhile) and enforced by the
    marker's condition in the create transaction (concurrent retries)."""
    moment = now or utcnow()
    fingerprint = definition_fingerprint(definition)
    digest = key_digest(idempotency_key) if idempotency_key is not None else None
    if digest is not None:
        earlier = repo.created_under(actor.user_id, digest, int(moment.timestamp()))
        if earlier is not None:
            return _created_earlier(earlier, fingerprint)
    valid = validate_new(definition, moment, is_known_symbol)
    contest_id = new_ulid()
    marker = None if digest is None else repo.CreateMarker.new(
        actor.user_id, digest, contest_id=contest_id, request_hash=fingerprint,
        expires_at=int(moment.timestamp()) + settings().idempotency_ttl_seconds)
    base = slugify(valid.name)
    draft = Contest(
        contest_id=contest_id, slug=base, status=ContestStatus.DRAFT, definition=valid, created_at=moment,
        updated_at=moment, created_by=actor.user_id,
        invite_code=new_invite_code() if valid.visibility.value == "private" else None,
    )
    try:
        return Creation(_insert_with_a_free_slug(actor, draft, base, moment, marker))
    except repo.AlreadyCreated as earlier:
        return _created_earlier(earlier, fingerprint)


def _insert_with_a_free_slug(actor: Actor, draft: Contest, base: str, moment: datetime,
                             marker: repo.CreateMarker | None) -> Contest:
    epoch = int(moment.timestamp())
    for attempt in range(1, SLUG_ATTEMPTS + 1):
        candidate = replace(draft, slug=slug_candidate(base, attempt))
        try:
            repo.insert(candidate, _audit(actor, "contest.created", None, candidate, moment), marker, now_epoch=epoch)
        except repo.SlugTaken:
            continue
        return candidate
    # Fifty contests with one name: stop counting and make it unique at once.
    candidate = replace(draft, slug=f"{base}-{draft.contest_id[-6:].lower()}")
    repo.insert(candidate, _audit(actor, "contest.created", None, candidate, moment), marker, now_epoch=epoch)
    return candidate


def _created_earlier(earlier: repo.AlreadyCreated, fingerprint: str) -> Creation:
    if earlier.request_hash != fingerprint:
        raise IdempotencyKeyReused(details={"header": "Idempotency-Key"})
    contest = repo.get(earlier.contest_id, consistent=True)
    if contest is None:  # the marker is written in the contest's own transaction
        raise ServiceUnavailable("The contest could not be read; try again.")
    return Creation(contest, replayed=True)


# ---------------------------------------------------------------------------------------------------- read
def _list_scope(viewer: Principal | None, status: ContestStatus | None) -> str:
    audience = "admin" if viewer is not None and viewer.is_admin else "public"
    caller = viewer.user_id if viewer is not None else "anonymous"
    return f"contests|status={status.value if status else '*'}|{audience}|{caller}"


def list_contests(viewer: Principal | None, status: ContestStatus | None, limit: int,
                  cursor: str | None, *, cursors: Cursors) -> tuple[list[Contest], str | None]:
    """Admins see every contest; everyone else the public ones that are scheduled, active or ended.

    Without `status`: newest first. With it: by start time, soonest first for draft/scheduled (what comes next),
    latest first for active/ended/cancelled (what happened last)."""
    is_admin = viewer is not None and viewer.is_admin
    scope = _list_scope(viewer, status)
    position = cursors.open(scope, cursor)
    if status is None:
        page = repo.list_all(limit, position, public_listed_only=not is_admin)
    elif not is_admin and status not in PUBLICLY_LISTED:
        return [], None
    else:
        ascending = status in (ContestStatus.DRAFT, ContestStatus.SCHEDULED)
        page = repo.list_by_status(status, limit, position, public_only=not is_admin, ascending=ascending)
    return page.contests, cursors.seal(scope, page.position)


def find_contest(reference: str, *, consistent: bool = False) -> Contest | None:
    """By id (a ULID) or by slug (case-insensitive)."""
    if not reference or len(reference) > MAX_REFERENCE_LENGTH:
        return None
    if is_ulid(reference):
        return repo.get(reference, consistent=consistent)
    return repo.get_by_slug(reference.lower())


def _is_entrant(contest_id: str, viewer: Principal | None) -> bool:
    if viewer is None:
        return False
    from tickerleague.adapters.dynamodb.entries import get_entry

    return get_entry(contest_id, viewer.user_id, consistent=False) is not None


def get_contest(viewer: Principal | None, reference: str) -> VisibleContest:
    """A contest the caller may see, or NotFound (a draft or private one does not leak its existence)."""
    contest = find_contest(reference)
    if contest is None:
        raise NotFound("No such contest.")
    is_admin = viewer is not None and viewer.is_admin
    is_entrant = needs_status_check(contest, is_admin=is_admin) and _is_entrant(contest.contest_id, viewer)
    if not visible_to(contest, is_admin=is_admin, is_entrant=is_entrant):
        raise NotFound("No such contest.")
    return VisibleContest(contest, invite_code_visible_to(contest, is_admin=is_admin, is_entrant=is_entrant))


def _require(contest_id: str) -> Contest:
    contest = repo.get(contest_id, consistent=True) if is_ulid(contest_id) else None
    if contest is None:
        raise NotFound("No such contest.")
    return contest


# ---------------------------------------------------------------------------------------------------- edit
def update_contest(actor: Actor, contest_id: str,
                   patch: Callable[[ContestDefinition], tuple[ContestDefinition, frozenset[str]]], *,
                   lifecycle: LifecyclePort | None = None, now: datetime | None = None,
                   is_known_symbol: Callable[[str], bool] = known_symbol) -> Contest:
    """PATCH: `patch(current definition)` gives the new definition and the changed fields. A new schedule of a
    scheduled contest bumps `scheduleVersion`, starts its execution, and stops the old one."""
    moment = now or utcnow()
    for _ in range(WRITE_ATTEMPTS):
        contest = _require(contest_id)
        definition, fields = patch(contest.definition)
        if not fields:
            return contest
        edit = apply_edit(contest, definition, fields, moment, is_known_symbol)
        updated = edit.contest
        if updated.definition.visibility.value == "private" and updated.invite_code is None:
            updated = replace(updated, invite_code=new_invite_code())
        elif updated.definition.visibility.value == "public":
            updated = replace(updated, invite_code=None)
        ports = lifecycle or default_lifecycle()
        if edit.reschedules:
            updated = replace(updated, execution_arn=_start_or_conflict(ports, updated))
        try:
            repo.replace_state(contest, updated, _audit(actor, "contest.updated", contest, updated, moment))
        except repo.StaleContest:
            continue
        if edit.reschedules and contest.execution_arn:
            ports.stop(contest.execution_arn, f"rescheduled as version {updated.schedule_version}")
        return updated
    raise _changed_concurrently()


def _start_or_conflict(lifecycle: LifecyclePort, contest: Contest) -> str:
    from botocore.exceptions import ClientError

    try:
        return lifecycle.start(contest)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            # Another admin started this schedule version with other times a moment ago.
            raise _changed_concurrently() from error
        raise


def _changed_concurrently() -> Conflict:
    return Conflict("The contest was changed by someone else at the same time; read it and try again.",
                    code="INVALID_STATE_TRANSITION")


# ---------------------------------------------------------------------------------------------------- publish
def publish_contest(actor: Actor, contest_id: str, *, lifecycle: LifecyclePort | None = None,
                    now: datetime | None = None) -> Contest:
    """draft -> scheduled, and its lifecycle execution (named by the schedule version, so a retry is a no-op)."""
    moment = now or utcnow()
    ports = lifecycle or default_lifecycle()
    for _ in range(WRITE_ATTEMPTS):
        contest = _require(contest_id)
        scheduled = transitioned(contest, ContestStatus.SCHEDULED, moment)
        errors = publish_errors(contest, moment)
        if errors:
            raise ValidationFailed(errors, "The contest cannot be published with this schedule.")
        scheduled = replace(scheduled, execution_arn=_start_or_conflict(ports, scheduled))
        try:
            repo.replace_state(contest, scheduled, _audit(actor, "contest.published", contest, scheduled, moment))
        except repo.StaleContest:
            # Edited or published meanwhile: the next read decides. The execution we started is left alone: it is
            # either the one of the recorded schedule, or it finds another version when it wakes and does nothing.
            continue
        return scheduled
    raise _changed_concurrently()


# ---------------------------------------------------------------------------------------------------- cancel
def _publish_cancelled(contest: Contest) -> None:
    """After the cancel's transaction: every entrant gets the cancellation email (notifications fan out)."""
    from tickerleague.adapters import events

    events.publish_after_commit("ContestCancelled", {"contestId": contest.contest_id}, source="tickerleague.contests")


def cancel_contest(actor: Actor, contest_id: str, *, lifecycle: LifecyclePort | None = None,
                   now: datetime | None = None) -> Contest:
    """draft | scheduled | active -> cancelled. Joining and trading check the status, so both stop with this write
    (trading in other containers within PLACEMENT_MEMORY_SECONDS: services/placement_memory.py); stopping the
    execution afterwards only tidies up (its steps would find the contest cancelled anyway)."""
    moment = now or utcnow()
    for _ in range(WRITE_ATTEMPTS):
        contest = _require(contest_id)
        cancelled = transitioned(contest, ContestStatus.CANCELLED, moment)
        try:
            repo.replace_state(contest, cancelled, _audit(actor, "contest.cancelled", contest, cancelled, moment))
        except repo.StaleContest:
            continue
        placement_memory.contest_left_active(cancelled)
        _publish_cancelled(cancelled)
        if contest.execution_arn:
            (lifecycle or default_lifecycle()).stop(contest.execution_arn, "contest cancelled")
        return cancelled
    raise _changed_concurrently()


# ---------------------------------------------------------------------------------------------------- directory
class StoredContests:
    """The contests as the leaderboard sees them (`services.ports.ContestDirectory`): visibility by this module's
    rules, the active ones, one by id."""

    def visible(self, viewer: Principal | None, reference: str) -> Contest:
        return get_contest(viewer, reference).contest

    def active(self) -> list[Contest]:
        return repo.ids_in_status(ContestStatus.ACTIVE)

    def get(self, contest_id: str) -> Contest | None:
        return repo.get(contest_id)
