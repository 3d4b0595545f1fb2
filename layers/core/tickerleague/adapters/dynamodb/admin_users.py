"""Users as operators see them: prefix search, the newest-first list, suspension and reinstatement.

Keys are UserItem's (adapters/dynamodb/users.py). A status change is ONE transaction: the user item (status, reason
and the sessions' revocation marker) under a condition on its current status, plus the audit event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action

from tickerleague.adapters.dynamodb.audit import AuditItem
from tickerleague.adapters.dynamodb.base import bind_table, transaction
from tickerleague.adapters.dynamodb.users import ALL_USERS, UserItem

# A prefix query reads at most this many matches per index (a few DynamoDB pages); a broader prefix is asked to
# be narrowed by the ordering it gets (see `search`).
SEARCH_MATCH_CAP = 1000


@dataclass(frozen=True)
class UserPage:
    users: list[UserItem]
    position: dict[str, Any] | None


def newest(status: str | None, limit: int, position: dict[str, Any] | None) -> UserPage:
    """Every user newest first (GSI2 USERS), one query per page; a status filter is a FilterExpression."""
    bind_table()
    condition = (UserItem.status == status) if status else None
    results = UserItem.gsi2.query(ALL_USERS, scan_index_forward=False, filter_condition=condition, limit=limit,
                                  last_evaluated_key=position, page_size=limit)
    page: dict[str, Any] = next(results.page_iter, {})  # one DynamoDB page, even when the filter dropped items
    users = [cast(UserItem, UserItem.from_raw_data(raw)) for raw in page.get("Items", [])]
    return UserPage(users, results.page_iter.last_evaluated_key)


def matching(email_prefix: str, name_prefix: str) -> list[UserItem]:
    """Users whose email starts with `email_prefix` (lower-cased, as emails are stored) or whose casefolded display
    name starts with `name_prefix`: one query on each prefix index (GSI1 email, GSI4 name), deduplicated. Order is
    the caller's business."""
    bind_table()
    found: dict[str, UserItem] = {}
    sources: list[Iterable[Any]] = [
        UserItem.gsi1.query(UserItem.email_partition(email_prefix), UserItem.GSI1SK.startswith(email_prefix),
                            limit=SEARCH_MATCH_CAP, page_size=200),
        UserItem.gsi4.query(UserItem.name_partition(name_prefix), UserItem.GSI4SK.startswith(name_prefix),
                            limit=SEARCH_MATCH_CAP, page_size=200),
    ]
    for results in sources:
        for item in results:
            user = cast(UserItem, item)
            found[user.user_id] = user
    return list(found.values())


class StatusChanged(Exception):
    """The user was not in the expected status any more (a concurrent suspension or reinstatement)."""


def change_status(user: UserItem, *, expected: str, status: str, reason: str | None, updated_at: str,
                  audit: AuditItem, revoke_before: tuple[int, int] | None) -> None:
    """One transaction: the user's new status (if still `expected`) and its audit event. `revoke_before`
    (epoch seconds, epoch ms) moves the sessions' revocation marker: every session started before it is dead."""
    actions: list[Action] = [UserItem.status.set(status), UserItem.updated_at.set(updated_at)]
    actions.append(UserItem.status_reason.set(reason) if reason is not None else UserItem.status_reason.remove())
    if revoke_before is not None:
        actions += [UserItem.sessions_valid_after.set(revoke_before[0]),
                    UserItem.sessions_valid_after_ms.set(revoke_before[1])]
    try:
        with transaction() as tx:
            tx.update(UserItem(*UserItem.key(user.user_id)), actions=actions,
                      condition=UserItem.PK.exists() & (UserItem.status == expected))
            tx.save(audit, condition=AuditItem.PK.does_not_exist())
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise StatusChanged() from error
        raise
