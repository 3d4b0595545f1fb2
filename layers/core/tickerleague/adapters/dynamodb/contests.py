"""Contests, their unique-slug markers, and the join transaction.

Keys (docs/technical-specification.md, C1-C4, E5):
  contest       PK CONTEST#<contestId>  SK CONTEST
                GSI1 CONTESTS / <createdAt ms>#<contestId>          all contests, newest first
                GSI2 CONTESTS#<status> / <startsAt>#<contestId>     contests by status, by start time
  slug marker   PK SLUG#<slug>          SK SLUG   -> contest_id (written in the create transaction)
  create marker PK CONTESTCREATE#<adminId>#<sha256(Idempotency-Key)>  SK CONTESTCREATE  -> contest_id, requestHash
                (a create with an Idempotency-Key: written in its transaction, kept as long as the key, expiresAt)

The join transaction goes through the low-level client because the entry item is written that way
(`adapters/dynamodb/entries.py`: every number stays a Decimal); it names the contest's attributes itself, so the
attribute names below are part of that condition and must not be renamed lightly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, cast

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError, UpdateError

from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb.audit import AuditItem
from tickerleague.adapters.dynamodb.base import BaseItem, DecimalAttribute, bind_table, failed_items, transaction
from tickerleague.clock import iso, iso_ms, parse_iso_utc
from tickerleague.config import settings
from tickerleague.domain.contests import (
    Contest,
    ContestDefinition,
    ContestRules,
    ContestStatus,
    EntryFee,
    LifecycleFailure,
    Visibility,
)
from tickerleague.errors import ServiceUnavailable

ALL_CONTESTS = "CONTESTS"
TRANSACTION_ATTEMPTS = 12


class RulesMap(MapAttribute[str, Any]):
    allowed_symbols = ListAttribute(of=UnicodeAttribute, null=True)
    max_position_pct = DecimalAttribute(null=True)
    min_price = DecimalAttribute(null=True)
    max_trades_per_day = NumberAttribute(null=True)
    allow_late_entry = BooleanAttribute(default=True)
    commission_per_trade = DecimalAttribute()
    allow_fractional = BooleanAttribute(default=False)
    allow_short_selling = BooleanAttribute(default=False)


class EntryFeeMap(MapAttribute[str, Any]):
    amount = DecimalAttribute()
    currency = UnicodeAttribute()


class FailureMap(MapAttribute[str, Any]):
    at = UnicodeAttribute()
    step = UnicodeAttribute()
    error = UnicodeAttribute()
    cause = UnicodeAttribute()


class ContestItem(BaseItem):
    """PK CONTEST#<contestId>, SK CONTEST."""

    item_type = UnicodeAttribute(default="contest", attr_name="type")
    contest_id = UnicodeAttribute()
    slug = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    visibility = UnicodeAttribute()
    starts_at = UnicodeAttribute()  # ISO 8601 seconds, Z (the lifecycle Wait reads this form)
    ends_at = UnicodeAttribute()
    starting_cash = DecimalAttribute()
    entry_fee = EntryFeeMap(null=True)
    max_entries = NumberAttribute(null=True)  # absent = unlimited (the join condition relies on absence)
    entry_count = NumberAttribute(default=0)
    rules = RulesMap()
    invite_code = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()  # ISO 8601 milliseconds, Z
    updated_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    schedule_version = NumberAttribute(default=1)
    execution_arn = UnicodeAttribute(null=True)
    revision = NumberAttribute(default=0)
    lifecycle_failure = FailureMap(null=True)

    PREFIX: ClassVar[str] = "CONTEST#"

    @staticmethod
    def key(contest_id: str) -> tuple[str, str]:
        return f"CONTEST#{contest_id}", "CONTEST"

    @staticmethod
    def status_partition(status: ContestStatus) -> str:
        return f"CONTESTS#{status.value}"

    @staticmethod
    def status_sort(starts_at: str, contest_id: str) -> str:
        return f"{starts_at}#{contest_id}"

    @staticmethod
    def created_sort(created_at: str, contest_id: str) -> str:
        return f"{created_at}#{contest_id}"


