"""Rendering of GatewayResponses."""

from __future__ import annotations

import json

from infra.local.gateway_responses import RequestFacts, render
from infra.local.model import ApiDef, GatewayResponseDef

FACTS = RequestFacts(
    request_id="rid-9",
    http_method="GET",
    path="/v1/me",
    resource_path="/v1/me",
    stage="v1-stage",
    headers={"Origin": "http://localhost:5173"},
    authorizer={"errorCode": "SUSPENDED", "errorMessage": 'Account "x"\nis suspended'},
)

DENIED_TEMPLATE = (
    '{"code": "$context.authorizer.errorCode", "m": "${context.authorizer.errorMessage}", "r": "$context.requestId"}'
)


def api(**responses: GatewayResponseDef) -> ApiDef:
    return ApiDef("Api", "v1-stage", None, {}, responses, (), None, ())


def test_configured_response_with_status_headers_and_template() -> None:
    answer = render(
        api(
            ACCESS_DENIED=GatewayResponseDef(
                403,
                {
                    "Content-Type": "'application/json'",
                    "Access-Control-Allow-Origin": "method.request.header.origin",
                    "X-Request": "context.requestId",
                    "X-Missing": "method.request.header.nothing",
                },
                {"application/json": DENIED_TEMPLATE},
            )
        ),
        "ACCESS_DENIED",
        FACTS,
    )
    assert answer.status == 403
    assert json.loads(answer.body) == {"code": "SUSPENDED", "m": 'Account "x"\nis suspended', "r": "rid-9"}
    headers = dict(answer.headers)
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert headers["X-Request"] == "rid-9"
    assert "X-Missing" not in headers
    assert headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_default_4xx_applies_to_unconfigured_4xx_types() -> None:
    default = GatewayResponseDef(
        None, {}, {"application/json": '{"m": "$context.error.message", "t": "$context.error.responseType"}'}
    )
    answer = render(api(DEFAULT_4XX=default), "MISSING_AUTHENTICATION_TOKEN", FACTS)
    assert answer.status == 403
    assert json.loads(answer.body) == {"m": "Missing Authentication Token", "t": "MISSING_AUTHENTICATION_TOKEN"}


def test_default_5xx_keeps_the_actual_status_unless_configured() -> None:
    default = GatewayResponseDef(None, {}, {"application/json": '{"m": "$context.error.message"}'})
    answer = render(api(DEFAULT_5XX=default), "DEFAULT_5XX", FACTS, "Internal server error", 502)
    assert (answer.status, json.loads(answer.body)) == (502, {"m": "Internal server error"})
    forced = render(api(DEFAULT_5XX=GatewayResponseDef(500, {}, {})), "DEFAULT_5XX", FACTS, status=502)
    assert forced.status == 500


def test_builtin_answers_without_configuration() -> None:
    answer = render(None, "UNAUTHORIZED", FACTS)
    assert (answer.status, json.loads(answer.body)) == (401, {"message": "Unauthorized"})
    assert dict(answer.headers)["Content-Type"] == "application/json"
    failure = render(None, "AUTHORIZER_CONFIGURATION_ERROR", FACTS)
    assert (failure.status, json.loads(failure.body)) == (500, {"message": None})


def test_specific_type_wins_over_default() -> None:
    answer = render(
        api(
            THROTTLED=GatewayResponseDef(429, {"Retry-After": "'1'"}, {"application/json": '{"code": "RATE_LIMITED"}'}),
            DEFAULT_4XX=GatewayResponseDef(400, {}, {"application/json": '{"code": "BAD"}'}),
        ),
        "THROTTLED",
        FACTS,
    )
    assert (answer.status, json.loads(answer.body), dict(answer.headers)["Retry-After"]) == (
        429,
        {"code": "RATE_LIMITED"},
        "1",
    )
