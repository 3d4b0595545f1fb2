"""The OpenAPI generator's rules, on small synthetic routes (the real document is checked by the drift test)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.paging import ListQuery
from tickerleague.http.validation import RequestModel, WireModel

from infra.build.openapi import Operation, SpecError, build_document, render
from infra.build.routes import TemplateRoute


class ThingIn(RequestModel):
    name: str = Field(max_length=10)


class Thing(WireModel):
    id: str
    name: str


class ThingQuery(ListQuery):
    kind: str | None = Field(default=None, description="filter by kind")


def _operation(
    method: str,
    path: str,
    access: Access,
    *,
    authorizer: str | None = "JwtAuthorizer",
    handler_name: str = "things.handle",
    **route: Any,
) -> Operation:
    api = Api()

    def endpoint(request: Request) -> Reply:
        """Does the thing."""
        return Reply(200)

    handler = api.route(method, path, access=access, summary="A thing", **route)(endpoint)
    template_route = TemplateRoute(method, path, "ThingFunction", handler_name, authorizer)
    return Operation(template_route, handler.spec, "Does the thing.")


def _codes(document: dict[str, Any], path: str, method: str, status: int) -> list[str]:
    response = document["paths"][path][method]["responses"][str(status)]
    return list(
        response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]["properties"]["code"][
            "enum"
        ]
    )


def test_user_route_with_body_and_path_parameter() -> None:
    operation = _operation(
        "POST",
        "/v1/things/{thingId}",
        Access.USER,
        body=ThingIn,
        responses={201: Thing},
        errors=("EMAIL_TAKEN", "INSUFFICIENT_CASH"),
    )
    document = build_document([operation])
    post = document["paths"]["/v1/things/{thingId}"]["post"]
    assert post["operationId"] == "things.handle"
    assert post["security"] == [{"bearerAuth": []}]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ThingIn"}
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}
    path_parameter, correlation_parameter, key_parameter = post["parameters"]
    assert path_parameter == {
        "name": "thingId",
        "in": "path",
        "required": True,
        "description": "The thingId.",
        "schema": {"type": "string", "minLength": 1},
    }
    # Every operation documents the X-Correlation-Id it accepts and answers (tickerleague/correlation.py).
    assert (correlation_parameter["name"], correlation_parameter["in"], correlation_parameter["required"]) == (
        "X-Correlation-Id", "header", False)
    assert correlation_parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 128,
                                               "pattern": "^[\\x20-\\x7E]{1,128}$"}
    assert post["responses"]["201"]["headers"]["X-Correlation-Id"] == {"$ref": "#/components/headers/XCorrelationId"}
    assert post["responses"]["500"]["headers"]["X-Correlation-Id"] == {"$ref": "#/components/headers/XCorrelationId"}
    # API Gateway's own refusals (before any handler) carry no correlation id.
    assert "X-Correlation-Id" not in post["responses"]["414"]["headers"]
    # A POST documents the Idempotency-Key header it accepts, with the bounds the middleware enforces.
    assert (key_parameter["name"], key_parameter["in"], key_parameter["required"]) == ("Idempotency-Key", "header",
                                                                                       False)
    assert key_parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 255,
                                       "pattern": "^[\\x20-\\x7E]+$"}
    assert set(post["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "414", "415", "422", "429",
                                      "431", "500", "503"}
    # A dependency's passing trouble is 503 with Retry-After; a limited route's answers carry the RateLimit headers.
    assert _codes(document, "/v1/things/{thingId}", "post", 503) == ["SERVICE_UNAVAILABLE"]
    assert "Retry-After" in post["responses"]["503"]["headers"]
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(post["responses"]["201"]["headers"])
    assert _codes(document, "/v1/things/{thingId}", "post", 401) == ["UNAUTHENTICATED"]
    assert _codes(document, "/v1/things/{thingId}", "post", 403) == ["ACCOUNT_SUSPENDED"]
    # A POST also takes an Idempotency-Key: its 409 and 422 come with it.
    assert _codes(document, "/v1/things/{thingId}", "post", 409) == ["EMAIL_TAKEN", "IDEMPOTENCY_KEY_IN_USE"]
    assert _codes(document, "/v1/things/{thingId}", "post", 422) == [
        "IDEMPOTENCY_KEY_REUSED", "INSUFFICIENT_CASH", "VALIDATION_FAILED"]
    assert "Retry-After" in post["responses"]["429"]["headers"]
    assert "title" not in document["components"]["schemas"]["ThingIn"]["properties"]["name"]


def test_public_admin_and_optional_access() -> None:
    public = _operation(
        "GET", "/v1/public", Access.PUBLIC, authorizer=None, responses={200: Thing}, handler_name="things.public"
    )
    optional = _operation(
        "GET", "/v1/optional", Access.OPTIONAL, authorizer=None, responses={200: Thing}, handler_name="things.optional"
    )
    admin = _operation("DELETE", "/v1/admin", Access.ADMIN, responses={204: None}, handler_name="things.admin")
    document = build_document([public, optional, admin])
    paths = document["paths"]
    assert paths["/v1/public"]["get"]["security"] == []
    assert "401" not in paths["/v1/public"]["get"]["responses"]
    assert "422" not in paths["/v1/public"]["get"]["responses"]
    assert paths["/v1/optional"]["get"]["security"] == [{}, {"bearerAuth": []}]
    assert "401" in paths["/v1/optional"]["get"]["responses"]
    assert _codes(document, "/v1/admin", "delete", 403) == ["ACCOUNT_SUSPENDED", "FORBIDDEN"]
    assert "content" not in paths["/v1/admin"]["delete"]["responses"]["204"]
    # A GET takes no Idempotency-Key.
    assert [p["name"] for p in paths["/v1/public"]["get"]["parameters"]] == ["X-Correlation-Id"]


def test_unlimited_routes_document_no_rate_limit_headers() -> None:
    health = _operation("GET", "/v1/health", Access.PUBLIC, authorizer=None, responses={200: Thing, 503: Thing},
                        handler_name="things.health")
    webhook = _operation("POST", "/v1/webhooks/things", Access.PUBLIC, authorizer=None, responses={200: Thing},
                         handler_name="things.webhook")
    document = build_document([health, webhook])
    answers = document["paths"]["/v1/health"]["get"]["responses"]
    assert "RateLimit-Limit" not in answers["200"]["headers"]
    assert "content" in answers["503"] and answers["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"}  # its own 503 (a failing check), not the error envelope
    webhook_parameters = document["paths"]["/v1/webhooks/things"]["post"]["parameters"]
    assert [p["name"] for p in webhook_parameters] == ["X-Correlation-Id"]  # webhooks take no Idempotency-Key


def test_query_model_becomes_parameters() -> None:
    operation = _operation("GET", "/v1/things", Access.USER, query=ThingQuery, responses={200: Thing})
    document = build_document([operation])
    parameters = {p["name"]: p for p in document["paths"]["/v1/things"]["get"]["parameters"]}
    assert parameters["limit"] == {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    }
    assert parameters["kind"]["schema"] == {"type": "string"}  # `| None` is absence, not JSON null, on a query
    assert parameters["kind"]["description"] == "filter by kind"
    assert _codes(document, "/v1/things", "get", 400) == ["BAD_REQUEST", "INVALID_CURSOR"]
    assert _codes(document, "/v1/things", "get", 422) == ["VALIDATION_FAILED"]


def test_unknown_error_code_is_refused() -> None:
    operation = _operation("GET", "/v1/things", Access.USER, responses={200: Thing}, errors=("NO_SUCH_CODE",))
    with pytest.raises(SpecError, match="NO_SUCH_CODE"):
        build_document([operation])


def test_success_status_clashing_with_an_error_status_is_refused() -> None:
    operation = _operation("GET", "/v1/things", Access.USER, responses={200: Thing, 401: Thing})
    with pytest.raises(SpecError, match="401"):
        build_document([operation])


def test_rendering_is_deterministic() -> None:
    a = _operation("GET", "/v1/a", Access.USER, responses={200: Thing}, handler_name="things.a")
    b = _operation("GET", "/v1/b", Access.USER, responses={200: Thing}, handler_name="things.b")
    first, second = render(build_document([b, a])), render(build_document([a, b]))
    assert first == second
    assert first.endswith("}\n")


def test_operation_ids_are_unique() -> None:
    a = _operation("GET", "/v1/a", Access.USER, responses={200: Thing})
    b = _operation("GET", "/v1/b", Access.USER, responses={200: Thing})
    with pytest.raises(SpecError, match="operationId"):
        build_document([a, b])