class SlugMarker(BaseItem):
    """PK SLUG#<slug>, SK SLUG: makes a slug unique; written in the create transaction, never changed."""

    contest_id = UnicodeAttribute()

    @staticmethod
    def key(slug: str) -> tuple[str, str]:
        return f"SLUG#{slug}", "SLUG"

    @classmethod
    def new(cls, slug: str, contest_id: str) -> SlugMarker:
        pk, sk = cls.key(slug)
        return cls(pk, sk, contest_id=contest_id)


class CreateMarker(BaseItem):
    """PK CONTESTCREATE#<adminId>#<key digest>, SK CONTESTCREATE: the contest that an admin's create under one
    Idempotency-Key made, so a retry whose answer was lost finds it instead of creating another (domain/idempotency.py).
    Written in the create transaction; it expires with the key (expiresAt, also checked on read and on write)."""

    contest_id = UnicodeAttribute()
    request_hash = UnicodeAttribute(attr_name="requestHash")

    @staticmethod
    def key(actor_id: str, key_digest: str) -> tuple[str, str]:
        return f"CONTESTCREATE#{actor_id}#{key_digest}", "CONTESTCREATE"

    @classmethod
    def new(cls, actor_id: str, key_digest: str, *, contest_id: str, request_hash: str,
            expires_at: int) -> CreateMarker:
        pk, sk = cls.key(actor_id, key_digest)
        return cls(pk, sk, contest_id=contest_id, request_hash=request_hash, expiresAt=expires_at)


# ---------------------------------------------------------------------------------------------------- mapping
def _rules_map(rules: ContestRules) -> RulesMap:
    return RulesMap(
        allowed_symbols=list(rules.allowed_symbols) if rules.allowed_symbols is not None else None,
        max_position_pct=rules.max_position_pct, min_price=rules.min_price,
        max_trades_per_day=rules.max_trades_per_day, allow_late_entry=rules.allow_late_entry,
        commission_per_trade=rules.commission_per_trade, allow_fractional=rules.allow_fractional,
        allow_short_selling=rules.allow_short_selling,
    )


def _rules(stored: RulesMap) -> ContestRules:
    symbols = stored.allowed_symbols
    return ContestRules(
        allowed_symbols=tuple(str(symbol) for symbol in symbols) if symbols is not None else None,
        max_position_pct=stored.max_position_pct, min_price=stored.min_price,
        max_trades_per_day=int(stored.max_trades_per_day) if stored.max_trades_per_day is not None else None,
        allow_late_entry=bool(stored.allow_late_entry),
        commission_per_trade=stored.commission_per_trade or Decimal("0.00"),
        allow_fractional=bool(stored.allow_fractional), allow_short_selling=bool(stored.allow_short_selling),
    )


def _time(raw: str) -> datetime:
    parsed = parse_iso_utc(raw)
    if parsed is None:
        raise ValueError(f"stored timestamp {raw!r} is not ISO 8601 UTC")
    return parsed


def contest_from_item(item: ContestItem) -> Contest:
    fee = item.entry_fee
    failure = item.lifecycle_failure
    definition = ContestDefinition(
        name=item.name, description=item.description or "", starts_at=_time(item.starts_at),
        ends_at=_time(item.ends_at), starting_cash=item.starting_cash, visibility=Visibility(item.visibility),
        max_entries=int(item.max_entries) if item.max_entries is not None else None,
        entry_fee=EntryFee(amount=fee.amount, currency=fee.currency) if fee is not None else None,
        rules=_rules(item.rules),
    )
    return Contest(
        contest_id=item.contest_id, slug=item.slug, status=ContestStatus(item.status), definition=definition,
        created_at=_time(item.created_at), updated_at=_time(item.updated_at), created_by=item.created_by,
        entry_count=int(item.entry_count or 0), invite_code=item.invite_code,
        schedule_version=int(item.schedule_version), execution_arn=item.execution_arn,
        revision=int(item.revision or 0),
        lifecycle_failure=LifecycleFailure(at=failure.at, step=failure.step, error=failure.error,
                                           cause=failure.cause) if failure is not None else None,
    )


