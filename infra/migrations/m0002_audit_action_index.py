"""Audit events written before the admin tools (issue 11, commit 4c3aeb7) lack the by-action index key.

`AuditItem.new` sets GSI4 AUDIT#ACTION#<action> / <auditId> on every event since; `GET /v1/admin/audit?action=`
queries it, so an older event is missing from that list (it is still listed by actor, target and in everything).
Audit items are append-only for the functions (the AuditAppendOnlyPolicy denies them UpdateItem on AUDIT# keys);
this backfill runs with the operator's credentials and only ADDS the index key, under a condition that the event's
action is still the one read and the key still missing.
"""

from __future__ import annotations

from tickerleague.adapters.dynamodb.audit import AuditItem

from infra.migrations.base import Item, Migration, ScanFilter, Update


def transform(item: Item) -> Update | None:
    if not str(item.get("PK", "")).startswith("AUDIT#ACTOR#") or "GSI4PK" in item:
        return None
    action, audit_id = item.get("action"), item.get("audit_id")
    if not (isinstance(action, str) and action and isinstance(audit_id, str) and audit_id):
        return None
    return Update(
        set={"GSI4PK": AuditItem.action_partition(action), "GSI4SK": audit_id},
        expect={"action": action, "audit_id": audit_id},
        expect_absent=("GSI4PK",),
    )


MIGRATION = Migration(
    id="0002",
    description="audit events: the by-action index key (GSI4 AUDIT#ACTION#<action> / <auditId>)",
    filter=ScanFilter(
        "begins_with(#pk, :actor) AND attribute_not_exists(GSI4PK)",
        names={"#pk": "PK"},
        values={":actor": "AUDIT#ACTOR#"},
    ),
    transform=transform,
)
