"""Users, their unique-email markers and their sessions (refresh-token families)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import TransactWriteError, UpdateError

from tickerleague.adapters.dynamodb.base import BaseItem, bind_table, failed_items, transaction


class UserItem(BaseItem):
    """PK USER#<userId>, SK PROFILE.

    Admin search (adapters/dynamodb/admin_users.py): GSI1 USERS#EMAIL#<first char> / <email> (email prefix),
    GSI4 USERS#NAME#<first char> / <casefolded name>#<userId> (display-name prefix), GSI2 USERS / <createdAt>#<userId>
    (everyone, newest first). `UserItem.new` sets them; a display-name change moves GSI4.
    """

    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    display_name = UnicodeAttribute()
    role = UnicodeAttribute(default="user")
    status = UnicodeAttribute(default="active")
    password_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Sessions started before this instant (epoch seconds) are dead: suspension sets it.
    sessions_valid_after = NumberAttribute(default=0)
    status_reason = UnicodeAttribute(null=True)
    # The same marker to the millisecond, compared with the time in a session's ULID: a session started in the very
    # second of a suspension (before it) must die too, and one started right after a reinstatement must live.
    sessions_valid_after_ms = NumberAttribute(null=True)
    contest_reminders = BooleanAttribute(null=True)  # emailPreferences.contestReminders; None means true

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", "PROFILE"

    @staticmethod
    def email_partition(prefix: str) -> str:
        return f"USERS#EMAIL#{prefix[:1]}"

    @staticmethod
    def name_partition(prefix: str) -> str:
        return f"USERS#NAME#{prefix[:1]}"

    @staticmethod
    def name_sort_key(display_name: str, user_id: str) -> str:
        return f"{display_name.casefold()}#{user_id}"

    @classmethod
    def new(cls, user_id: str, **attributes: Any) -> UserItem:
        pk, sk = cls.key(user_id)
        email, name = attributes.get("email", ""), attributes.get("display_name", "")
        return cls(pk, sk, user_id=user_id, GSI1PK=cls.email_partition(email), GSI1SK=email,
                   GSI2PK=ALL_USERS, GSI2SK=f"{attributes.get('created_at', '')}#{user_id}",
                   GSI4PK=cls.name_partition(name.casefold()), GSI4SK=cls.name_sort_key(name, user_id),
                   **attributes)


ALL_USERS = "USERS"


class EmailMarker(BaseItem):
    """PK EMAIL#<normalized email>, SK EMAIL: makes an email unique; written in the signup transaction."""

    user_id = UnicodeAttribute()

    @staticmethod
    def key(normalized_email: str) -> tuple[str, str]:
        return f"EMAIL#{normalized_email}", "EMAIL"

    @classmethod
    def new(cls, normalized_email: str, user_id: str) -> EmailMarker:
        pk, sk = cls.key(normalized_email)
        return cls(pk, sk, user_id=user_id)


class SessionItem(BaseItem):
    """PK USER#<userId>, SK SESSION#<sessionId>: one refresh-token family. `generation` counts rotations;
    only the refresh token carrying the current generation is accepted."""

    user_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    generation = NumberAttribute(default=0)
    revoked = BooleanAttribute(default=False)
    revoked_reason = UnicodeAttribute(null=True)
    created_at_epoch = NumberAttribute()
    last_used_at = UnicodeAttribute(null=True)

    @staticmethod
    def key(user_id: str, session_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", f"SESSION#{session_id}"

    @staticmethod
    def prefix() -> str:
        return "SESSION#"

    @classmethod
    def new(cls, user_id: str, session_id: str, created_at_epoch: int, expires_at: int) -> SessionItem:
        pk, sk = cls.key(user_id, session_id)
        return cls(pk, sk, user_id=user_id, session_id=session_id, generation=0, revoked=False,
                   created_at_epoch=created_at_epoch, expiresAt=expires_at)


# ---------------------------------------------------------------------------- repository functions
class EmailTaken(Exception):
    """The email marker already exists."""


def get_user(user_id: str, *, consistent: bool = False) -> UserItem | None:
    bind_table()
    try:
        return UserItem.get(*UserItem.key(user_id), consistent_read=consistent)
    except UserItem.DoesNotExist:
        return None


def user_id_for_email(normalized_email: str) -> str | None:
    bind_table()
    try:
        return str(EmailMarker.get(*EmailMarker.key(normalized_email), consistent_read=True).user_id)
    except EmailMarker.DoesNotExist:
        return None


def create_user(user: UserItem, marker: EmailMarker, session: SessionItem) -> None:
    """One transaction: the email marker, the user and the first session, or nothing (EmailTaken)."""
    try:
        with transaction() as tx:
            tx.save(marker, condition=EmailMarker.PK.does_not_exist(), return_values=ALL_OLD)
            tx.save(user, condition=UserItem.PK.does_not_exist())
            tx.save(session, condition=SessionItem.PK.does_not_exist())
    except TransactWriteError as error:
        if any(item.get("SK", {}).get("S") == "EMAIL" for item in failed_items(error)):
            raise EmailTaken() from error
        raise


def put_session(session: SessionItem) -> None:
    bind_table()
    session.save(condition=SessionItem.PK.does_not_exist())


def get_session(user_id: str, session_id: str) -> SessionItem | None:
    bind_table()
    try:
        return SessionItem.get(*SessionItem.key(user_id, session_id), consistent_read=True)
    except SessionItem.DoesNotExist:
        return None


def rotate_session(session: SessionItem, expected_generation: int, last_used_at: str, expires_at: int) -> bool:
    """Move the session to the next generation if it is still at `expected_generation` and not revoked.
    False when another request got there first (which the caller treats as reuse)."""
    try:
        session.update(
            actions=[SessionItem.generation.set(expected_generation + 1), SessionItem.last_used_at.set(last_used_at),
                     SessionItem.expiresAt.set(expires_at)],
            condition=(SessionItem.generation == expected_generation) & (SessionItem.revoked == False),  # noqa: E712
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def revoke_session(user_id: str, session_id: str, reason: str) -> None:
    """Idempotent: revoking a revoked (or vanished) session changes nothing."""
    bind_table()
    session = SessionItem(*SessionItem.key(user_id, session_id))
    try:
        session.update(
            actions=[SessionItem.revoked.set(True), SessionItem.revoked_reason.set(reason)],
            condition=SessionItem.PK.exists(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def update_password_hash(user_id: str, password_hash: str, updated_at: str) -> None:
    bind_table()
    user = UserItem(*UserItem.key(user_id))
    user.update(actions=[UserItem.password_hash.set(password_hash), UserItem.updated_at.set(updated_at)],
                condition=UserItem.PK.exists())
