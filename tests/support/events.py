"""Synthetic API Gateway REST proxy events (v1.0) and a way to call handlers in-process with them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str = "user"
    session_id: str = "test-session"


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    caller: Caller | None = None,
    source_ip: str = "198.51.100.7",
) -> dict[str, Any]:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    authorizer = (
        {"principalId": caller.user_id, "userId": caller.user_id, "role": caller.role, "sessionId": caller.session_id}
        if caller
        else None
    )
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {key: [value] for key, value in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "v1-stage",
            "httpMethod": method,
            "path": f"/v1-stage{path}",
            "resourcePath": resource or path,
            "identity": {"sourceIp": source_ip},
            "authorizer": authorizer,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error_code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


def call(handler: Any, event: dict[str, Any]) -> HttpAnswer:
    response = handler(event, None)
    raw = response.get("body") or ""
    return HttpAnswer(status=response["statusCode"], headers=response.get("headers") or {},
                      body=json.loads(raw) if raw else None)