def contest_to_item(contest: Contest) -> ContestItem:
    definition = contest.definition
    pk, sk = ContestItem.key(contest.contest_id)
    created = iso_ms(contest.created_at)
    starts = iso(definition.starts_at)
    fee = definition.entry_fee
    return ContestItem(
        pk, sk,
        GSI1PK=ALL_CONTESTS, GSI1SK=ContestItem.created_sort(created, contest.contest_id),
        GSI2PK=ContestItem.status_partition(contest.status),
        GSI2SK=ContestItem.status_sort(starts, contest.contest_id),
        contest_id=contest.contest_id, slug=contest.slug, name=definition.name, description=definition.description,
        status=contest.status.value, visibility=definition.visibility.value, starts_at=starts,
        ends_at=iso(definition.ends_at), starting_cash=definition.starting_cash,
        entry_fee=EntryFeeMap(amount=fee.amount, currency=fee.currency) if fee is not None else None,
        max_entries=definition.max_entries, entry_count=contest.entry_count, rules=_rules_map(definition.rules),
        invite_code=contest.invite_code, created_at=created, updated_at=iso_ms(contest.updated_at),
        created_by=contest.created_by, schedule_version=contest.schedule_version,
        execution_arn=contest.execution_arn, revision=contest.revision,
    )


# ---------------------------------------------------------------------------------------------------- reads
def get(contest_id: str, *, consistent: bool = False) -> Contest | None:
    bind_table()
    pk, sk = ContestItem.key(contest_id)
    try:
        item = ContestItem.get(pk, sk, consistent_read=consistent)
    except ContestItem.DoesNotExist:
        return None
    return contest_from_item(item)


def get_by_slug(slug: str) -> Contest | None:
    """Two reads: the slug marker, then the contest (C2)."""
    bind_table()
    pk, sk = SlugMarker.key(slug)
    try:
        marker = SlugMarker.get(pk, sk)
    except SlugMarker.DoesNotExist:
        return None
    return get(marker.contest_id)


@dataclass(frozen=True)
class ContestPage:
    contests: list[Contest]
    position: dict[str, Any] | None  # the ExclusiveStartKey of the next page, None on the last page


def _page(results: Iterable[ContestItem], limit: int, key_names: tuple[str, ...]) -> ContestPage:
    items: list[ContestItem] = []
    for item in results:
        items.append(item)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    position = None
    if more and items:
        last = items[-1]
        position = {name: {"S": str(getattr(last, name))} for name in key_names}
    return ContestPage([contest_from_item(item) for item in items], position)


def list_all(limit: int, position: dict[str, Any] | None, *, public_listed_only: bool) -> ContestPage:
    """Every contest newest first (C3); `public_listed_only` keeps what anonymous callers and players may list."""
    bind_table()
    condition = None
    if public_listed_only:
        condition = (ContestItem.visibility == Visibility.PUBLIC.value) & ContestItem.status.is_in(
            ContestStatus.SCHEDULED.value, ContestStatus.ACTIVE.value, ContestStatus.ENDED.value)
    results = ContestItem.gsi1.query(
        ALL_CONTESTS, scan_index_forward=False, filter_condition=condition, limit=limit + 1,
        last_evaluated_key=position, page_size=max(limit + 1, 25),
    )
    return _page(cast(Iterable[ContestItem], results), limit, ("PK", "SK", "GSI1PK", "GSI1SK"))


