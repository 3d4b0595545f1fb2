"""Account self-service writes: profile, password change, password-reset tokens.

  reset token   PK PWRESET#<sha256(token)>  SK PWRESET  -> userId, resetId, used; TTL expiresAt
Only the token's SHA-256 is stored (the token itself is 256 random bits, so a hash without salt is enough: it
cannot be guessed, only stolen, and the table never holds what would have to be stolen).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError

from tickerleague.adapters.dynamodb.audit import AuditItem
from tickerleague.adapters.dynamodb.base import BaseItem, bind_table, transaction
from tickerleague.adapters.dynamodb.users import SessionItem, UserItem

# DynamoDB takes 100 items per transaction; the password change's own items (user, audit) leave room for 98
# session revocations in it, the rest follow in further transactions.
SESSIONS_PER_TRANSACTION = 98


class ResetTokenItem(BaseItem):
    user_id = UnicodeAttribute()
    reset_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at_epoch = NumberAttribute()
    used = BooleanAttribute(default=False)

    @staticmethod
    def key(token_hash: str) -> tuple[str, str]:
        return f"PWRESET#{token_hash}", "PWRESET"

    @classmethod
    def new(cls, token_hash: str, *, user_id: str, reset_id: str, created_at: str, expires_at: int) -> ResetTokenItem:
        pk, sk = cls.key(token_hash)
        # The TTL outlives the validity by a day, so an expired token still reads as expired rather than unknown.
        return cls(pk, sk, user_id=user_id, reset_id=reset_id, created_at=created_at, expires_at_epoch=expires_at,
                   used=False, expiresAt=expires_at + 86_400)


class Refused(Exception):
    """A condition of the transaction failed (token used or expired, password changed meanwhile)."""


def update_profile(user_id: str, *, display_name: str | None, contest_reminders: bool | None,
                   updated_at: str) -> UserItem:
    bind_table()
    user = UserItem(*UserItem.key(user_id))
    actions: list[Any] = [UserItem.updated_at.set(updated_at)]
    if display_name is not None:
        actions += [UserItem.display_name.set(display_name),
                    UserItem.GSI4PK.set(UserItem.name_partition(display_name.casefold())),
                    UserItem.GSI4SK.set(UserItem.name_sort_key(display_name, user_id))]
    if contest_reminders is not None:
        actions.append(UserItem.contest_reminders.set(contest_reminders))
    user.update(actions=actions, condition=UserItem.PK.exists())
    return user


def live_sessions(user_id: str) -> list[SessionItem]:
    bind_table()
    results = SessionItem.query(UserItem.key(user_id)[0], SessionItem.SK.startswith(SessionItem.prefix()),
                                filter_condition=SessionItem.revoked == False, consistent_read=True)  # noqa: E712
    return list(results)


def change_password(user_id: str, *, expected_hash: str, new_hash: str, updated_at: str, audit: AuditItem,
                    revoke: Sequence[str]) -> None:
    """The new hash (if the old one is still current), its audit event and the first sessions' revocation in one
    transaction; any further sessions in more transactions (each revocation is idempotent)."""
    first, rest = list(revoke[:SESSIONS_PER_TRANSACTION]), list(revoke[SESSIONS_PER_TRANSACTION:])
    try:
        with transaction() as tx:
            tx.update(UserItem(*UserItem.key(user_id)),
                      actions=[UserItem.password_hash.set(new_hash), UserItem.updated_at.set(updated_at)],
                      condition=UserItem.password_hash == expected_hash)
            tx.save(audit, condition=AuditItem.PK.does_not_exist())
            for session_id in first:
                _revoke(tx, user_id, session_id, "password changed")
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise Refused() from error
        raise
    for start in range(0, len(rest), 100):
        with transaction() as tx:
            for session_id in rest[start:start + 100]:
                _revoke(tx, user_id, session_id, "password changed")


def _revoke(tx: Any, user_id: str, session_id: str, reason: str) -> None:
    tx.update(SessionItem(*SessionItem.key(user_id, session_id)),
              actions=[SessionItem.revoked.set(True), SessionItem.revoked_reason.set(reason)])


def put_reset_token(item: ResetTokenItem) -> None:
    bind_table()
    item.save(condition=ResetTokenItem.PK.does_not_exist())


def get_reset_token(token_hash: str) -> ResetTokenItem | None:
    bind_table()
    try:
        return ResetTokenItem.get(*ResetTokenItem.key(token_hash), consistent_read=True)
    except ResetTokenItem.DoesNotExist:
        return None


def consume_reset_token(token_hash: str, *, user_id: str, now_epoch: int, new_hash: str, updated_at: str,
                        revoke_before: tuple[int, int], audit: AuditItem) -> None:
    """One transaction: the token marked used (only if unused and unexpired), the new password with every session
    revoked (the marker), and the audit event. Refused when another confirmation used the token first."""
    try:
        with transaction() as tx:
            tx.update(ResetTokenItem(*ResetTokenItem.key(token_hash)), actions=[ResetTokenItem.used.set(True)],
                      condition=(ResetTokenItem.used == False) & (ResetTokenItem.expires_at_epoch > now_epoch))  # noqa: E712
            tx.update(UserItem(*UserItem.key(user_id)),
                      actions=[UserItem.password_hash.set(new_hash), UserItem.updated_at.set(updated_at),
                               UserItem.sessions_valid_after.set(revoke_before[0]),
                               UserItem.sessions_valid_after_ms.set(revoke_before[1])],
                      condition=UserItem.PK.exists())
            tx.save(audit, condition=AuditItem.PK.does_not_exist())
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise Refused() from error
        raise
