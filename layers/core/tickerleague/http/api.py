"""The resolver factory: declarative routes with an access guard, body/query models, the envelope on every error.

A handler module does:

    api = Api()

    @api.route("POST", "/v1/auth/signup", access=Access.PUBLIC, body=SignupRequest, responses={201: AuthResult})
    def signup(request: Request) -> Reply:
        return Reply(201, auth_service.signup(...))

`signup` is then the Lambda entry point named in template.yaml (`Handler: auth.signup`), and `signup.spec` describes
the route for the OpenAPI generator and the route <-> handler consistency test.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tickerleague import correlation, metrics, tracing
from tickerleague.config import settings
from tickerleague.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
)
from tickerleague.http import idempotency, rate_limit
from tickerleague.http.envelope import JSON, error_body, error_response
from tickerleague.http.logs import logger
from tickerleague.http.principal import Access, Principal, principal_from_authorizer
from tickerleague.http.validation import QueryModel, parse_json, parse_model

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
EXPOSED_HEADERS = ", ".join(
    ("X-Request-Id", correlation.HEADER, "Retry-After", *rate_limit.RATE_LIMIT_HEADERS, idempotency.REPLAYED_HEADER))
# This request's RateLimit headers (errors included): set by `rate_limit`, added by `_finish`.
_limit_headers = rate_limit.limit_headers


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # API Gateway form: /v1/contests/{contestId}
    name: str  # the handler's function name
    access: Access
    summary: str
    body: type[BaseModel] | None
    body_required: bool
    query: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | None]
    errors: tuple[str, ...]  # contract codes this route may answer, for the OpenAPI document
    tags: tuple[str, ...]
    raw_body: bool = False  # the handler reads the exact bytes itself (webhooks verify a signature over them)


@dataclass
class Request:
    event: dict[str, Any]
    principal: Principal | None
    path: dict[str, str]
    body: Any
    query: Any
    request_id: str
    source_ip: str
    headers: dict[str, str] = field(default_factory=dict)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated()
        return self.principal

    @property
    def idempotency_key(self) -> str | None:
        """The request's Idempotency-Key (already checked by `idempotency.begin`), for endpoints whose write is
        itself keyed by it, so that a retry whose first answer was lost finds the first write's result."""
        return self.headers.get(idempotency.HEADER.lower())


@dataclass
class Reply:
    status: int
    body: BaseModel | dict[str, Any] | str | None = None  # str: JSON already serialized (a replayed answer)
    headers: dict[str, str] = field(default_factory=dict)


Endpoint = Callable[[Request], Reply]


def _lower_headers(event: dict[str, Any]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}


def _request_id(event: dict[str, Any]) -> str:
    return str((event.get("requestContext") or {}).get("requestId") or "unknown")


def _source_ip(event: dict[str, Any]) -> str:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "0.0.0.0")  # noqa: S104  # nosec B104 - a placeholder value, not a bind address


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise BadRequest("The body is not valid base64.") from exc
    return str(body).encode("utf-8", errors="surrogatepass")


def _is_json_content_type(headers: dict[str, str]) -> bool:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == JSON or (content_type.startswith("application/") and content_type.endswith("+json"))


def _serialize(body: BaseModel | dict[str, Any] | str | None) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    if isinstance(body, BaseModel):
        return body.model_dump_json(by_alias=True)
    return json.dumps(body, separators=(",", ":"), default=str)


# A path parameter is one segment of these characters (Powertools' REST resolver: RFC 3986's safe characters, the
# unsafe ones API Gateway hands over decoded, and word characters); the path may end in slashes.
_PARAMETER = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"
_TEMPLATE_PARAMETER = re.compile(r"\{(\w+)\}")


def _compile_routes(specs: list[RouteSpec]) -> list[tuple[RouteSpec, re.Pattern[str]]]:
    def pattern(path: str) -> re.Pattern[str]:
        parts = _TEMPLATE_PARAMETER.split(path)  # literal, name, literal, name, ..., literal
        regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{_PARAMETER})" for i, part in enumerate(parts))
        return re.compile(f"^{regex}/*$")

    static = [spec for spec in specs if "{" not in spec.path]
    templated = [spec for spec in specs if "{" in spec.path]
    return [(spec, pattern(spec.path)) for spec in static + templated]