def list_by_status(status: ContestStatus, limit: int, position: dict[str, Any] | None, *, public_only: bool,
                   ascending: bool) -> ContestPage:
    """Contests in one status by start time (C4)."""
    bind_table()
    condition = (ContestItem.visibility == Visibility.PUBLIC.value) if public_only else None
    results = ContestItem.gsi2.query(
        ContestItem.status_partition(status), scan_index_forward=ascending, filter_condition=condition,
        limit=limit + 1, last_evaluated_key=position, page_size=max(limit + 1, 25),
    )
    return _page(cast(Iterable[ContestItem], results), limit, ("PK", "SK", "GSI2PK", "GSI2SK"))


def ids_in_status(status: ContestStatus) -> list[Contest]:
    """Every contest in `status` (lifecycle re-arm after a local restart; admin-sized lists)."""
    bind_table()
    results = ContestItem.gsi2.query(ContestItem.status_partition(status))
    return [contest_from_item(cast(ContestItem, item)) for item in results]


# ---------------------------------------------------------------------------------------------------- writes
class SlugTaken(Exception):
    """The slug marker already exists: try the next candidate."""


class StaleContest(Exception):
    """The contest changed since it was read (its condition failed): read again and decide."""


class AlreadyCreated(Exception):
    """The create marker exists: an earlier create under the same Idempotency-Key made `contest_id`."""

    def __init__(self, contest_id: str, request_hash: str) -> None:
        super().__init__(contest_id)
        self.contest_id, self.request_hash = contest_id, request_hash


def created_under(actor_id: str, key_digest: str, now_epoch: int) -> AlreadyCreated | None:
    """What an earlier create under this key made (its live marker, read consistently), or None."""
    bind_table()
    pk, sk = CreateMarker.key(actor_id, key_digest)
    try:
        marker = CreateMarker.get(pk, sk, consistent_read=True)
    except CreateMarker.DoesNotExist:
        return None
    if marker.expiresAt is not None and marker.expiresAt <= now_epoch:
        return None
    return AlreadyCreated(marker.contest_id, marker.request_hash)


def _is_conflict(error: TransactWriteError) -> bool:
    reasons = error.cancellation_reasons or []
    return any(reason is not None and reason.code == "TransactionConflict" for reason in reasons)


def _backoff(attempt: int) -> None:
    plumbing.backoff(attempt, base=0.01, cap=0.5)


def insert(contest: Contest, audit: AuditItem | None, marker: CreateMarker | None = None, *,
           now_epoch: int | None = None) -> None:
    """One transaction: the slug marker, the contest, its audit event and (a keyed create) its create marker.
    SlugTaken when the slug is used; AlreadyCreated when the create marker is there and live (checked first: the
    earlier create took this slug too)."""
    bind_table()
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            with transaction() as tx:
                tx.save(SlugMarker.new(contest.slug, contest.contest_id), condition=SlugMarker.PK.does_not_exist(),
                        return_values="ALL_OLD")
                tx.save(contest_to_item(contest), condition=ContestItem.PK.does_not_exist())
                if audit is not None:
                    tx.save(audit, condition=AuditItem.PK.does_not_exist())
                if marker is not None:
                    expired = CreateMarker.expiresAt <= (now_epoch if now_epoch is not None else 0)
                    tx.save(marker, condition=CreateMarker.PK.does_not_exist() | expired, return_values="ALL_OLD")
            return
        except TransactWriteError as error:
            failed = failed_items(error)
            for item in failed:
                if item["PK"]["S"].startswith("CONTESTCREATE#"):
                    raise AlreadyCreated(item["contest_id"]["S"], item["requestHash"]["S"]) from error
            if any(item["PK"]["S"].startswith("SLUG#") for item in failed):
                raise SlugTaken(contest.slug) from error
            if not _is_conflict(error):
                raise
            _backoff(attempt)
    raise ServiceUnavailable("The contest could not be saved; try again.")


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.remove() if value is None else attribute.set(value)


