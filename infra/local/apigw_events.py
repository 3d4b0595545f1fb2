"""The payloads API Gateway (REST, Lambda proxy, version 1.0) exchanges with Lambda functions.

Handlers are tested against these shapes locally and then meet the real ones in AWS, so this module
copies AWS's rules, including the strict ones that surprise people: a proxy answer with unknown keys or a
non-string body is a 502; an authorizer ``context`` may hold only strings, numbers and booleans and
reaches the handler as strings; a cached policy is re-checked against each request's ``methodArn``.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PROXY_RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


@dataclass(frozen=True)
class HttpRequest:
    """A raw HTTP request as the local gateway received it."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    @property
    def path(self) -> str:
        """The path without the query string."""
        return urlsplit(self.target).path or "/"

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        """Query parameters in order, URL-decoded (blank values kept)."""
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass(frozen=True)
class RequestInfo:
    """Everything about a request that the event needs besides the raw HTTP request."""

    request_id: str
    stage: str
    resource_path: str
    path_parameters: Mapping[str, str]
    api_id: str = "local"
    account_id: str = "123456789012"
    region: str = "us-east-1"
    received_at: float = field(default_factory=time.time)


def method_arn(info: RequestInfo, method: str, path: str) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`` as authorizers receive it."""
    prefix = f"arn:aws:execute-api:{info.region}:{info.account_id}:{info.api_id}"
    return f"{prefix}/{info.stage}/{method}/{path.lstrip('/')}"


def _multi_value(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _header_maps(request: HttpRequest) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Headers keep the client's spelling; a repeated header keeps its last value in ``headers``."""
    multi = _multi_value(list(request.headers))
    return {key: values[-1] for key, values in multi.items()}, multi


def request_context(request: HttpRequest, info: RequestInfo, authorizer: Mapping[str, Any] | None) -> dict[str, Any]:
    """``requestContext`` of a REST proxy event."""
    received = datetime.fromtimestamp(info.received_at, tz=UTC)
    context: dict[str, Any] = {
        "resourceId": "local",
        "resourcePath": info.resource_path,
        "httpMethod": request.method,
        "extendedRequestId": info.request_id,
        "requestTime": received.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{info.stage}{request.path}",
        "accountId": info.account_id,
        "protocol": "HTTP/1.1",
        "stage": info.stage,
        "domainPrefix": "localhost",
        "requestTimeEpoch": int(info.received_at * 1000),
        "requestId": info.request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": request.header("User-Agent"),
            "user": None,
        },
        "domainName": "localhost",
        "apiId": info.api_id,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return context


def proxy_event(
    request: HttpRequest,
    info: RequestInfo,
    authorizer: Mapping[str, Any] | None,
    binary_media_types: Sequence[str] = (),
) -> dict[str, Any]:
    """The Lambda proxy integration event (payload format 1.0) for ``request``."""
    headers, multi_headers = _header_maps(request)
    query = request.query_pairs
    multi_query = _multi_value(query)
    body, is_base64 = _event_body(request, binary_media_types)
    return {
        "resource": info.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(info.path_parameters) or None,
        "stageVariables": None,
        "requestContext": request_context(request, info, authorizer),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _event_body(request: HttpRequest, binary_media_types: Sequence[str]) -> tuple[str | None, bool]:
    """Text bodies pass as text; binary media types (and undecodable bytes) pass base64-encoded."""
    if not request.body:
        return None, False
    content_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if any(fnmatch.fnmatch(content_type, pattern.lower()) for pattern in binary_media_types):
        return base64.b64encode(request.body).decode("ascii"), True
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode("ascii"), True


def token_authorizer_event(token: str, arn: str) -> dict[str, Any]:
    """The event a TOKEN authorizer receives."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}


def request_authorizer_event(request: HttpRequest, info: RequestInfo, arn: str) -> dict[str, Any]:
    """The event a REQUEST authorizer receives (the proxy event's request fields plus ``methodArn``)."""
    event = proxy_event(request, info, None)
    return {
        "type": "REQUEST",
        "methodArn": arn,
        **{key: event[key] for key in ("resource", "path", "httpMethod", "headers", "multiValueHeaders")},
        **{key: event[key] for key in ("queryStringParameters", "multiValueQueryStringParameters")},
        **{key: event[key] for key in ("pathParameters", "stageVariables", "requestContext")},
    }


# ---------------------------------------------------------------------- authorizer answers


class AuthorizerConfigurationError(ValueError):
    """The authorizer answered something API Gateway cannot use (a 500 in AWS)."""


@dataclass(frozen=True)
class AuthorizerPolicy:
    """A validated authorizer answer, cacheable per token and re-evaluated per method ARN."""

    principal_id: str
    statements: tuple[Mapping[str, Any], ...]
    context: Mapping[str, str]

    def decision(self, arn: str) -> str:
        """``Allow``, ``Deny`` (explicit) or ``ImplicitDeny`` for an ``execute-api:Invoke`` on ``arn``."""
        matching = [s for s in self.statements if _grants_invoke(s) and _matches_resource(s, arn)]
        if any(str(s.get("Effect")) == "Deny" for s in matching):
            return "Deny"
        if any(str(s.get("Effect")) == "Allow" for s in matching):
            return "Allow"
        return "ImplicitDeny"

    def request_context_authorizer(self, latency_ms: int) -> dict[str, Any]:
        """``requestContext.authorizer`` for the handler: context values, principalId, latency."""
        return {**self.context, "principalId": self.principal_id, "integrationLatency": latency_ms}


def parse_authorizer_answer(answer: Any) -> AuthorizerPolicy:
    """Validate an authorizer's return value the way API Gateway does."""
    if not isinstance(answer, Mapping):
        raise AuthorizerConfigurationError(f"authorizer returned {type(answer).__name__}, not an object")
    principal = answer.get("principalId")
    document = answer.get("policyDocument")
    if principal is None or not isinstance(document, Mapping):
        raise AuthorizerConfigurationError("authorizer answer needs principalId and policyDocument")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, Mapping) for s in statements):
        raise AuthorizerConfigurationError("policyDocument.Statement must be a list of statements")
    return AuthorizerPolicy(str(principal), tuple(statements), _context_strings(answer.get("context")))


