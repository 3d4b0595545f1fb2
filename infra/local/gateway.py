"""A local stand-in for API Gateway (REST) that serves every ``Api`` event of the template.

Each HTTP request goes through the same steps as in AWS: size limit, route match, stage throttling,
Lambda authorizer (with its result cache), the Lambda proxy integration, and ``GatewayResponses`` for
every answer API Gateway gives itself. Handlers run in-process in the server's request threads.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.local.api_docs import ApiDocs
from infra.local.apigw_events import (
    AuthorizerConfigurationError,
    AuthorizerPolicy,
    HttpRequest,
    MalformedProxyResponse,
    RequestInfo,
    method_arn,
    parse_authorizer_answer,
    parse_proxy_response,
    proxy_event,
    request_authorizer_event,
    token_authorizer_event,
)
from infra.local.gateway_responses import GatewayAnswer, RequestFacts, render
from infra.local.invoke import Invoker
from infra.local.model import ApiDef, ApiRoute, AuthorizerDef, ThrottleDef
from infra.local.routing import RouteMatch, RouteTable
from infra.local.template import LocalTemplate

LOG = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit; the app enforces its own, smaller one.
INTEGRATION_TIMEOUT_SECONDS = 29.0
# How long a connection may sit on one read (a header line, a body, keep-alive idle) before it is answered 408 or
# dropped: a slow or silent client never holds a request thread for longer.
CLIENT_TIMEOUT_SECONDS = 30.0
EXPLICIT_DENY_MESSAGE = "User is not authorized to access this resource with an explicit deny"


@dataclass(frozen=True)
class HttpResponse:
    """What the gateway sends back."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class TokenBucket:
    """Stage throttling: ``burst`` requests at once, refilled at ``rate`` per second."""

    def __init__(self, spec: ThrottleDef, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = spec.rate_per_second
        self._burst = float(spec.burst)
        self._tokens = float(spec.burst)
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Consume one token; False means THROTTLED."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class AuthorizerCache:
    """Authorizer answers cached per identity for ``ReauthorizeEvery`` seconds, like API Gateway."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, AuthorizerPolicy]] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> AuthorizerPolicy | None:
        """A cached policy that has not expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                self._entries.pop(key, None)
                return None
            return entry[1]

    def put(self, key: tuple[str, ...], policy: AuthorizerPolicy, ttl_seconds: int) -> None:
        """Remember a policy (a TTL of 0 disables caching)."""
        if ttl_seconds > 0:
            with self._lock:
                self._entries[key] = (self._clock() + ttl_seconds, policy)


class LocalGateway:
    """Turns HTTP requests into Lambda proxy invocations of the template's functions."""

    def __init__(self, template: LocalTemplate, invoker: Invoker, clock: Callable[[], float] = time.monotonic):
        self.apis = template.apis
        self.invoker = invoker
        self.region = template.settings.region
        self.account_id = template.settings.account_id
        self.routes = RouteTable(template.routes)
        self._clock = clock
        self._buckets = {api_id: TokenBucket(api.throttle, clock) for api_id, api in self.apis.items() if api.throttle}
        self._auth_cache = AuthorizerCache(clock)
        with_routes = sorted(self.apis.values(), key=lambda a: len(a.routes), reverse=True)
        self._fallback_api: ApiDef | None = with_routes[0] if with_routes else None

    # ------------------------------------------------------------------ the pipeline

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request (never raises: failures become API Gateway's 5XX answers)."""
        started = self._clock()
        request_id = str(uuid.uuid4())
        response = self._handle(request, request_id)
        LOG.info(
            '%s "%s %s" %s %.0fms %s',
            request.source_ip,
            request.method,
            request.target,
            response.status,
            (self._clock() - started) * 1000,
            request_id,
        )
        return response

    def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        facts = self._facts(request, request_id, None, None)
        if len(request.body) > MAX_BODY_BYTES:
            return self._answer(render(self._fallback_api, "REQUEST_TOO_LARGE", facts), request_id)
        preflight = self._preflight(request) if request.method == "OPTIONS" else None
        if preflight is not None:
            return self._answer(preflight, request_id)
        match = self.routes.match(request.method, request.path)
        if match is None:
            return self._answer(render(self._fallback_api, "MISSING_AUTHENTICATION_TOKEN", facts), request_id)
        api = self.apis[match.route.api_id]
        facts = self._facts(request, request_id, api, match)
        bucket = self._buckets.get(api.logical_id)
        if bucket is not None and not bucket.take():
            return self._answer(render(api, "THROTTLED", facts), request_id)
        info = self._info(request_id, api, match)
        authorizer_context: dict[str, Any] | None = None
        if match.route.authorizer is not None:
            outcome = self._authorize(api, match.route, request, info, facts)
            if isinstance(outcome, GatewayAnswer):
                return self._answer(outcome, request_id)
            authorizer_context = outcome
        event = proxy_event(request, info, authorizer_context, api.binary_media_types)
        return self._integrate(api, match.route, event, facts, request_id)

    def _preflight(self, request: HttpRequest) -> GatewayAnswer | None:
        """What the OPTIONS method SAM generates for a path of an Api with ``Cors`` answers (a mock integration:
        200, CORS headers, body `{}`, no authorizer); None where the path's Api has no ``Cors`` or the template
        defines the path's OPTIONS method itself (SAM then leaves it alone)."""
        found = self.routes.resource_for(request.path)
        if found is None:
            return None
        routes = self.routes.routes_at(found[0])
        cors = self.apis[next(iter(routes.values())).api_id].cors
        if cors is None or "OPTIONS" in routes:
            return None
        methods = cors.allow_methods or ",".join(sorted({*_expanded(routes), "OPTIONS"}))
        headers = [("Access-Control-Allow-Origin", cors.allow_origin), ("Access-Control-Allow-Methods", methods)]
        if cors.allow_headers is not None:
            headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
        if cors.max_age is not None:
            headers.append(("Access-Control-Max-Age", cors.max_age))
        if cors.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return GatewayAnswer(200, [*headers, ("Content-Type", "application/json")], b"{}")

    def _integrate(
        self, api: ApiDef, route: ApiRoute, event: dict[str, Any], facts: RequestFacts, request_id: str
    ) -> HttpResponse:
        """Invoke the handler; its errors and malformed answers become a 502 as in AWS."""
        started = self._clock()
        try:
            answer = self.invoker.invoke(route.function_id, event)
        except Exception:
            LOG.exception("%s failed handling %s %s", route.function_id, route.method, route.path)
            return self._answer(render(api, "DEFAULT_5XX", facts, "Internal server error", 502), request_id)
        if self._clock() - started > INTEGRATION_TIMEOUT_SECONDS:
            LOG.error("%s answered after API Gateway's 29 s limit", route.function_id)
            return self._answer(render(api, "INTEGRATION_TIMEOUT", facts), request_id)
        try:
            parsed = parse_proxy_response(answer)
        except MalformedProxyResponse as exc:
            LOG.error("%s returned a malformed Lambda proxy response: %s", route.function_id, exc)
            return self._answer(render(api, "DEFAULT_5XX", facts, "Internal server error", 502), request_id)
        headers = list(parsed.headers)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return HttpResponse(parsed.status, [*headers, ("x-amzn-RequestId", request_id)], parsed.body)

    # ------------------------------------------------------------------ authorizers

    def _authorize(
        self, api: ApiDef, route: ApiRoute, request: HttpRequest, info: RequestInfo, facts: RequestFacts
    ) -> dict[str, Any] | GatewayAnswer:
        """Run the route's Lambda authorizer; an answer means the request stops here."""
        spec = api.authorizers[str(route.authorizer)]
        arn = method_arn(info, request.method, request.path)
        identity = _identity(spec, request)
        if identity is None:
            return render(api, "UNAUTHORIZED", facts)
        cache_key = (spec.name, *identity)
        # Without identity sources API Gateway cannot cache: every request calls the authorizer.
        policy = self._auth_cache.get(cache_key) if identity else None
        started = self._clock()
        if policy is None:
            if spec.payload_type == "TOKEN":
                event = token_authorizer_event(request.header(spec.identity_header) or "", arn)
            else:
                event = request_authorizer_event(request, info, arn)
            result = self._call_authorizer(api, spec, event, facts)
            if isinstance(result, GatewayAnswer):
                return result
            policy = result
            if identity:
                self._auth_cache.put(cache_key, policy, spec.ttl_seconds)
        decision = policy.decision(arn)
        if decision != "Allow":
            denied_facts = _with_authorizer(facts, {**policy.context, "principalId": policy.principal_id})
            message = EXPLICIT_DENY_MESSAGE if decision == "Deny" else None
            return render(api, "ACCESS_DENIED", denied_facts, message)
        return policy.request_context_authorizer(int((self._clock() - started) * 1000))

    def _call_authorizer(
        self, api: ApiDef, spec: AuthorizerDef, event: dict[str, Any], facts: RequestFacts
    ) -> AuthorizerPolicy | GatewayAnswer:
        """Invoke the authorizer: ``Unauthorized`` -> 401, other errors or bad answers -> 500."""
        try:
            answer = self.invoker.invoke(spec.function_id, event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return render(api, "UNAUTHORIZED", facts)
            LOG.exception("authorizer %s failed", spec.function_id)
            return render(api, "AUTHORIZER_CONFIGURATION_ERROR", facts)
        try:
            return parse_authorizer_answer(answer)
        except AuthorizerConfigurationError as exc:
            LOG.error("authorizer %s returned an unusable answer: %s", spec.function_id, exc)
            return render(api, "AUTHORIZER_CONFIGURATION_ERROR", facts)

    # ------------------------------------------------------------------ helpers

    def _info(self, request_id: str, api: ApiDef, match: RouteMatch) -> RequestInfo:
        return RequestInfo(
            request_id=request_id,
            stage=api.stage_name,
            resource_path=match.route.path,
            path_parameters=match.path_parameters,
            account_id=self.account_id,
            region=self.region,
        )

    def _facts(
        self, request: HttpRequest, request_id: str, api: ApiDef | None, match: RouteMatch | None
    ) -> RequestFacts:
        return RequestFacts(
            request_id=request_id,
            http_method=request.method,
            path=request.path,
            resource_path=match.route.path if match else "",
            stage=api.stage_name if api else (self._fallback_api.stage_name if self._fallback_api else ""),
            source_ip=request.source_ip,
            user_agent=request.header("User-Agent") or "",
            account_id=self.account_id,
            headers={k: v for k, v in request.headers},
            query=dict(request.query_pairs),
            path_parameters=match.path_parameters if match else {},
        )

    @staticmethod
    def _answer(answer: GatewayAnswer, request_id: str) -> HttpResponse:
        return HttpResponse(answer.status, [*answer.headers, ("x-amzn-RequestId", request_id)], answer.body)

    def too_large(self, request: HttpRequest) -> HttpResponse:
        """The answer for a body over the limit, given before reading it."""
        request_id = str(uuid.uuid4())
        facts = self._facts(request, request_id, None, None)
        return self._answer(render(self._fallback_api, "REQUEST_TOO_LARGE", facts), request_id)

    def protocol_error(self, request: HttpRequest, status: int, message: str) -> HttpResponse:
        """API Gateway's answer to a request it cannot read (bad framing, oversized headers, a stalled body):
        the DEFAULT_4XX gateway response, so the client still gets the envelope."""
        if status == 413:
            return self.too_large(request)
        request_id = str(uuid.uuid4())
        LOG.info('%s "%s %s" %s %s', request.source_ip, request.method, request.target, status, message)
        facts = self._facts(request, request_id, None, None)
        return self._answer(render(self._fallback_api, "DEFAULT_4XX", facts, message, status), request_id)


def _expanded(routes: dict[str, ApiRoute]) -> set[str]:
    """The methods of a resource, ANY standing for all of them (as in SAM's generated Allow-Methods)."""
    if "ANY" in routes:
        return {"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"}
    return set(routes)


def _identity(spec: AuthorizerDef, request: HttpRequest) -> tuple[str, ...] | None:
    """The identity sources of a request; None when one is missing (401 without calling the authorizer)."""
    if spec.payload_type == "TOKEN":
        token = request.header(spec.identity_header)
        if not token:
            return None
        if spec.validation_expression and not re.fullmatch(spec.validation_expression, token):
            return None
        return (token,)
    query = dict(request.query_pairs)
    values = [request.header(h) for h in spec.request_headers] + [query.get(q) for q in spec.request_query_strings]
    if any(not v for v in values):
        return None
    return tuple(str(v) for v in values)


def _with_authorizer(facts: RequestFacts, authorizer: dict[str, str]) -> RequestFacts:
    return RequestFacts(**{**facts.__dict__, "authorizer": authorizer})


# ---------------------------------------------------------------------- HTTP server


class BadFraming(Exception):
    """A request whose body cannot be delimited or read; carries the status API Gateway would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# API Gateway (REST) refuses a request line plus headers over 10 KB; the stdlib would take 100 lines of 64 KB each.
MAX_HEADER_BYTES = 10 * 1024
MAX_CHUNK_LINE = 1024  # a chunk-size line (hex size and extensions) or a trailer line
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP method is an RFC 9110 token


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one HTTP request, hands it to the gateway, writes the answer.

    Hostile HTTP gets what API Gateway gives, in the envelope, and never holds a thread: a socket timeout bounds every
    read (a slow client is answered 408 and dropped), the body is delimited only by a valid Content-Length or by
    chunked framing (both at once, a negative or non-numeric length: 400), oversized headers are 431, a body over
    10 MB is 413 before it is read, and any method (TRACE, PROPFIND, ...) is routed like the others, so one the
    template does not define is the gateway's "no route" answer, not the stdlib's HTML 501.
    """

    protocol_version = "HTTP/1.1"
    server: GatewayServer

    def setup(self) -> None:
        # StreamRequestHandler.setup() applies `timeout` to the socket; the server says how long.
        self.timeout = self.server.client_timeout_seconds  # type: ignore[misc]
        super().setup()

    def __getattr__(self, name: str) -> Any:
        # The stdlib dispatches on `do_<METHOD>` and answers 501 in HTML when it is missing: serve every method.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except TimeoutError:
            # The request line or headers never completed: nothing can be answered sensibly, drop the client.
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (bad request line, too many or too long headers, URI too long) in the
        envelope instead of its HTML page."""
        self.close_connection = True
        # An unreadable request line leaves the stdlib's HTTP/0.9 default, which writes a bare body: answer HTTP/1.1.
        self.request_version = "HTTP/1.1"
        status = 431 if code == 431 else 414 if code == 414 else 400
        head = HttpRequest(self.command or "GET", getattr(self, "path", "") or "/", [], b"", self.client_address[0])
        self._write(self.server.gateway.protocol_error(head, status, message or "Bad request"))

    def _serve(self) -> None:
        gateway = self.server.gateway
        source_ip = self.client_address[0]
        head = HttpRequest(self.command, self.path, list(self.headers.items()), b"", source_ip)
        docs = self.server.docs.answer(self.command, self.path, self._host()) if self.server.docs else None
        if docs is not None:
            self._write(HttpResponse(docs.status, [("Content-Type", docs.content_type)], docs.body))
            return
        try:
            self._check_head()
            body = self._read_body()
        except BadFraming as refused:
            self.close_connection = True
            self._write(gateway.protocol_error(head, refused.status, refused.message))
            return
        except TimeoutError:
            self.close_connection = True
            self._write(gateway.protocol_error(head, 408, "The request body did not arrive in time"))
            return
        self._write(gateway.handle(HttpRequest(self.command, self.path, head.headers, body, source_ip)))

    def _host(self) -> str:
        return self.headers.get("Host") or f"{self.server.server_address[0]!s}:{self.server.port}"

    def _check_head(self) -> None:
        if not _TOKEN.fullmatch(self.command):
            raise BadFraming(400, "Malformed request method")
        size = len(self.requestline) + sum(len(name) + len(value) + 4 for name, value in self.headers.items())
        if size > MAX_HEADER_BYTES:
            raise BadFraming(431, "Request header fields too large")

    def _read_body(self) -> bytes:
        """The request body, delimited as RFC 9112 says; BadFraming when it cannot be (a 413 left unread)."""
        encodings = [v.strip().lower() for v in ",".join(self.headers.get_all("Transfer-Encoding") or []).split(",")
                     if v.strip()]
        lengths = self.headers.get_all("Content-Length") or []
        if encodings:
            if lengths:
                raise BadFraming(400, "Both Content-Length and Transfer-Encoding")  # the request-smuggling shape
            if encodings != ["chunked"]:
                raise BadFraming(400, "Unsupported Transfer-Encoding")
            return self._read_chunked()
        if not lengths:
            return b""  # HTTP/1.1: no length and no chunking means no body
        values = {value.strip() for raw in lengths for value in raw.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise BadFraming(400, "Invalid Content-Length")
        length = int(next(iter(values)))
        if length > MAX_BODY_BYTES:
            raise BadFraming(413, "Request Too Long")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise BadFraming(400, "The body is shorter than its Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE + 1)
            if len(line) > MAX_CHUNK_LINE or not line.endswith(b"\n"):
                raise BadFraming(400, "Malformed chunk size")
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
                raise BadFraming(400, "Malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(64):  # trailer fields, bounded; they are read and dropped (API Gateway ignores them)
                    trailer = self.rfile.readline(MAX_CHUNK_LINE + 1)
                    if trailer in (b"\r\n", b"\n"):
                        return b"".join(chunks)
                    if len(trailer) > MAX_CHUNK_LINE or not trailer.endswith(b"\n"):
                        break
                raise BadFraming(400, "Malformed chunked trailer")
            total += size
            if total > MAX_BODY_BYTES:
                raise BadFraming(413, "Request Too Long")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadFraming(400, "Malformed chunk")
            chunks.append(chunk)

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return "local-api-gateway"

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("http: " + format, *args)


class GatewayServer(ThreadingHTTPServer):
    """The HTTP server; ``port=0`` picks a free port (see :attr:`port`)."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a sixth client connecting at once has its SYN dropped and retries
    # a second later (20 at once took 3 s to connect). Many clients at once is what a load test and a page do.
    request_queue_size = 128

    def __init__(self, gateway: LocalGateway, host: str = "127.0.0.1", port: int = 3000,
                 client_timeout_seconds: float = CLIENT_TIMEOUT_SECONDS, docs: ApiDocs | None = None) -> None:
        super().__init__((host, port), _RequestHandler)
        self.gateway = gateway
        self.client_timeout_seconds = client_timeout_seconds
        self.docs = docs  # the API reference at /docs (make dev); None: every path is the API's
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the local API."""
        host = self.server_address[0]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
