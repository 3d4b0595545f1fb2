"""Keys derived from the signing secret for purposes other than tokens."""

from __future__ import annotations

import hashlib
import hmac


def cursor_key() -> bytes:
    """The HMAC key for list cursors, derived from the current signing key (a cursor outlives no rotation)."""
    from tickerleague.adapters.secrets import signing_keys

    return hmac.new(signing_keys().current, b"tickerleague/cursor/v1", hashlib.sha256).digest()
