"""ULIDs: 26-character, Crockford base32, sortable by creation time."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_random = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, remainder = divmod(value, 32)
        chars.append(_ALPHABET[remainder])
    return "".join(reversed(chars))


def new_ulid(now_ms: int | None = None) -> str:
    """A monotonic ULID: within one millisecond in one process, ids still sort in creation order."""
    global _last_ms, _last_random  # noqa: PLW0603 - process-wide monotonic state, guarded by _lock
    ms = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _last_random += 1
        else:
            _last_ms = ms
            _last_random = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
        random_part = _last_random
    return _encode(ms, 10) + _encode(random_part, 16)


def is_ulid(value: str) -> bool:
    return len(value) == 26 and all(char in _ALPHABET for char in value)


def ulid_ms(value: str) -> int | None:
    """The creation time (epoch milliseconds) a ULID carries, or None for anything that is not a ULID."""
    if not is_ulid(value):
        return None
    ms = 0
    for char in value[:10]:
        ms = ms * 32 + _ALPHABET.index(char)
    return ms
