"""The one error envelope: {"error": {code, message, details?, requestId}}."""

from __future__ import annotations

import json
from typing import Any

from tickerleague.errors import DomainError
from tickerleague.http.statuses import status_of

JSON = "application/json"


def error_body(code: str, message: str, request_id: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    error["requestId"] = request_id
    return {"error": error}


def error_response(error: DomainError, request_id: str) -> tuple[int, dict[str, str], str]:
    """Status, extra headers and JSON body for a domain error."""
    body = error_body(error.code, error.message, request_id, error.details)
    return status_of(error), dict(error.headers), json.dumps(body, separators=(",", ":"))
