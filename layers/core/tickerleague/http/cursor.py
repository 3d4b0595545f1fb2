"""Opaque, tamper-evident list cursors: base64url(JSON payload) + "." + base64url(HMAC-SHA256).

The payload carries the list's `scope` (route, filters and caller), so a cursor from another list or another user is
refused with INVALID_CURSOR, just like an edited one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from tickerleague.errors import InvalidCursor

MAX_CURSOR_LENGTH = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(key: bytes, scope: str, position: dict[str, Any]) -> str:
    payload = json.dumps({"s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def decode_cursor(key: bytes, scope: str, cursor: str) -> dict[str, Any]:
    """The position stored in `cursor`, or InvalidCursor when it was edited, forged or made for another list."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        payload_part, signature_part = cursor.split(".")
        payload = _unb64(payload_part)
        expected = hmac.new(key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature_part)):
            raise ValueError("bad signature")
        data = json.loads(payload)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:  # binascii.Error is a ValueError
        raise InvalidCursor() from exc
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("p"), dict):
        raise InvalidCursor()
    position: dict[str, Any] = data["p"]
    return position
