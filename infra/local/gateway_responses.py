"""API Gateway's own answers (no route, authorizer denial, throttling ...) shaped by ``GatewayResponses``.

Rules followed (as API Gateway applies them):
- a response type configured in the template wins; otherwise ``DEFAULT_4XX`` / ``DEFAULT_5XX`` applies;
  otherwise API Gateway's built-in ``{"message": ...}`` body;
- the status code is the configured ``StatusCode``, else the type's standard status;
- header values are either quoted literals (``"'application/json'"``) or mapping expressions
  (``method.request.header.Origin``, ``context.requestId``);
- templates substitute ``$context.*`` / ``$stageVariables.*``. Substituted values are JSON-escaped so
  a message with quotes cannot break the JSON body (a deliberate guard: API Gateway inserts raw text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.local.model import ApiDef, GatewayResponseDef

# Response type -> (standard status, API Gateway's default message).
STANDARD_RESPONSES: dict[str, tuple[int, str | None]] = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "THROTTLED": (429, "Too Many Requests"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Invalid request parameters"),
    "AUTHORIZER_FAILURE": (500, None),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "INTEGRATION_FAILURE": (504, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "DEFAULT_4XX": (400, "Bad Request"),
    "DEFAULT_5XX": (502, "Internal server error"),
}

_EXPRESSION = re.compile(
    r"\$!?(?:\{((?:context|stageVariables)(?:\.[A-Za-z0-9_]+)+)\}|((?:context|stageVariables)(?:\.[A-Za-z0-9_]+)+))"
)
_DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'


@dataclass(frozen=True)
class RequestFacts:
    """What ``$context`` and ``method.request.*`` can refer to in a gateway response."""

    request_id: str
    http_method: str = ""
    path: str = ""
    resource_path: str = ""
    stage: str = ""
    source_ip: str = ""
    user_agent: str = ""
    api_id: str = "local"
    account_id: str = "123456789012"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    authorizer: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayAnswer:
    """A rendered gateway response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def render(
    api: ApiDef | None,
    response_type: str,
    facts: RequestFacts,
    message: str | None = None,
    status: int | None = None,
) -> GatewayAnswer:
    """Render ``response_type`` for this request; ``status`` overrides the standard one (e.g. 502)."""
    standard_status, standard_message = STANDARD_RESPONSES[response_type]
    message = standard_message if message is None else message
    effective_status = standard_status if status is None else status
    configured = _configured(api, response_type, effective_status)
    final_status = configured.status_code if configured and configured.status_code else effective_status
    context = _context_values(facts, response_type, message)
    template = _pick_template(configured.templates if configured else {})
    body = _substitute(template, context)
    headers = _headers(configured.headers if configured else {}, context, facts)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-ErrorType", _error_type(response_type)))
    return GatewayAnswer(final_status, headers, body.encode("utf-8"))


def _configured(api: ApiDef | None, response_type: str, status: int) -> GatewayResponseDef | None:
    if api is None:
        return None
    responses = api.gateway_responses
    if response_type in responses:
        return responses[response_type]
    fallback = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
    return responses.get(fallback)


def _pick_template(templates: Mapping[str, str]) -> str:
    if "application/json" in templates:
        return templates["application/json"]
    return next(iter(templates.values()), _DEFAULT_TEMPLATE)


def _context_values(facts: RequestFacts, response_type: str, message: str | None) -> dict[str, str]:
    values = {
        "context.requestId": facts.request_id,
        "context.extendedRequestId": facts.request_id,
        "context.httpMethod": facts.http_method,
        "context.path": facts.path,
        "context.resourcePath": facts.resource_path,
        "context.stage": facts.stage,
        "context.apiId": facts.api_id,
        "context.accountId": facts.account_id,
        "context.identity.sourceIp": facts.source_ip,
        "context.identity.userAgent": facts.user_agent,
        "context.error.responseType": response_type,
        "context.error.message": "" if message is None else message,
    }
    values.update({f"context.authorizer.{k}": v for k, v in facts.authorizer.items()})
    return values


def _substitute(template: str, values: Mapping[str, str]) -> str:
    """Replace ``$context.x`` / ``${context.x}``; unknown names render empty, like API Gateway's VTL."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name == "context.error.messageString":
            return json.dumps(values.get("context.error.message") or None)
        return json.dumps(values.get(name, ""))[1:-1]

    return _EXPRESSION.sub(replace, template)


def _headers(configured: Mapping[str, str], context: Mapping[str, str], facts: RequestFacts) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for name, expression in configured.items():
        value = _header_value(expression, context, facts)
        if value is not None:
            headers.append((name, value))
    return headers


def _header_value(expression: str, context: Mapping[str, str], facts: RequestFacts) -> str | None:
    """A quoted literal, or a ``method.request.*`` / ``context.*`` mapping expression."""
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    sources: dict[str, Mapping[str, Any]] = {
        "method.request.header.": {k.lower(): v for k, v in facts.headers.items()},
        "method.request.querystring.": facts.query,
        "method.request.path.": facts.path_parameters,
    }
    for prefix, source in sources.items():
        if expression.startswith(prefix):
            key = expression[len(prefix) :]
            value = source.get(key.lower() if prefix.endswith("header.") else key)
            return None if value is None else str(value)
    return context.get(expression)


def _error_type(response_type: str) -> str:
    """The ``x-amzn-ErrorType`` header API Gateway sends with its own answers."""
    return {
        "UNAUTHORIZED": "UnauthorizedException",
        "ACCESS_DENIED": "AccessDeniedException",
        "MISSING_AUTHENTICATION_TOKEN": "IncompleteSignatureException",
        "THROTTLED": "TooManyRequestsException",
        "REQUEST_TOO_LARGE": "RequestTooLargeException",
        "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
        "AUTHORIZER_FAILURE": "AuthorizerFailureException",
        "INTEGRATION_TIMEOUT": "InternalServerErrorException",
    }.get(response_type, "InternalServerErrorException")