def _definition_actions(contest: Contest) -> list[Any]:
    item = contest_to_item(contest)
    return [
        ContestItem.name.set(item.name),
        ContestItem.description.set(item.description),
        ContestItem.visibility.set(item.visibility),
        ContestItem.starts_at.set(item.starts_at),
        ContestItem.ends_at.set(item.ends_at),
        ContestItem.starting_cash.set(item.starting_cash),
        _set_or_remove(ContestItem.entry_fee, item.entry_fee),
        _set_or_remove(ContestItem.max_entries, item.max_entries),
        ContestItem.rules.set(item.rules),
        _set_or_remove(ContestItem.invite_code, item.invite_code),
        ContestItem.status.set(item.status),
        ContestItem.GSI2PK.set(item.GSI2PK),
        ContestItem.GSI2SK.set(item.GSI2SK),
        ContestItem.updated_at.set(item.updated_at),
        ContestItem.schedule_version.set(item.schedule_version),
        _set_or_remove(ContestItem.execution_arn, item.execution_arn),
        ContestItem.revision.set(item.revision),
    ]


def replace_state(before: Contest, after: Contest, audit: AuditItem | None) -> None:
    """Write `after`'s definition, status and versions (never `entry_count`, which joins own) if the stored contest is
    still at `before`'s revision, together with its audit event. StaleContest otherwise."""
    bind_table()
    pk, sk = ContestItem.key(before.contest_id)
    condition = (ContestItem.revision == before.revision) & (ContestItem.status == before.status.value)
    try:
        with transaction() as tx:
            tx.update(ContestItem(pk, sk), actions=_definition_actions(after), condition=condition)
            if audit is not None:
                tx.save(audit, condition=AuditItem.PK.does_not_exist())
    except TransactWriteError as error:
        raise StaleContest(before.contest_id) from error


def lifecycle_transition(contest_id: str, schedule_version: int, source: ContestStatus, target: ContestStatus,
                         at: datetime) -> bool:
    """The workflow's conditional flip: only from `source` and only for the same schedule. False when it did not
    apply (cancelled, rescheduled, already done); the caller reads the contest to tell which."""
    bind_table()
    pk, sk = ContestItem.key(contest_id)
    condition = (ContestItem.status == source.value) & (ContestItem.schedule_version == schedule_version)
    try:
        ContestItem(pk, sk).update(
            actions=[
                ContestItem.status.set(target.value),
                ContestItem.GSI2PK.set(ContestItem.status_partition(target)),
                ContestItem.updated_at.set(iso_ms(at)),
                ContestItem.revision.add(1),
            ],
            condition=condition,
        )
    except UpdateError as error:
        if _update_condition_failed(error):
            return False
        raise
    return True


def record_failure(contest_id: str, failure: LifecycleFailure) -> None:
    bind_table()
    pk, sk = ContestItem.key(contest_id)
    try:
        ContestItem(pk, sk).update(
            actions=[ContestItem.lifecycle_failure.set(FailureMap(at=failure.at, step=failure.step,
                                                                  error=failure.error, cause=failure.cause))],
            condition=ContestItem.PK.exists(),
        )
    except UpdateError as error:
        if not _update_condition_failed(error):
            raise