def _context_strings(context: Any) -> dict[str, str]:
    """Context values must be scalars; REST APIs hand them to the integration as strings."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise AuthorizerConfigurationError("authorizer context must be an object")
    values: dict[str, str] = {}
    for key, value in context.items():
        if isinstance(value, bool):
            values[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            values[str(key)] = str(value)
        else:
            raise AuthorizerConfigurationError(f"authorizer context {key!r} is not a string, number or boolean")
    return values


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _grants_invoke(statement: Mapping[str, Any]) -> bool:
    actions = _as_list(statement.get("Action"))
    return any(fnmatch.fnmatchcase("execute-api:Invoke", pattern) for pattern in actions)


def _matches_resource(statement: Mapping[str, Any], arn: str) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character (``[`` is literal in IAM)."""
    return any(fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]")) for pattern in _as_list(statement.get("Resource")))


# ---------------------------------------------------------------------- proxy answers


class MalformedProxyResponse(ValueError):
    """The handler's answer is not a valid Lambda proxy response (AWS answers 502)."""


@dataclass(frozen=True)
class ProxyResponse:
    """A validated handler answer, ready to become the HTTP response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def parse_proxy_response(answer: Any) -> ProxyResponse:
    """Validate and convert a handler's answer like API Gateway's Lambda proxy integration does."""
    if not isinstance(answer, Mapping):
        raise MalformedProxyResponse(f"handler returned {type(answer).__name__}, not an object")
    unknown = set(answer) - PROXY_RESPONSE_KEYS
    if unknown:
        raise MalformedProxyResponse(f"unexpected keys in proxy response: {sorted(unknown)}")
    status = _status(answer.get("statusCode"))
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string (serialise JSON yourself)")
    raw = (body or "").encode("utf-8")
    if answer.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedProxyResponse("isBase64Encoded is true but body is not base64") from exc
    return ProxyResponse(status, _response_headers(answer), raw)


def _status(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise MalformedProxyResponse("statusCode is missing or not a number")
    try:
        status = int(value)
    except (TypeError, ValueError) as exc:
        raise MalformedProxyResponse(f"statusCode {value!r} is not a number") from exc
    if not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status} is out of range")
    return status


def _scalar(value: Any, what: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedProxyResponse(f"{what} must be a string, got {type(value).__name__}")


def _response_headers(answer: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``multiValueHeaders`` then ``headers``, merged; a pair present in both appears once."""
    single = answer.get("headers") or {}
    multi = answer.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedProxyResponse("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), _scalar(v, f"header {name}")) for v in values)
    seen = {(name.lower(), value) for name, value in headers}
    for name, value in single.items():
        text = _scalar(value, f"header {name}")
        if (str(name).lower(), text) not in seen:
            headers.append((str(name), text))
    return headers
