"""API Gateway <-> Lambda payloads: proxy events, authorizer events and answers, proxy responses."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from infra.local.apigw_events import (
    AuthorizerConfigurationError,
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

INFO = RequestInfo(
    request_id="rid-1",
    stage="v1-stage",
    resource_path="/v1/contests/{contestId}",
    path_parameters={"contestId": "c1"},
    received_at=1_700_000_000.5,
)


def request(**overrides: Any) -> HttpRequest:
    values: dict[str, Any] = {
        "method": "GET",
        "target": "/v1/contests/c1?a=1&a=2&b=x%20y&empty=",
        "headers": [("Host", "localhost"), ("X-Multi", "1"), ("X-Multi", "2"), ("User-Agent", "pytest")],
        "body": b"",
        "source_ip": "127.0.0.9",
    }
    values.update(overrides)
    return HttpRequest(**values)


def test_proxy_event_has_the_rest_v1_shape() -> None:
    event = proxy_event(request(), INFO, {"userId": "u1", "principalId": "u1"})
    assert set(event) == {
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    assert event["resource"] == "/v1/contests/{contestId}"
    assert event["path"] == "/v1/contests/c1"
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["queryStringParameters"] == {"a": "2", "b": "x y", "empty": ""}
    assert event["multiValueQueryStringParameters"]["a"] == ["1", "2"]
    assert event["pathParameters"] == {"contestId": "c1"}
    assert event["stageVariables"] is None
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    context = event["requestContext"]
    assert context["requestId"] == "rid-1"
    assert context["stage"] == "v1-stage"
    assert context["resourcePath"] == "/v1/contests/{contestId}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/v1-stage/v1/contests/c1"
    assert context["requestTimeEpoch"] == 1_700_000_000_500
    assert context["identity"]["sourceIp"] == "127.0.0.9"
    assert context["identity"]["userAgent"] == "pytest"
    assert context["authorizer"] == {"userId": "u1", "principalId": "u1"}


def test_proxy_event_without_query_params_or_authorizer() -> None:
    event = proxy_event(request(target="/v1/contests/c1"), INFO, None)
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert "authorizer" not in event["requestContext"]


def test_bodies_text_or_base64() -> None:
    text = proxy_event(request(method="POST", body='{"a": "é"}'.encode()), INFO, None)
    assert (text["body"], text["isBase64Encoded"]) == ('{"a": "é"}', False)
    raw = bytes([0xFF, 0x00, 0x10])
    binary = proxy_event(request(method="POST", body=raw), INFO, None)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw
    image = request(method="POST", body=b"png", headers=[("Content-Type", "image/png")])
    assert proxy_event(image, INFO, None, ("image/*",))["isBase64Encoded"] is True


def test_authorizer_events() -> None:
    arn = method_arn(INFO, "GET", "/v1/me")
    assert arn == "arn:aws:execute-api:us-east-1:123456789012:local/v1-stage/GET/v1/me"
    assert token_authorizer_event("Bearer t", arn) == {
        "type": "TOKEN",
        "authorizationToken": "Bearer t",
        "methodArn": arn,
    }
    event = request_authorizer_event(request(), INFO, arn)
    assert (event["type"], event["methodArn"], event["pathParameters"]) == ("REQUEST", arn, {"contestId": "c1"})


def allow(resource: Any, context: Any = None, effect: str = "Allow") -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    answer: dict[str, Any] = {
        "principalId": "p1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }
    if context is not None:
        answer["context"] = context
    return answer


ARN = "arn:aws:execute-api:us-east-1:123456789012:local/v1-stage/GET/v1/me"


@pytest.mark.parametrize(
    ("answer", "decision"),
    [
        (allow(ARN), "Allow"),
        (allow("arn:aws:execute-api:*:*:*/*/*/*"), "Allow"),
        (allow("arn:aws:execute-api:us-east-1:123456789012:local/v1-stage/GET/v1/m?"), "Allow"),
        (allow([ARN.replace("GET", "POST")]), "ImplicitDeny"),
        (allow(ARN, effect="Deny"), "Deny"),
    ],
)
def test_policy_decisions(answer: dict[str, Any], decision: str) -> None:
    assert parse_authorizer_answer(answer).decision(ARN) == decision


def test_explicit_deny_wins_over_allow() -> None:
    answer = allow("*")
    answer["policyDocument"]["Statement"].append({"Action": "execute-api:*", "Effect": "Deny", "Resource": ARN})
    assert parse_authorizer_answer(answer).decision(ARN) == "Deny"


def test_context_values_become_strings_in_the_request_context() -> None:
    policy = parse_authorizer_answer(allow("*", {"userId": "u1", "admin": True, "n": 3, "ratio": 1.5}))
    assert policy.request_context_authorizer(7) == {
        "userId": "u1",
        "admin": "true",
        "n": "3",
        "ratio": "1.5",
        "principalId": "p1",
        "integrationLatency": 7,
    }


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "Allow",
        {"principalId": "p"},
        {"policyDocument": {"Statement": []}},
        allow("*", {"nested": {"a": 1}}),
        allow("*", ["not", "a", "map"]),
    ],
)
def test_unusable_authorizer_answers(answer: Any) -> None:
    with pytest.raises(AuthorizerConfigurationError):
        parse_authorizer_answer(answer)


def test_proxy_response_merges_headers_and_decodes_base64() -> None:
    parsed = parse_proxy_response(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "Set-Cookie": "a=1", "X-Num": 5},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert parsed.status == 201
    assert parsed.headers == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1"), ("X-Num", "5")]
    assert parsed.body == b"\x00\x01"


def test_minimal_proxy_response() -> None:
    parsed = parse_proxy_response({"statusCode": "204"})
    assert (parsed.status, parsed.headers, parsed.body) == (204, [], b"")


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "ok",
        {"body": "x"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "extra": 1},
        {"statusCode": "abc"},
        {"statusCode": 700},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "multiValueHeaders": {"a": "b"}},
        {"statusCode": 200, "headers": {"a": {"b": 1}}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_malformed_proxy_responses(answer: Any) -> None:
    with pytest.raises(MalformedProxyResponse):
        parse_proxy_response(answer)
