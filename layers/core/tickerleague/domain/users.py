"""Users: email normalization, display names, the password policy, roles and statuses. Pure."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

ROLES = ("user", "admin")
STATUSES = ("active", "suspended")

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
DISPLAY_NAME_MAX_LENGTH = 50
EMAIL_MAX_LENGTH = 254

# Deliberately simple: one @, a dot in the domain, no spaces or control characters. Ownership is what really
# proves an address, and that is the confirmation email's job.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f.]{2,}$")


def normalize_email(raw: str) -> str:
    """Trimmed and case-folded: emails are compared case-insensitively (contract)."""
    return raw.strip().lower()


def email_problem(normalized: str) -> str | None:
    if len(normalized) > EMAIL_MAX_LENGTH or not _EMAIL.match(normalized):
        return "must be a valid email address"
    return None


def _has_control_or_format_chars(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") for char in text)


def clean_display_name(raw: str) -> str:
    return unicodedata.normalize("NFC", raw.strip())


def display_name_problem(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        return f"must be at most {DISPLAY_NAME_MAX_LENGTH} characters"
    if _has_control_or_format_chars(name):
        return "must not contain control or invisible characters"
    return None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("tickerleague.data").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, normalized_email: str) -> str | None:
    """Why the password is refused, or None. Length 10-128, not the email, not a common password."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"must be at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"must be at most {PASSWORD_MAX_LENGTH} characters"
    lowered = password.strip().lower()
    if lowered in (normalized_email, normalized_email.split("@", 1)[0]):
        return "must not be your email address"
    if lowered in common_passwords():
        return "is too common; choose another"
    return None


def session_revoked(started_at: int, started_ms: int | None, valid_after: int, valid_after_ms: int | None) -> bool:
    """Whether a session (or an access token of it) started before the account's revocation marker.

    The marker is kept in seconds and in milliseconds: seconds catch what carries no finer time, milliseconds (the
    session's ULID) tell apart a session started just before a suspension from one started just after it."""
    if started_at < valid_after:
        return True
    return started_ms is not None and valid_after_ms is not None and started_ms < valid_after_ms
