"""Notification rules, pure: which email kinds exist, who gets which, what each template needs, and how to read a
provider's answer (sent, retry later, refused for good).

An email is identified by (userId, kind, subject id): the subject is the contest for the contest kinds, the reset
request for `password_reset`. The sender writes a marker under that identity before it calls the provider, so
a duplicated or reordered event sends at most one email.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    ENTRY_CONFIRMED = "entry_confirmed"
    CONTEST_STARTING = "contest_starting"
    CONTEST_ENDED = "contest_ended"
    ENTRY_REFUNDED = "entry_refunded"
    CONTEST_CANCELLED = "contest_cancelled"
    PASSWORD_RESET = "password_reset"


# contestReminders: false stops these; the transactional kinds always go.
REMINDER_KINDS = frozenset({Kind.CONTEST_STARTING, Kind.CONTEST_ENDED})
# Kinds sent to every entrant of a contest: their recipients are paged in chunks (queue messages of N recipients).
FAN_OUT_KINDS = frozenset({Kind.CONTEST_STARTING, Kind.CONTEST_ENDED, Kind.CONTEST_CANCELLED})

# The event that causes each kind (detail types fixed in COORDINATION.md).
KIND_OF_EVENT: dict[str, Kind] = {
    "EntryConfirmed": Kind.ENTRY_CONFIRMED,
    "ContestStarted": Kind.CONTEST_STARTING,
    "ContestEnded": Kind.CONTEST_ENDED,
    "EntryRefunded": Kind.ENTRY_REFUNDED,
    "ContestCancelled": Kind.CONTEST_CANCELLED,
    "PasswordResetRequested": Kind.PASSWORD_RESET,
}

# Every variable a kind's template may use (the dynamic_template_data the sender builds). The render tests check
# that each template uses only these and that the sender always fills all of them, so a missing variable fails
# the build, never a send.
COMMON_VARIABLES = ("displayName", "preferencesUrl")
TEMPLATE_VARIABLES: dict[Kind, tuple[str, ...]] = {
    Kind.ENTRY_CONFIRMED: (*COMMON_VARIABLES, "contestName", "contestUrl", "startsAt", "endsAt", "startingCash"),
    Kind.CONTEST_STARTING: (*COMMON_VARIABLES, "contestName", "contestUrl", "startsAt", "endsAt"),
    Kind.CONTEST_ENDED: (*COMMON_VARIABLES, "contestName", "leaderboardUrl", "rank", "outOf", "totalValue",
                         "returnPct"),
    Kind.ENTRY_REFUNDED: (*COMMON_VARIABLES, "contestName", "contestUrl", "amount", "currency"),
    Kind.CONTEST_CANCELLED: (*COMMON_VARIABLES, "contestName", "contestsUrl"),
    Kind.PASSWORD_RESET: (*COMMON_VARIABLES, "resetUrl", "expiresAt"),
}


@dataclass(frozen=True)
class Recipient:
    """Who gets one email, and what only they see (rank, amount, reset token ...)."""

    user_id: str
    extra: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"userId": self.user_id, **({"extra": dict(self.extra)} if self.extra else {})}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Recipient:
        return cls(str(raw["userId"]), {str(k): str(v) for k, v in (raw.get("extra") or {}).items()})


@dataclass(frozen=True)
class Addressee:
    """What the sender knows about a user when it decides (read from the user item)."""

    user_id: str
    email: str
    display_name: str
    status: str
    contest_reminders: bool


class Skip(StrEnum):
    """Why an email is not sent (recorded, never retried)."""

    USER_GONE = "user_gone"
    USER_SUSPENDED = "user_suspended"
    OPTED_OUT = "opted_out"
    ALREADY_SENT = "already_sent"
    CONTEST_GONE = "contest_gone"


def skip_reason(kind: Kind, user: Addressee | None) -> Skip | None:
    """None: send. A deleted or suspended user gets nothing, not even a transactional email; the reminder kinds
    obey `contestReminders`, the transactional kinds always go."""
    if user is None or user.status == "deleted":
        return Skip.USER_GONE
    if user.status != "active":
        return Skip.USER_SUSPENDED
    if kind in REMINDER_KINDS and not user.contest_reminders:
        return Skip.OPTED_OUT
    return None


def contest_reminders(stored: object) -> bool:
    """`emailPreferences.contestReminders` from what `PATCH /v1/me` stored (the user item's `contest_reminders`):
    never set means yes, only an explicit false means no. `GET /v1/me` and the sender both read it here."""
    return stored is not False


def subject_id(kind: Kind, contest_id: str | None, reset_id: str | None) -> str:
    """The second part of an email's identity: the reset request for password_reset, else the contest."""
    subject = reset_id if kind is Kind.PASSWORD_RESET else contest_id
    if not subject:
        raise ValueError(f"{kind}: no {'resetId' if kind is Kind.PASSWORD_RESET else 'contestId'}")
    return subject


def chunks[T](items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` (>= 1)."""
    step = max(1, size)
    for start in range(0, len(items), step):
        yield items[start:start + step]


# ---------------------------------------------------------------------------------------------------- provider answers
class Verdict(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # not accepted now (429, 5xx): try again later, the marker stays ours
    REFUSED = "refused"  # refused for good (other 4xx): never retried, the marker is released
    UNKNOWN = "unknown"  # no answer (timeout after sending): maybe sent, so never sent again


def verdict(status: int | None) -> Verdict:
    """SendGrid's answer to POST /v3/mail/send -> what the sender does."""
    if status is None:
        return Verdict.UNKNOWN
    if 200 <= status < 300:
        return Verdict.SENT
    if status == 429 or status >= 500:
        return Verdict.RETRY
    return Verdict.REFUSED


MAX_RETRY_DELAY_SECONDS = 900  # SQS's longest visibility change we ask for; beyond it the queue's own retry decides


def retry_delay(status: int, headers: Mapping[str, str], now_epoch: float, attempt: int) -> int:
    """Seconds to wait before the next try: SendGrid's rate-limit reset (`X-RateLimit-Reset`, epoch seconds) or
    `Retry-After` when it sent one, else exponential back-off from 2 s, at most MAX_RETRY_DELAY_SECONDS."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if status == 429:
        for name, relative in (("retry-after", True), ("x-ratelimit-reset", False)):
            raw = lowered.get(name)
            if raw is None:
                continue
            try:
                value = float(raw)
            except ValueError:
                continue
            seconds = value if relative else value - now_epoch
            return int(min(MAX_RETRY_DELAY_SECONDS, max(1, math.ceil(seconds))))
    return int(min(MAX_RETRY_DELAY_SECONDS, 2 ** min(max(attempt, 1), 10)))
