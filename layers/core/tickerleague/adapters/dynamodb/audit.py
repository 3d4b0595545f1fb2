"""Append-only audit events.

PK AUDIT#ACTOR#<actorId>, SK <auditId>         - by actor, newest first
GSI1 AUDIT#TARGET#<targetId> / <auditId>       - by target, newest first
GSI2 AUDIT#ALL / <auditId>                     - everything, newest first
No route updates or deletes these items; the writer uses attribute_not_exists so an id is never overwritten.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import UnicodeAttribute

from tickerleague.adapters.dynamodb.base import BaseItem, bind_table


class AuditItem(BaseItem):
    audit_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    before = UnicodeAttribute(null=True)  # JSON
    after = UnicodeAttribute(null=True)  # JSON
    request_id = UnicodeAttribute(null=True)
    source_ip = UnicodeAttribute(null=True)

    @staticmethod
    def key(actor_id: str, audit_id: str) -> tuple[str, str]:
        return f"AUDIT#ACTOR#{actor_id}", audit_id

    @classmethod
    def new(cls, *, audit_id: str, at: str, actor_id: str, action: str, target_type: str, target_id: str,
            before: dict[str, Any] | None, after: dict[str, Any] | None, request_id: str | None,
            source_ip: str | None) -> AuditItem:
        pk, sk = cls.key(actor_id, audit_id)
        return cls(
            pk, sk, GSI1PK=f"AUDIT#TARGET#{target_id}", GSI1SK=audit_id, GSI2PK="AUDIT#ALL", GSI2SK=audit_id,
            audit_id=audit_id, at=at, actor_id=actor_id, action=action, target_type=target_type,
            target_id=target_id, before=None if before is None else json.dumps(before, default=str),
            after=None if after is None else json.dumps(after, default=str), request_id=request_id,
            source_ip=source_ip,
        )


def append(item: AuditItem) -> None:
    bind_table()
    item.save(condition=AuditItem.PK.does_not_exist())
