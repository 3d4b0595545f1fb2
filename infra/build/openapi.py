"""Generate `api-specification.json` (OpenAPI 3.1) from the code, and check that the committed one is current.

    python -m infra.build.openapi --write     # (make spec) regenerate the file
    python -m infra.build.openapi --check     # exit 1 when the committed file differs from a fresh generation

For every `Api` route of template.yaml the handler it names is imported and its `.spec` (a `RouteSpec`) describes the
operation: summary, tags, access, body, query and response models, and the contract error codes it may answer.
The document is built only here, never at handler import time (that would cost every cold start).

Error answers: every route may answer 400 BAD_REQUEST, 413 PAYLOAD_TOO_LARGE, 414/431 BAD_REQUEST (gateway size
limits), 429 RATE_LIMITED (stage throttling), 500 INTERNAL and 503 SERVICE_UNAVAILABLE (a throttled or unreachable
dependency, with Retry-After); a body adds 415 and 422 VALIDATION_FAILED, a query
adds 422 (and 400 INVALID_CURSOR when it takes a cursor), path parameters add 404 NOT_FOUND; routes behind the
authorizer add 401 UNAUTHENTICATED and 403 ACCOUNT_SUSPENDED, admin routes 403 FORBIDDEN; POST, PATCH and DELETE
(but webhooks) 409 IDEMPOTENCY_KEY_IN_USE and 422 IDEMPOTENCY_KEY_REUSED / VALIDATION_FAILED (the Idempotency-Key
header, documented as a parameter); then the route's own `errors`. Every answer of a rate-limited route documents
the RateLimit-* headers. Each error response references the one `Error` envelope and narrows
`error.code` to the codes that status can carry on that route.

Output is deterministic (sorted keys, two-space indent, trailing newline), so the drift check is an exact comparison.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import inspect
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from tickerleague import correlation
from tickerleague.errors import DomainError
from tickerleague.http import idempotency, rate_limit
from tickerleague.http.api import RouteHandler, RouteSpec
from tickerleague.http.principal import Access
from tickerleague.http.statuses import STATUS_BY_CODE, status_of_code

from infra.build.routes import ROOT, TemplateRoute, api_routes, import_handler, template

SPEC_PATH = ROOT / "api-specification.json"
OPENAPI_VERSION = "3.1.0"
SCHEMAS = "#/components/schemas/"
REF_TEMPLATE = SCHEMAS + "{model}"
JSON = "application/json"
REGENERATE = "make spec"

# The contract names the path parameter `{contestIdOrSlug}` on these routes; API Gateway forbids different variable
# names among sibling resources, so every contest route uses `{contestId}` and these accept a slug there too.
SLUG_ROUTES = frozenset({("GET", "/v1/contests/{contestId}"), ("GET", "/v1/contests/{contestId}/leaderboard")})

PATH_PARAMETER_DOCS = {
    "contestId": "The contest's id.",
    "orderId": "The order's id.",
    "entryId": "The entry's id.",
    "userId": "The user's id.",
    "symbol": "A ticker symbol, e.g. `AAPL` or `BRK.B`.",
}
SLUG_DOC = "The contest's id, or its slug (e.g. `spring-classic-2027`): this route accepts either."

ACCESS_DOCS = {
    Access.PUBLIC: "Access: public; no token is needed or looked at.",
    Access.OPTIONAL: "Access: public; a bearer token is optional and, when valid, may show more "
                     "(e.g. a private contest to its entrants and to admins). An invalid token is refused with 401.",
    Access.USER: "Access: any signed-in, active user.",
    Access.ADMIN: "Access: administrators only.",
}

SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    Access.PUBLIC: [],
    Access.OPTIONAL: [{}, {"bearerAuth": []}],
    Access.USER: [{"bearerAuth": []}],
    Access.ADMIN: [{"bearerAuth": []}],
}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "The one error envelope of every route (API Gateway's own answers included).",
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "message", "requestId"],
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$",
                         "description": "A contract code (UPPER_SNAKE_CASE); clients branch on it."},
                "message": {"type": "string", "description": "A human sentence; never a stack trace."},
                "details": {"type": "object", "description": "Optional; `fields` for VALIDATION_FAILED "
                            "({field path: message}), `retryAfterSeconds` for 429."},
                "requestId": {"type": "string", "description": "Equals the X-Request-Id header."},
            },
        }
    },
}

def _whole_number_header(description: str) -> dict[str, Any]:
    """A response header whose value is a whole number (seconds or a count)."""
    return {"description": description, "schema": {"type": "string", "pattern": "^[0-9]+$"}}


HEADERS: dict[str, Any] = {
    "XRequestId": {
        "description": "The request's id; equals `error.requestId` in an error envelope. Answers produced by API "
                       "Gateway itself (no route, authorizer denial, throttling) carry it as `x-amzn-RequestId`.",
        "schema": {"type": "string"},
    },
    "XCorrelationId": {
        "description": "The correlation id of everything this request caused (its log lines, events, queue messages "
                       "and workflows carry it as `correlation_id`): the request's valid `X-Correlation-Id` header, "
                       "else the request id.",
        "schema": {"type": "string", "minLength": 1, "maxLength": correlation.MAX_LENGTH,
                   "pattern": correlation.PATTERN},
    },
    "RetryAfter": _whole_number_header("Seconds to wait before trying again."),
    "RateLimitLimit": _whole_number_header("The caller's bucket size (burst) on this route."),
    "RateLimitRemaining": _whole_number_header("Requests the bucket still admits right now."),
    "RateLimitReset": _whole_number_header("Seconds until the bucket is full again."),
}
RATE_LIMIT_HEADER_REFS = {name: {"$ref": "#/components/headers/" + name.replace("-", "")}
                          for name in rate_limit.RATE_LIMIT_HEADERS}

CORRELATION_ID_PARAMETER: dict[str, Any] = {
    "name": correlation.HEADER, "in": "header", "required": False,
    "description": "Your id for this request, to find it in our logs: the answer carries it back in "
                   "`X-Correlation-Id`, and everything the request causes is logged under it. Printable ASCII, "
                   "1-128 characters; any other value is ignored (the request id is used instead).",
    "schema": {"type": "string", "minLength": 1, "maxLength": correlation.MAX_LENGTH, "pattern": correlation.PATTERN},
}

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": idempotency.HEADER, "in": "header", "required": False,
    "description": "Makes a retry safe: the same key with the same body within 24 hours answers the first answer "
                   "again (with `Idempotent-Replayed: true`) instead of acting twice; scoped to the caller (the "
                   "source IP without a token). Another body: 422 IDEMPOTENCY_KEY_REUSED; the first still "
                   "running: 409 IDEMPOTENCY_KEY_IN_USE. 5xx answers are not kept.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH,
               "pattern": "^[\\x20-\\x7E]+$"},
}

DESCRIPTION = """\
Fantasy stock-trading contests. Generated from the code (`make spec`); do not edit by hand.

