"""Signing keys, read through Powertools parameters (Secrets Manager in AWS; local config or moto in dev).

Secret JSON: {"current": "<kid>", "<kid>": "<secret>", "<older kid>": "<older secret>"}. Tokens are signed with the
current key and verified with any key still listed, which is how keys rotate (docs/runbooks/rotate-signing-keys.md).
`JWT_SIGNING_KEYS` (the same JSON in an environment variable) takes precedence: tests and one-off scripts use it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from tickerleague.config import settings

SECRET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class SigningKeys:
    current_kid: str
    keys: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_kid]


def _parse(raw: dict[str, str]) -> SigningKeys:
    current = raw["current"]
    keys = {kid: secret.encode() for kid, secret in raw.items() if kid != "current"}
    if current not in keys or any(len(secret) < 32 for secret in keys.values()):
        raise ValueError("signing-key secret must list the current kid and keys of at least 32 characters")
    return SigningKeys(current_kid=current, keys=keys)


def signing_keys() -> SigningKeys:
    inline = os.environ.get("JWT_SIGNING_KEYS")
    if inline:
        return _parse(json.loads(inline))
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(settings().jwt_keys_secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    if not isinstance(raw, dict):
        raise ValueError("signing-key secret is not a JSON object")
    return _parse(raw)
