"""The gateway pipeline without sockets: authorizer cache, throttling, size limit."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent, indent

import pytest

from infra.local.apigw_events import HttpRequest
from infra.local.gateway import MAX_BODY_BYTES, LocalGateway
from infra.local.invoke import Invoker
from infra.local.template import load_template
from tests.support.local_stack import HANDLERS, handler_log


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def local_gateway(tmp_path: Path, resources: str, clock: FakeClock | None = None) -> LocalGateway:
    """A gateway over a template of the fixture handlers with these `Resources` (YAML)."""
    path = tmp_path / "template.yaml"
    path.write_text(
        dedent(
            f"""
            Globals:
              Function:
                Runtime: python3.12
                CodeUri: {HANDLERS}
            Resources:
            """
        ) + indent(dedent(resources), "  "),
        encoding="utf-8",
    )
    template = load_template(path, parameters_file=None)
    return LocalGateway(template, Invoker(template.functions), clock=clock or FakeClock())


@pytest.fixture
def gateway(tmp_path: Path, clock: FakeClock) -> LocalGateway:
    return local_gateway(
        tmp_path,
        """
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: s
              MethodSettings:
                - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2}
              Auth:
                DefaultAuthorizer: Tok
                Authorizers:
                  Tok:
                    FunctionArn: !GetAtt AuthFunction.Arn
                    Identity: {ReauthorizeEvery: 60, ValidationExpression: "Bearer .*"}
          AuthFunction:
            Type: AWS::Serverless::Function
            Properties: {Handler: lsfx_auth.handler}
          EchoFunction:
            Type: AWS::Serverless::Function
            Properties:
              Handler: lsfx_api.echo
              Events:
                A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /a, Method: GET}}
                B: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /b, Method: GET}}
                Up:
                  Type: Api
                  Properties: {RestApiId: !Ref Api, Path: /up, Method: POST, Auth: {Authorizer: NONE}}
        """,
        clock,
    )


def get(path: str, token: str | None = None, body: bytes = b"") -> HttpRequest:
    headers = [("Authorization", token)] if token else []
    return HttpRequest("GET" if not body else "POST", path, headers, body)


def test_authorizer_answers_are_cached_per_token_and_rechecked_per_method_arn(
    gateway: LocalGateway, clock: FakeClock
) -> None:
    log = handler_log()
    log.reset()
    assert gateway.handle(get("/a", "Bearer narrow")).status == 200
    # The cached policy names only /a: API Gateway re-evaluates it and denies /b without calling the authorizer.
    assert gateway.handle(get("/b", "Bearer narrow")).status == 403
    assert len(log.calls("auth")) == 1
    clock.now += 61
    assert gateway.handle(get("/b", "Bearer narrow")).status == 200
    assert len(log.calls("auth")) == 2


def test_validation_expression_rejects_without_calling_the_authorizer(gateway: LocalGateway) -> None:
    log = handler_log()
    log.reset()
    assert gateway.handle(get("/a", "Basic abc")).status == 401
    assert log.calls("auth") == []


def test_stage_throttling(gateway: LocalGateway, clock: FakeClock) -> None:
    statuses = [gateway.handle(get("/a", "Bearer allow")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    clock.now += 1.0
    assert gateway.handle(get("/a", "Bearer allow")).status == 200


def test_bodies_over_ten_megabytes_are_refused(gateway: LocalGateway) -> None:
    response = gateway.handle(HttpRequest("POST", "/up", [], b"x" * (MAX_BODY_BYTES + 1)))
    assert response.status == 413
    assert json.loads(response.body) == {"message": "Request Too Long"}
    assert gateway.handle(HttpRequest("POST", "/up", [], b"x" * 1000)).status == 200


def _gateway_with_cors(tmp_path: Path, cors: str) -> LocalGateway:
    return local_gateway(
        tmp_path,
        f"""
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: s
              {cors}
          EchoFunction:
            Type: AWS::Serverless::Function
            Properties:
              Handler: lsfx_api.echo
              Events:
                Get: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: "/things/{{id}}", Method: GET}}}}
                Del: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: "/things/{{id}}", Method: DELETE}}}}
                Any: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: "/files/{{proxy+}}", Method: ANY}}}}
                Own: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: /own, Method: OPTIONS}}}}
        """,
    )


def test_cors_preflights_answer_like_sam_s_generated_options_methods(tmp_path: Path) -> None:
    gateway = _gateway_with_cors(
        tmp_path, """Cors: {AllowOrigin: "'*'", AllowHeaders: "'Authorization,Content-Type'", MaxAge: "'600'"}""")
    answer = gateway.handle(HttpRequest("OPTIONS", "/things/42", [("Origin", "https://app.example")]))
    headers = dict(answer.headers)
    assert answer.status == 200 and answer.body == b"{}"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Methods"] == "DELETE,GET,OPTIONS"
    assert headers["Access-Control-Allow-Headers"] == "Authorization,Content-Type"
    assert headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in headers
    any_method = dict(gateway.handle(HttpRequest("OPTIONS", "/files/a/b", [])).headers)
    assert any_method["Access-Control-Allow-Methods"] == "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
    assert gateway.handle(HttpRequest("OPTIONS", "/nowhere", [])).status == 403  # no route: API Gateway's own 403
    own = gateway.handle(HttpRequest("OPTIONS", "/own", []))  # a template's own OPTIONS method is left alone
    assert own.status == 200 and json.loads(own.body)["event"]["httpMethod"] == "OPTIONS"


def test_without_cors_a_preflight_finds_no_method(tmp_path: Path) -> None:
    gateway = _gateway_with_cors(tmp_path, "")
    assert gateway.handle(HttpRequest("OPTIONS", "/things/42", [])).status == 403
    origin_only = _gateway_with_cors(tmp_path, """Cors: "'https://app.example'\"""")
    headers = dict(origin_only.handle(HttpRequest("OPTIONS", "/things/42", [])).headers)
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Headers" not in headers


def test_cors_values_must_be_quoted_like_sam_wants_them(tmp_path: Path) -> None:
    from infra.local.template import TemplateError

    with pytest.raises(TemplateError, match="quoted"):
        _gateway_with_cors(tmp_path, "Cors: {AllowOrigin: '*'}")
