"""Structured JSON logs (Powertools Logger) with the request id on every line.

Nothing logs request bodies, headers or tokens; `redact` is the one helper for anything that might carry a secret.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="tickerleague", use_rfc3339=True)

SECRET_KEYS = frozenset({"password", "refreshtoken", "accesstoken", "authorization", "token", "secret",
                         "passwordhash", "password_hash", "clientsecret"})


def redact(data: Any) -> Any:
    """A copy of `data` with every value under a secret-looking key replaced."""
    if isinstance(data, dict):
        return {key: "***" if str(key).lower() in SECRET_KEYS else redact(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact(item) for item in data]
    return data