def _update_condition_failed(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


# ---------------------------------------------------------------------------------------------------- joining
JoinOutcome = Literal["joined", "duplicate", "full", "not_joinable", "missing"]


@dataclass(frozen=True)
class JoinResult:
    outcome: JoinOutcome
    existing_entry: dict[str, Any] | None = None  # the stored entry when `duplicate` (deserialized)


def _join_condition() -> tuple[str, dict[str, str], dict[str, Any]]:
    expression = (
        "attribute_exists(PK) AND "
        "(#status = :scheduled OR (#status = :active AND #rules.#late = :true)) AND "
        "(attribute_not_exists(#max) OR #count < #max)"
    )
    names = {"#status": "status", "#rules": "rules", "#late": "allow_late_entry", "#max": "max_entries",
             "#count": "entry_count"}
    values = {":scheduled": {"S": ContestStatus.SCHEDULED.value}, ":active": {"S": ContestStatus.ACTIVE.value},
              ":true": {"BOOL": True}}
    return expression, names, values


def join_transaction(contest_id: str, entry_item: dict[str, Any], marker_item: dict[str, Any],
                     sleep: Callable[[int], None] = _backoff,
                     extra_items: tuple[dict[str, Any], ...] = ()) -> JoinResult:
    """E5: put the entry (new), count it on the contest (joinable and not full), put the entry-id marker, as ONE
    transaction. Which condition failed is read from each failed item's key, never from its position."""
    table = settings().table_name
    condition, names, values = _join_condition()
    pk, sk = ContestItem.key(contest_id)
    values = {**values, ":one": {"N": "1"}}
    items = [
        {"Put": {"TableName": table, "Item": plumbing.to_attribute_map(entry_item),
                 "ConditionExpression": "attribute_not_exists(PK)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Update": {"TableName": table, "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
                    "UpdateExpression": "ADD #count :one", "ConditionExpression": condition,
                    "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Put": {"TableName": table, "Item": plumbing.to_attribute_map(marker_item),
                 "ConditionExpression": "attribute_not_exists(PK)"}},
    ]
    # A paid join also puts its seat hold (adapters/dynamodb/payments.py), new keys that cannot collide.
    items += [{"Put": {"TableName": table, "Item": plumbing.to_attribute_map(extra),
                       "ConditionExpression": "attribute_not_exists(PK)"}} for extra in extra_items]
    sent_keys = [entry_item["PK"], pk, marker_item["PK"], *(extra["PK"] for extra in extra_items)]
    client = plumbing.client()
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items)
            return JoinResult("joined")
        except client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons") or []
            result = _join_failure(reasons, sent_keys)
            if result is not None:
                return result
            sleep(attempt)  # only TransactionConflict (a concurrent join) is left: try again
    raise ServiceUnavailable("Too many people are joining this contest right now; try again.")


def _join_failure(reasons: list[dict[str, Any]], sent_keys: list[str]) -> JoinResult | None:
    failed: dict[str, dict[str, Any]] = {}
    for index, reason in enumerate(reasons):
        if reason.get("Code") != "ConditionalCheckFailed":
            continue
        item = reason.get("Item") or {}
        key = item.get("PK", {}).get("S") or (sent_keys[index] if index < len(sent_keys) else "")
        failed[key.split("#", 1)[0]] = item
    if "ENTRY" in failed:
        stored = failed["ENTRY"]
        return JoinResult("duplicate", plumbing.from_attribute_map(stored) if stored else None)
    if "CONTEST" in failed:
        stored = plumbing.from_attribute_map(failed["CONTEST"]) if failed["CONTEST"] else {}
        if not stored:
            return JoinResult("missing")
        status = stored.get("status")
        late = bool((stored.get("rules") or {}).get("allow_late_entry", True))
        joinable = status == ContestStatus.SCHEDULED.value or (status == ContestStatus.ACTIVE.value and late)
        return JoinResult("full" if joinable else "not_joinable")
    if "ENTRYID" in failed:
        return None  # an entry-id collision (a ULID repeat) is retried like a conflict
    codes = {reason.get("Code") for reason in reasons}
    if codes <= {"None", "TransactionConflict", None}:
        return None
    raise ServiceUnavailable(f"The join could not be completed ({', '.join(sorted(str(c) for c in codes))}).")


batch_get = plumbing.batch_get_raw  # consistent reads of several items: raw attribute maps by "PK|SK"
raw_key = plumbing.item_name  # the `batch_get` result key of an item key


def contest_from_raw(raw: dict[str, Any]) -> Contest:
    """A Contest from a raw attribute map (from `batch_get`)."""
    return contest_from_item(ContestItem.from_raw_data(raw))
