"""The local gateway over real HTTP, with the fixture template and fixture handlers (authorizer included)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import requests

from infra.local.gateway import GatewayServer, LocalGateway
from infra.local.invoke import Invoker
from infra.local.template import load_template
from tests.support.local_stack import TEMPLATE, handler_log


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    template = load_template(TEMPLATE, parameters_file=None)
    server = GatewayServer(LocalGateway(template, Invoker(template.functions)), "127.0.0.1", 0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def log() -> object:
    module = handler_log()
    module.reset()
    return module


def body(response: requests.Response) -> dict:
    return json.loads(response.content)


def test_public_route_gets_a_real_proxy_event(base_url: str, log: object) -> None:
    response = requests.get(f"{base_url}/items/i-1?q=a&q=b", headers={"X-Trace": "t"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["X-Greeting"] == ""  # env is the stack's job, not the gateway's
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    event = body(response)["event"]
    assert event["resource"] == "/items/{itemId}"
    assert event["pathParameters"] == {"itemId": "i-1"}
    assert event["multiValueQueryStringParameters"] == {"q": ["a", "b"]}
    assert event["headers"]["X-Trace"] == "t"
    assert event["requestContext"]["requestId"] == response.headers["x-amzn-RequestId"]
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert "authorizer" not in event["requestContext"]
    context = body(response)["context"]
    assert context["function_name"] == "EchoFunction"
    assert context["memory_limit_in_mb"] == 256
    assert 0 < context["remaining_ms"] <= 5000


def test_static_route_wins_over_parameter(base_url: str) -> None:
    response = requests.get(f"{base_url}/items/special", timeout=5)
    assert body(response)["event"]["resource"] == "/items/special"


def test_authorizer_allow_passes_context_as_strings(base_url: str, log: object) -> None:
    response = requests.post(
        f"{base_url}/items", data=b'{"a": 1}', headers={"Authorization": "Bearer allow"}, timeout=5
    )
    assert response.status_code == 200
    event = body(response)["event"]
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["userId"] == "user-1"
    assert authorizer["admin"] == "true"
    assert authorizer["n"] == "3"
    assert authorizer["principalId"] == "user-1"
    assert event["body"] == '{"a": 1}'
    (auth_event,) = log.calls("auth")  # type: ignore[attr-defined]
    assert auth_event == {
        "type": "TOKEN",
        "authorizationToken": "Bearer allow",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:local/v1-stage/POST/items",
    }


def test_missing_token_is_401_without_calling_the_authorizer(base_url: str, log: object) -> None:
    response = requests.get(f"{base_url}/me", timeout=5)
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"
    assert body(response) == {"error": {"code": "UNAUTHENTICATED", "requestId": response.headers["x-amzn-RequestId"]}}
    assert log.calls("auth") == []  # type: ignore[attr-defined]


def test_authorizer_raising_unauthorized_is_401(base_url: str) -> None:
    response = requests.get(f"{base_url}/me", headers={"Authorization": "Bearer whatever"}, timeout=5)
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "UNAUTHENTICATED"


def test_authorizer_deny_is_403_with_its_context_json_escaped(base_url: str) -> None:
    response = requests.get(f"{base_url}/me", headers={"Authorization": "Bearer deny"}, timeout=5)
    assert response.status_code == 403
    assert body(response)["error"] == {
        "code": "SUSPENDED",
        "message": 'Account "x" is suspended',
        "requestId": response.headers["x-amzn-RequestId"],
    }


@pytest.mark.parametrize("token", ["crash", "garbage", "nested"])
def test_broken_authorizers_are_500(base_url: str, token: str) -> None:
    response = requests.get(f"{base_url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert response.status_code == 500
    assert body(response)["error"]["code"] == "INTERNAL"


def test_unknown_path_and_unknown_method_are_missing_authentication_token(base_url: str) -> None:
    for method, path in [("GET", "/nope"), ("DELETE", "/items/special"), ("OPTIONS", "/me")]:
        response = requests.request(method, f"{base_url}{path}", timeout=5)
        assert response.status_code == 404, (method, path)
        assert body(response)["error"]["code"] == "NOT_FOUND"


def test_options_only_where_the_template_defines_it(base_url: str) -> None:
    response = requests.options(f"{base_url}/items", timeout=5)
    assert response.status_code == 200
    assert body(response)["event"]["httpMethod"] == "OPTIONS"


def test_handler_exception_is_502_and_logged_server_side(base_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="infra.local.gateway"):
        response = requests.get(f"{base_url}/boom", timeout=5)
    assert response.status_code == 502
    assert body(response)["error"] == {
        "code": "INTERNAL",
        "message": "Internal server error",
        "requestId": response.headers["x-amzn-RequestId"],
    }
    assert "kaboom" not in response.text
    assert any("kaboom" in (record.exc_text or "") for record in caplog.records)


def test_malformed_handler_answer_is_502(base_url: str) -> None:
    response = requests.get(f"{base_url}/bad", timeout=5)
    assert response.status_code == 502


def test_greedy_path_any_method_and_head(base_url: str) -> None:
    response = requests.put(f"{base_url}/files/a/b.txt", data="x", timeout=5)
    assert body(response)["event"]["pathParameters"] == {"proxy": "a/b.txt"}
    head = requests.head(f"{base_url}/files/a", timeout=5)
    assert head.status_code == 200
    assert head.content == b""


def test_chunked_request_bodies(base_url: str) -> None:
    chunks = iter([b'{"a":', b" 1}"])
    response = requests.post(f"{base_url}/files/up", data=chunks, timeout=5)
    assert body(response)["event"]["body"] == '{"a": 1}'
