"""Audit trail: every admin action and every sensitive user action, append-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickerleague.clock import iso, utcnow
from tickerleague.ids import new_ulid


@dataclass(frozen=True)
class RequestOrigin:
    request_id: str | None = None
    source_ip: str | None = None


def record(*, actor_id: str, action: str, target_type: str, target_id: str, origin: RequestOrigin,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> str:
    """Write one audit event; returns its id. Callers pass no secrets (no passwords, tokens or hashes)."""
    from tickerleague.adapters.dynamodb.audit import AuditItem, append

    audit_id = new_ulid()
    append(AuditItem.new(audit_id=audit_id, at=iso(utcnow()), actor_id=actor_id, action=action,
                         target_type=target_type, target_id=target_id, before=before, after=after,
                         request_id=origin.request_id, source_ip=origin.source_ip))
    return audit_id
