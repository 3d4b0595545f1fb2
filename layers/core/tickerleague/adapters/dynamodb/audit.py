"""Append-only audit events.

PK AUDIT#ACTOR#<actorId>, SK <auditId>         - by actor, newest first
GSI1 AUDIT#TARGET#<targetId> / <auditId>       - by target, newest first
GSI2 AUDIT#ALL / <auditId>                     - everything, newest first
GSI4 AUDIT#ACTION#<action> / <auditId>         - by action, newest first
No route updates or deletes these items; the writer uses attribute_not_exists so an id is never overwritten, and
the IAM policy AuditAppendOnlyPolicy in template.yaml denies UpdateItem/DeleteItem on AUDIT# keys to every function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from pynamodb.attributes import UnicodeAttribute

from tickerleague.adapters.dynamodb.base import BaseItem, bind_table

ALL_EVENTS = "AUDIT#ALL"


class AuditItem(BaseItem):
    audit_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    before = UnicodeAttribute(null=True)  # JSON
    after = UnicodeAttribute(null=True)  # JSON
    reason = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    source_ip = UnicodeAttribute(null=True)

    @staticmethod
    def key(actor_id: str, audit_id: str) -> tuple[str, str]:
        return f"AUDIT#ACTOR#{actor_id}", audit_id

    @staticmethod
    def actor_partition(actor_id: str) -> str:
        return f"AUDIT#ACTOR#{actor_id}"

    @staticmethod
    def target_partition(target_id: str) -> str:
        return f"AUDIT#TARGET#{target_id}"

    @staticmethod
    def action_partition(action: str) -> str:
        return f"AUDIT#ACTION#{action}"

    @classmethod
    def new(cls, *, audit_id: str, at: str, actor_id: str, action: str, target_type: str, target_id: str,
            before: dict[str, Any] | None, after: dict[str, Any] | None, request_id: str | None,
            source_ip: str | None, reason: str | None = None) -> AuditItem:
        pk, sk = cls.key(actor_id, audit_id)
        return cls(
            pk, sk, GSI1PK=cls.target_partition(target_id), GSI1SK=audit_id, GSI2PK=ALL_EVENTS, GSI2SK=audit_id,
            GSI4PK=cls.action_partition(action), GSI4SK=audit_id,
            audit_id=audit_id, at=at, actor_id=actor_id, action=action, target_type=target_type,
            target_id=target_id, before=None if before is None else json.dumps(before, default=str),
            after=None if after is None else json.dumps(after, default=str), reason=reason, request_id=request_id,
            source_ip=source_ip,
        )


def append(item: AuditItem) -> None:
    bind_table()
    item.save(condition=AuditItem.PK.does_not_exist())


# ---------------------------------------------------------------------------------------------------- reads
@dataclass(frozen=True)
class AuditEvent:
    id: str
    at: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None
    source_ip: str | None


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    position: dict[str, Any] | None  # ExclusiveStartKey of the next page


def _json(raw: str | None) -> dict[str, Any] | None:
    return None if raw is None else cast(dict[str, Any], json.loads(raw))


def event_of(item: AuditItem) -> AuditEvent:
    return AuditEvent(id=item.audit_id, at=item.at, actor_id=item.actor_id, action=item.action,
                      target_type=item.target_type, target_id=item.target_id, before=_json(item.before),
                      after=_json(item.after), reason=item.reason, request_id=item.request_id,
                      source_ip=item.source_ip)


def query(*, actor_id: str | None, target_id: str | None, action: str | None, limit: int,
          position: dict[str, Any] | None) -> AuditPage:
    """Newest first, ONE query per page: the most selective filter picks the index (target, then actor, then
    action, else everything); any other filter given is a FilterExpression on that query, so such a page may hold
    fewer than `limit` events while `position` still says there are more."""
    bind_table()
    filters = []
    if target_id is not None:
        source: Any = AuditItem.gsi1
        partition = AuditItem.target_partition(target_id)
    elif actor_id is not None:
        source, partition = AuditItem, AuditItem.actor_partition(actor_id)
    elif action is not None:
        source, partition = AuditItem.gsi4, AuditItem.action_partition(action)
    else:
        source, partition = AuditItem.gsi2, ALL_EVENTS
    if actor_id is not None and source is not AuditItem:
        filters.append(AuditItem.actor_id == actor_id)
    if action is not None and source is not AuditItem.gsi4:
        filters.append(AuditItem.action == action)
    condition = None
    for one in filters:
        condition = one if condition is None else condition & one
    results = source.query(partition, scan_index_forward=False, filter_condition=condition, limit=limit,
                           last_evaluated_key=position, page_size=limit)
    # Only DynamoDB's first page: PynamoDB would fetch more pages to fill `limit` when a filter dropped items.
    page: dict[str, Any] = next(results.page_iter, {})
    items = [cast(AuditItem, AuditItem.from_raw_data(raw)) for raw in page.get("Items", [])]
    return AuditPage([event_of(item) for item in items], results.page_iter.last_evaluated_key)