Conventions: JSON in and out with camelCase fields; money, prices and quantities are decimal strings, never JSON
numbers; timestamps are ISO 8601 UTC with a `Z`; ids are opaque strings. Lists take `?limit=` (1-100, default 20)
and an opaque, tamper-evident `?cursor=` and answer `{items, nextCursor}`. Every error has one envelope,
`{"error": {"code", "message", "details"?, "requestId"}}`; each error response below lists the codes it may carry.
Routes marked with `bearerAuth` need `Authorization: Bearer <accessToken>`.
"""


class SpecError(Exception):
    """The code and the template cannot be turned into a truthful document."""


@dataclass(frozen=True)
class Operation:
    route: TemplateRoute
    spec: RouteSpec
    doc: str | None


# ---------------------------------------------------------------------------------------------------- handlers
def load_operation(route: TemplateRoute) -> Operation:
    try:
        handler = import_handler(route.handler)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"{route.label}: handler {route.handler} cannot be imported: {exc}") from exc
    if not isinstance(handler, RouteHandler):
        raise SpecError(f"{route.label}: {route.handler} is not a RouteHandler (decorate it with `api.route`)")
    spec = handler.spec
    if (spec.method, spec.path) != route.key:
        raise SpecError(f"{route.label}: {route.handler} is declared for {spec.method} {spec.path}")
    return Operation(route, spec, inspect.cleandoc(handler.__doc__) if handler.__doc__ else None)


def load_operations(*, partial: bool = False) -> list[Operation]:
    """Every template route with its handler; all problems are reported at once (or skipped when `partial`)."""
    operations: list[Operation] = []
    problems: list[str] = []
    for route in api_routes():
        try:
            operations.append(load_operation(route))
        except SpecError as error:
            problems.append(str(error))
    if problems and not partial:
        raise SpecError("\n".join(problems))
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    return operations


# ---------------------------------------------------------------------------------------------------- error codes
def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def code_statuses() -> dict[str, int]:
    """Every known contract code and its HTTP status: the edge's table, plus any error class's own code."""
    statuses = dict(STATUS_BY_CODE)
    classes: list[type[DomainError]] = [DomainError, *_subclasses(DomainError)]
    for cls in classes:
        statuses.setdefault(cls.code, status_of_code(cls.code, cls))
    return statuses


GATEWAY_SIZE_REFUSALS = (414, 431)


def path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}+]+)\+?\}", path)


def error_codes(operation: Operation, query_fields: Iterable[str], statuses: dict[str, int]) -> dict[int, list[str]]:
    """Status -> sorted codes that this operation may answer with."""
    spec = operation.spec
    codes = ["BAD_REQUEST", "PAYLOAD_TOO_LARGE", "RATE_LIMITED", "INTERNAL"]
    if 503 not in spec.responses:  # a throttled or unreachable dependency (tickerleague.http.unavailable)
        codes.append("SERVICE_UNAVAILABLE")
    if "cursor" in query_fields:
        codes.append("INVALID_CURSOR")
    if spec.body is not None:
        codes += ["UNSUPPORTED_MEDIA_TYPE", "VALIDATION_FAILED"]
    if spec.query is not None:
        codes.append("VALIDATION_FAILED")
    if path_parameters(spec.path):
        codes.append("NOT_FOUND")
    if spec.access is not Access.PUBLIC:
        codes += ["UNAUTHENTICATED", "ACCOUNT_SUSPENDED"]
    if spec.access is Access.ADMIN:
        codes.append("FORBIDDEN")
    if idempotency.applies(spec.method, spec.path):  # the Idempotency-Key header (tickerleague.http.idempotency)
        codes += ["VALIDATION_FAILED", "IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE"]
    codes += spec.errors
    by_status: dict[int, set[str]] = {}
    for code in codes:
        if code not in statuses:
            raise SpecError(f"{operation.route.label}: unknown error code {code} (add it to tickerleague.errors "
                            "and to STATUS_BY_CODE in tickerleague/http/statuses.py)")
        by_status.setdefault(statuses[code], set()).add(code)
    return {status: sorted(found) for status, found in by_status.items()}


# ---------------------------------------------------------------------------------------------------- schemas
def _strip_property_titles(schema: Any) -> Any:
    """Pydantic titles every property after its name ("Startsat"); the name already says it."""
    if isinstance(schema, dict):
        cleaned = {key: _strip_property_titles(value) for key, value in schema.items()}
        properties = cleaned.get("properties")
        if isinstance(properties, dict):
            cleaned["properties"] = {
                name: {k: v for k, v in prop.items() if k != "title"} if isinstance(prop, dict) else prop
                for name, prop in properties.items()
            }
        return cleaned
    if isinstance(schema, list):
        return [_strip_property_titles(item) for item in schema]
    return schema


class Components:
    """`components/schemas`, filled from pydantic models with one shared naming (collisions are refused)."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
        self._refs: dict[tuple[type[BaseModel], str], dict[str, Any]] = {}

    def add_models(self, pairs: Iterable[tuple[type[BaseModel], str]]) -> None:
        unique = sorted(set(pairs), key=lambda pair: (pair[0].__module__, pair[0].__qualname__, pair[1]))
        if not unique:
            return
        refs, definitions = models_json_schema(unique, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
        self._refs.update(refs)  # type: ignore[arg-type]
        self.hoist(definitions.get("$defs", {}), "models")

    def hoist(self, definitions: dict[str, Any], origin: str) -> None:
        for name, schema in definitions.items():
            cleaned = _strip_property_titles(schema)
            if self.schemas.setdefault(name, cleaned) != cleaned:
                raise SpecError(f"two different schemas are named {name} ({origin}); rename one of the models")

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        return dict(self._refs[(model, mode)])


def _drop_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is a string or absent, never JSON null: `X | None` becomes `X`."""
    result = dict(schema)
    variants = result.pop("anyOf", None)
    if variants is not None:
        kept = [variant for variant in variants if variant != {"type": "null"}]
        result.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
    if "default" in result and result["default"] is None:
        del result["default"]
    return result


def query_parameters(model: type[BaseModel], components: Components) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation", ref_template=REF_TEMPLATE)
    components.hoist(schema.get("$defs", {}), f"query model {model.__name__}")
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop_schema = _drop_null({k: v for k, v in prop.items() if k not in ("title", "description")})
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                     "schema": prop_schema}
        if prop.get("description"):
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters


def query_fields(spec: RouteSpec) -> list[str]:
    return list(spec.query.model_fields) if spec.query is not None else []


# ---------------------------------------------------------------------------------------------------- operations
def _path_parameter(operation: Operation, name: str) -> dict[str, Any]:
    slug = operation.route.key in SLUG_ROUTES and name == "contestId"
    return {
        "name": name, "in": "path", "required": True,
        "description": SLUG_DOC if slug else PATH_PARAMETER_DOCS.get(name, f"The {name}."),
        "schema": {"type": "string", "minLength": 1},
    }


def _headers(status: int, limited: bool, handler: bool = True) -> dict[str, Any]:
    """The headers of an answer; `handler` False for API Gateway's own answers (no correlation id there)."""
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}}
    if handler:
        headers[correlation.HEADER] = {"$ref": "#/components/headers/XCorrelationId"}
    if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    if limited:  # every answer of a limited route (those refused before the bucket is reached have them not)
        headers.update(RATE_LIMIT_HEADER_REFS)
    return headers