class RouteHandler:
    """A Lambda entry point bound to one route of an `Api` (the module's resolver answers unknown paths with 404)."""

    def __init__(self, api: Api, spec: RouteSpec, endpoint: Endpoint) -> None:
        self.api = api
        self.spec = spec
        self.endpoint = endpoint
        self.__name__ = spec.name
        self.__doc__ = endpoint.__doc__

        def entry(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return api.handle(event, context)

        entry.__name__ = spec.name
        self._entry = tracing.handler(entry)
        setattr(self, tracing.TRACED_ATTRIBUTE, True)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self._entry(event, context)


class Api:
    def __init__(self) -> None:
        self.specs: list[RouteSpec] = []
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._routes: list[tuple[RouteSpec, re.Pattern[str]]] | None = None

    def route(
        self,
        method: str,
        path: str,
        *,
        access: Access,
        summary: str,
        responses: dict[int, type[BaseModel] | None],
        body: type[BaseModel] | None = None,
        body_required: bool = True,
        query: type[BaseModel] | None = None,
        errors: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        raw_body: bool = False,
    ) -> Callable[[Endpoint], RouteHandler]:
        def register(endpoint: Endpoint) -> RouteHandler:
            spec = RouteSpec(
                method=method.upper(), path=path, name=endpoint.__name__, access=access, summary=summary,
                body=body, body_required=body_required, query=query, responses=responses, errors=errors, tags=tags,
                raw_body=raw_body,
            )
            self.specs.append(spec)
            self._endpoints[(spec.method, spec.path)] = endpoint
            self._routes = None
            return RouteHandler(self, spec, endpoint)

        return register

    # ------------------------------------------------------------------ dispatch
    def _match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]]:
        """The route of a request and its path parameters, matched as Powertools' REST resolver did (static paths
        before templated ones, a segment per parameter, trailing slashes allowed); NotFound when none matches.

        Routing is ours, not Powertools': its resolver keeps the current event in a class attribute shared by every
        resolver of the process, and its routing context per resolver, so two requests at once in one process (the
        local gateway's threads) could each be answered from the other's event."""
        if self._routes is None:
            self._routes = _compile_routes(self.specs)
        for spec, pattern in self._routes:
            if spec.method != method:
                continue
            found = pattern.match(path)
            if found is not None:
                return spec, found.groupdict()
        raise NotFound("No route matches this method and path.")

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """One request under its correlation id (the caller's valid X-Correlation-Id, else the request id)."""
        request_id = _request_id(event)
        with correlation.bound(correlation.of_request(_lower_headers(event), request_id)) as correlation_id:
            return self._handle(event, context, request_id, correlation_id)

    def _handle(self, event: dict[str, Any], context: Any, request_id: str, correlation_id: str) -> dict[str, Any]:
        started = time.perf_counter()
        # Per thread (a context variable): Lambda runs one request at a time, the local gateway several at once.
        logger.thread_safe_append_keys(requestId=request_id)
        _limit_headers.set({})
        try:
            spec, path_params = self._match(str(event.get("httpMethod") or "").upper(), str(event.get("path") or ""))
            reply = self._run(spec, event, path_params)
            body = _serialize(reply.body)
            response: dict[str, Any] = {
                "statusCode": reply.status,
                "headers": {**({"Content-Type": JSON} if reply.body is not None else {}), **reply.headers},
                "body": body,
                "isBase64Encoded": False,
            }
        except DomainError as error:
            response = self._error(error, request_id)
        except Exception as error:
            response = self._unexpected(error, request_id)
        finished = self._finish(response, event, request_id, correlation_id)
        # One access line per request: never bodies, headers or tokens (they may hold passwords and secrets).
        logger.info("request", extra={
            "method": event.get("httpMethod"), "resource": event.get("resource"), "status": finished["statusCode"],
            "userId": ((event.get("requestContext") or {}).get("authorizer") or {}).get("userId"),
            "durationMs": round((time.perf_counter() - started) * 1000, 1),
        })
        return finished

    @classmethod
    def _unexpected(cls, error: Exception, request_id: str) -> dict[str, Any]:
        """A dependency's passing trouble is 503 with Retry-After (the request may be sent again); anything else
        is a bug: 500, logged with its stack."""
        from tickerleague.http.unavailable import is_transient

        if is_transient(error):
            logger.warning("dependency unavailable", exc_info=True)
            metrics.count("DependencyUnavailable", error=type(error).__name__)
            return cls._error(ServiceUnavailable(), request_id)
        logger.exception("unhandled error")
        body = error_body("INTERNAL", "Something went wrong on our side.", request_id)
        return {"statusCode": 500, "headers": {"Content-Type": JSON}, "body": json.dumps(body)}

    @staticmethod
    def _error(error: DomainError, request_id: str) -> dict[str, Any]:
        status, headers, body = error_response(error, request_id)
        return {"statusCode": status, "headers": {"Content-Type": JSON, **headers}, "body": body}

    @staticmethod
    def _finish(response: dict[str, Any], event: dict[str, Any], request_id: str,
                correlation_id: str) -> dict[str, Any]:
        headers: dict[str, str] = dict(response.get("headers") or {})
        headers.update(_limit_headers.get())
        headers.update(SECURITY_HEADERS)
        headers["X-Request-Id"] = request_id
        headers[correlation.HEADER] = correlation_id
        origin = _lower_headers(event).get("origin")
        if origin and origin in settings().cors_allow_origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Vary"] = "Origin"
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response["headers"] = headers
        response.setdefault("isBase64Encoded", False)
        return response

    # ------------------------------------------------------------------ one request
    def _run(self, spec: RouteSpec, event: dict[str, Any], path_params: dict[str, str]) -> Reply:
        headers = _lower_headers(event)
        principal = self._principal(spec, event, headers)
        source_ip = _source_ip(event)
        with rate_limit.limited(spec.method, spec.path, principal, source_ip):
            return self._run_limited(spec, event, path_params, headers=headers, principal=principal,
                                     source_ip=source_ip)

    def _run_limited(self, spec: RouteSpec, event: dict[str, Any], path_params: dict[str, str], *,
                     headers: dict[str, str], principal: Principal | None, source_ip: str) -> Reply:
        body = self._body(spec, event, headers)
        query = self._query(spec, event)
        request = Request(
            event=event, principal=principal, path=path_params, body=body, query=query,
            request_id=_request_id(event), source_ip=source_ip, headers=headers,
        )
        endpoint = self._endpoints[(spec.method, spec.path)]
        claim = idempotency.begin(
            method=spec.method, route=spec.path, path_params=path_params, headers=headers, principal=principal,
            body=parse_json(_raw_body(event)) if spec.body is not None and _raw_body(event).strip() else None,
            source_ip=source_ip,
        )
        if claim is None:
            return endpoint(request)
        if isinstance(claim, idempotency.Replay):
            return Reply(claim.status, claim.body or None, claim.headers)
        return self._run_claimed(claim, endpoint, request)

    @staticmethod
    def _run_claimed(claim: idempotency.Claim, endpoint: Endpoint, request: Request) -> Reply:
        """Run the endpoint under a claimed Idempotency-Key and store its answer (a 5xx or a crash: drop the claim)."""
        try:
            reply = endpoint(request)
        except DomainError as error:
            idempotency.finish_error(claim, error, request.request_id)
            raise
        except BaseException:
            idempotency.abandon(claim)
            raise
        idempotency.finish(claim, reply.status, _serialize(reply.body), reply.headers)
        return reply

    @staticmethod
    def _principal(spec: RouteSpec, event: dict[str, Any], headers: dict[str, str]) -> Principal | None:
        if spec.access is Access.PUBLIC:
            return None
        if spec.access is Access.OPTIONAL:
            authorization = headers.get("authorization")
            if not authorization:
                return None
            from tickerleague.services.principals import principal_from_bearer

            return principal_from_bearer(authorization)
        principal = principal_from_authorizer(event)
        if principal is None:
            raise Unauthenticated()
        if spec.access is Access.ADMIN and not principal.is_admin:
            raise Forbidden("Only administrators may do this.")
        return principal

    @staticmethod
    def _body(spec: RouteSpec, event: dict[str, Any], headers: dict[str, str]) -> Any:
        raw = _raw_body(event)
        if spec.raw_body:
            return raw  # bytes, unparsed and unlimited here: the handler decides (a webhook's 400 for every bad body)
        if len(raw) > settings().max_body_bytes:
            raise PayloadTooLarge(f"The body is larger than {settings().max_body_bytes} bytes.")
        if spec.body is None:
            # No body expected: nothing, or an empty JSON object (what many clients send with a POST), is fine.
            if raw.strip() and parse_json(raw) != {}:
                raise BadRequest("This route takes no body.")
            return None
        if not raw.strip():
            if spec.body_required:
                raise BadRequest("A JSON body is required.")
            return parse_model(spec.body, {})
        if not _is_json_content_type(headers):
            raise UnsupportedMediaType("Send the body as application/json.")
        return parse_model(spec.body, parse_json(raw))

    @staticmethod
    def _query(spec: RouteSpec, event: dict[str, Any]) -> Any:
        if spec.query is None:
            return None
        params = event.get("queryStringParameters") or {}
        return parse_model(spec.query, dict(params))


__all__ = ["Access", "Api", "QueryModel", "Reply", "Request", "RouteHandler", "RouteSpec"]
