"""Audit trail: every admin action and every sensitive user action, append-only.

Action names are the contract's (ACTIONS below). An event that records a change is built with `event(...)` and
written in the change's own transaction; `record(...)` writes one on its own, for events with no change to go with
(a failed sign-in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tickerleague.clock import iso, utcnow
from tickerleague.ids import new_ulid

if TYPE_CHECKING:
    from tickerleague.adapters.dynamodb.audit import AuditItem, AuditPage

USER_SUSPENDED = "user.suspended"
USER_REINSTATED = "user.reinstated"
ENTRY_REFUNDED = "entry.refunded"
CONTEST_CREATED = "contest.created"
CONTEST_UPDATED = "contest.updated"
CONTEST_PUBLISHED = "contest.published"
CONTEST_CANCELLED = "contest.cancelled"
LOGIN_FAILED = "auth.login_failed"
REFRESH_REUSED = "auth.refresh_reused"
PASSWORD_CHANGED = "auth.password_changed"
PASSWORD_RESET = "auth.password_reset"
ACTIONS = (USER_SUSPENDED, USER_REINSTATED, ENTRY_REFUNDED, CONTEST_CREATED, CONTEST_UPDATED, CONTEST_PUBLISHED,
           CONTEST_CANCELLED, LOGIN_FAILED, REFRESH_REUSED, PASSWORD_CHANGED, PASSWORD_RESET)


@dataclass(frozen=True)
class RequestOrigin:
    request_id: str | None = None
    source_ip: str | None = None


def event(*, actor_id: str, action: str, target_type: str, target_id: str, origin: RequestOrigin,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None, reason: str | None = None,
          now: datetime | None = None) -> AuditItem:
    """An audit item to put in the transaction of the change it records. Callers pass no secrets (no passwords,
    tokens, hashes or client secrets) in `before`/`after`."""
    from tickerleague.adapters.dynamodb.audit import AuditItem

    return AuditItem.new(audit_id=new_ulid(), at=iso(now or utcnow()), actor_id=actor_id, action=action,
                         target_type=target_type, target_id=target_id, before=before, after=after,
                         request_id=origin.request_id, source_ip=origin.source_ip, reason=reason)


def record(*, actor_id: str, action: str, target_type: str, target_id: str, origin: RequestOrigin,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           reason: str | None = None) -> str:
    """Write one audit event on its own; returns its id."""
    from tickerleague.adapters.dynamodb.audit import append

    item = event(actor_id=actor_id, action=action, target_type=target_type, target_id=target_id, origin=origin,
                 before=before, after=after, reason=reason)
    append(item)
    return str(item.audit_id)


def list_events(*, actor_id: str | None, target_id: str | None, action: str | None, limit: int,
                position: dict[str, Any] | None) -> AuditPage:
    """Newest first; one query per page (adapters/dynamodb/audit.py picks the index)."""
    from tickerleague.adapters.dynamodb import audit as audit_table

    return audit_table.query(actor_id=actor_id, target_id=target_id, action=action, limit=limit, position=position)