def _success_response(status: int, model: type[BaseModel] | None, components: Components,
                      limited: bool) -> dict[str, Any]:
    response: dict[str, Any] = {"description": HTTPStatus(status).phrase, "headers": _headers(status, limited)}
    if model is not None:
        response["content"] = {JSON: {"schema": components.ref(model, "serialization")}}
    return response


def _error_response(status: int, codes: list[str], limited: bool = False, handler: bool = True) -> dict[str, Any]:
    listed = ", ".join(f"`{code}`" for code in codes)
    narrowed = {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"enum": codes}}}}}
    return {
        "description": f"{HTTPStatus(status).phrase}. Codes: {listed}.",
        "headers": _headers(status, limited, handler),
        "content": {JSON: {"schema": {"allOf": [{"$ref": SCHEMAS + "Error"}, narrowed]}}},
    }


def _responses(operation: Operation, components: Components, statuses: dict[str, int]) -> dict[str, Any]:
    spec = operation.spec
    limited = rate_limit.is_limited(spec.path)
    responses = {str(status): _success_response(status, model, components, limited)
                 for status, model in spec.responses.items()}
    for status, codes in error_codes(operation, query_fields(spec), statuses).items():
        if str(status) in responses:
            raise SpecError(f"{operation.route.label}: status {status} is both an answer and an error ({codes})")
        responses[str(status)] = _error_response(status, codes, limited)
    # API Gateway refuses a request line plus headers over 10 KB before any handler runs (the local gateway too):
    # 414 for the line, 431 for the headers, both in the DEFAULT_4XX envelope.
    for status in GATEWAY_SIZE_REFUSALS:
        responses.setdefault(str(status), _error_response(status, ["BAD_REQUEST"], handler=False))
    return dict(sorted(responses.items()))


