"""Argon2id password hashing (argon2-cffi).

Parameters default to RFC 9106's second recommended option (64 MiB, t=3, p=4), above OWASP's current minimum for
Argon2id (19 MiB, t=2, p=1). Hashes carry their parameters, so a raise of the parameters re-hashes each password at its
next successful login (`needs_rehash`). Tests lower the cost through ARGON2_* variables.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_KIB = 64 * 1024
DEFAULT_PARALLELISM = 4


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=int(os.environ.get("ARGON2_TIME_COST", DEFAULT_TIME_COST)),
        memory_cost=int(os.environ.get("ARGON2_MEMORY_KIB", DEFAULT_MEMORY_KIB)),
        parallelism=int(os.environ.get("ARGON2_PARALLELISM", DEFAULT_PARALLELISM)),
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return bool(_hasher().check_needs_rehash(password_hash))


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs as long as a wrong password."""
    return hash_password("not-a-real-password-for-timing-only")