def _description(operation: Operation) -> str:
    parts = [operation.doc] if operation.doc else []
    parts.append(ACCESS_DOCS[operation.spec.access])
    return "\n\n".join(parts)


def build_operation(operation: Operation, components: Components, statuses: dict[str, int]) -> dict[str, Any]:
    spec = operation.spec
    parameters = [_path_parameter(operation, name) for name in path_parameters(spec.path)]
    if spec.query is not None:
        parameters += query_parameters(spec.query, components)
    parameters.append(copy.deepcopy(CORRELATION_ID_PARAMETER))
    if idempotency.applies(spec.method, spec.path):
        parameters.append(copy.deepcopy(IDEMPOTENCY_KEY_PARAMETER))
    document: dict[str, Any] = {
        "operationId": operation.route.handler,
        "summary": spec.summary,
        "description": _description(operation),
        "tags": list(spec.tags),
        "security": copy.deepcopy(SECURITY[spec.access]),
        "x-access": spec.access.value,
        "responses": _responses(operation, components, statuses),
    }
    if parameters:
        document["parameters"] = parameters
    if spec.body is not None:
        document["requestBody"] = {
            "required": spec.body_required,
            "content": {JSON: {"schema": components.ref(spec.body, "validation")}},
        }
    return document


# ---------------------------------------------------------------------------------------------------- document
def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _servers() -> list[dict[str, Any]]:
    stages = sorted({api.stage_name for api in template().apis.values() if api.routes})
    servers: list[dict[str, Any]] = [{"url": "http://127.0.0.1:3000", "description": "The local stack (`make dev`)."}]
    servers += [
        {
            "url": "https://{apiId}.execute-api.{region}.amazonaws.com/" + stage,
            "description": "A deployed stack (the `ApiUrl` output).",
            "variables": {"apiId": {"default": "example"}, "region": {"default": "us-east-1"}},
        }
        for stage in stages
    ]
    return servers


def _model_pairs(operations: Iterable[Operation]) -> Iterator[tuple[type[BaseModel], str]]:
    for operation in operations:
        if operation.spec.body is not None:
            yield operation.spec.body, "validation"
        for model in operation.spec.responses.values():
            if model is not None:
                yield model, "serialization"


def build_document(operations: list[Operation]) -> dict[str, Any]:
    statuses = code_statuses()
    components = Components()
    components.add_models(_model_pairs(operations))
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for operation in operations:
        if operation.route.handler in operation_ids:
            raise SpecError(f"{operation.route.label}: operationId {operation.route.handler} is used twice")
        operation_ids.add(operation.route.handler)
        paths.setdefault(operation.spec.path, {})[operation.spec.method.lower()] = build_operation(
            operation, components, statuses
        )
    add_links(paths, components.schemas)
    tags = sorted({tag for operation in operations for tag in operation.spec.tags})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Ticker League API", "version": _version(), "description": DESCRIPTION},
        "servers": _servers(),
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "headers": HEADERS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "The `accessToken` from signup, login or refresh (valid 15 minutes).",
                }
            },
        },
    }


# A caller who creates a resource may act on it with operations of its own access level, or open to anyone.
_LINKABLE_ACCESS = {"admin": {"admin", "optional", "public"}, "user": {"user", "optional", "public"}}
_PATH_PARAMETER = re.compile(r"^\{(\w+)\}$")


def add_links(paths: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> None:
    """OpenAPI links from each operation that creates a resource (a POST to a collection whose 201 answer carries
    the new resource's `id`) to the operations on that resource (`<collection>/{param}` and its fixed sub-paths)
    that the same caller may call: `contests.create` -> get, update, publish, cancel, the leaderboard;
    `orders.place` -> `orders.get`, `orders.cancel`. The new id fills the resource's parameter and every other path
    parameter is the creating request's own, so a stateful fuzzer (schemathesis) follows create -> use."""
    for collection, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        ref = ((created or {}).get("content", {}).get(JSON, {}).get("schema") or {}).get("$ref", "")
        if not ref or "id" not in schemas.get(ref.removeprefix(SCHEMAS), {}).get("required", []):
            continue
        allowed = _LINKABLE_ACCESS.get(str(operations["post"].get("x-access")), set())
        links: dict[str, Any] = {}
        for path, targets in sorted(paths.items()):
            rest = path.removeprefix(collection + "/").split("/") if path.startswith(collection + "/") else []
            found = _PATH_PARAMETER.match(rest[0]) if rest else None
            if found is None or any("{" in segment for segment in rest[1:]):
                continue
            parameters = {name: f"$request.path.{name}" for name in path_parameters(collection)}
            parameters[found.group(1)] = "$response.body#/id"
            for _, target in sorted(targets.items()):
                if target.get("x-access") in allowed:
                    links[target["operationId"]] = {"operationId": target["operationId"], "parameters": parameters}
        if links:
            created["links"] = links


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(*, partial: bool = False) -> str:
    """The document, as the text that `--write` stores."""
    return render(build_document(load_operations(partial=partial)))


def stale_diff(current: str, fresh: str, limit: int = 80) -> str:
    lines = list(difflib.unified_diff(current.splitlines(), fresh.splitlines(), "committed", "generated", lineterm=""))
    more = f"\n... {len(lines) - limit} more diff lines" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


# ---------------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"write {SPEC_PATH.name}")
    action.add_argument("--check", action="store_true", help=f"fail when {SPEC_PATH.name} is stale")
    parser.add_argument("--partial", action="store_true",
                        help="skip routes whose handler is missing (while they are being written; never in CI)")
    args = parser.parse_args(argv)
    try:
        fresh = generate(partial=args.partial)
    except SpecError as error:
        print(f"cannot generate {SPEC_PATH.name}:\n{error}", file=sys.stderr)
        return 2
    if args.write:
        SPEC_PATH.write_text(fresh, encoding="utf-8")
        print(f"wrote {SPEC_PATH.relative_to(ROOT)}", file=sys.stderr)
        return 0
    if args.check:
        current = SPEC_PATH.read_text(encoding="utf-8") if SPEC_PATH.exists() else ""
        if current != fresh:
            print(f"{SPEC_PATH.name} is stale; regenerate it with `{REGENERATE}`.\n{stale_diff(current, fresh)}",
                  file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
