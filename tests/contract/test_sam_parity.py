"""The local gateway serves what SAM deploys: routes, the function and authorizer of each, CORS preflights, the
authorizer's identity source and cache, and the gateway responses.

One side is aws-sam-translator's translation of template.yaml (the swagger body of the AWS::ApiGateway::RestApi it
generates), made by infra/build/sam_translate.py with the tools venv's python (samtranslator is pinned there by
aws-sam-cli, not in the app's venv: `make tools-venv`). The other side is the local gateway itself (infra/local:
template.py reads the template, routing.py matches requests, gateway.py answers preflights), asked the way a client
would: each SAM route's method on a concrete path, OPTIONS on every path.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.build.routes import ROOT, TEMPLATE
from infra.local.apigw_events import HttpRequest
from infra.local.cfn_yaml import load_cfn_file
from infra.local.gateway import LocalGateway
from infra.local.template import DEFAULT_PARAMETERS_FILE, LocalTemplate, load_settings

TOOLS_PYTHON = ROOT / ".tools-venv" / "bin" / "python"
TRANSLATE = ROOT / "infra" / "build" / "sam_translate.py"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method")
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Credentials",
)


@cache
def translated() -> dict[str, Any]:
    """template.yaml as CloudFormation after the SAM transform."""
    if not TOOLS_PYTHON.exists():
        pytest.fail(f"{TOOLS_PYTHON} is missing: `make tools-venv` builds it (make test does, before pytest)")
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(TRANSLATE), str(TEMPLATE)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"sam_translate.py failed:\n{result.stderr[-4000:]}"
    return dict(json.loads(result.stdout))


# ---------------------------------------------------------------------------------------------------- SAM's side
@dataclass(frozen=True)
class SamRoute:
    method: str
    path: str
    function_id: str
    authorizer: str | None


def _rest_api(cfn: dict[str, Any], api_id: str) -> dict[str, Any]:
    resource = cfn["Resources"][api_id]
    assert resource["Type"] == "AWS::ApiGateway::RestApi", f"{api_id} is a {resource['Type']}"
    return dict(resource["Properties"]["Body"])


def _function_of(cfn: dict[str, Any], uri: Any) -> str:
    """The function an integration or authorizer URI invokes (through its `live` alias or its ARN)."""
    text = json.dumps(uri)
    names = re.findall(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", text) + re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"', text)
    for name in names:
        resource = cfn["Resources"].get(name) or {}
        if resource.get("Type") == "AWS::Lambda::Alias":
            return str(resource["Properties"]["FunctionName"]["Ref"])
        if resource.get("Type") == "AWS::Lambda::Function":
            return name
    raise AssertionError(f"no function found in {text}")


def _authorizer_of(operation: dict[str, Any]) -> str | None:
    names = [name for requirement in operation.get("security") or [] for name in requirement]
    names = [name for name in names if name != "NONE"]
    assert len(names) <= 1, f"several authorizers: {names}"
    return names[0] if names else None


def sam_routes(cfn: dict[str, Any], api_id: str) -> list[SamRoute]:
    routes = []
    for path, item in _rest_api(cfn, api_id)["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS or operation["x-amazon-apigateway-integration"]["type"] == "mock":
                continue
            name = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            uri = operation["x-amazon-apigateway-integration"]["uri"]
            routes.append(SamRoute(name, path, _function_of(cfn, uri), _authorizer_of(operation)))
    return sorted(routes, key=lambda r: (r.path, r.method))


def sam_preflights(cfn: dict[str, Any], api_id: str) -> dict[str, dict[str, str]]:
    """Path -> the headers SAM's OPTIONS mock integration answers (quotes removed)."""
    preflights = {}
    for path, item in _rest_api(cfn, api_id)["paths"].items():
        options = item.get("options")
        if options is None:
            continue
        assert _authorizer_of(options) is None, f"OPTIONS {path} is behind an authorizer"
        parameters = options["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
        preflights[path] = {
            key.removeprefix("method.response.header."): str(value).strip("'") for key, value in parameters.items()
        }
    return preflights


def sam_authorizers(cfn: dict[str, Any], api_id: str) -> dict[str, dict[str, Any]]:
    found = {}
    for name, definition in (_rest_api(cfn, api_id).get("securityDefinitions") or {}).items():
        spec = definition["x-amazon-apigateway-authorizer"]
        found[name] = {
            "function": _function_of(cfn, spec["authorizerUri"]),
            "type": str(spec["type"]).upper(),
            "header": definition["name"],
            "ttl": int(spec.get("authorizerResultTtlInSeconds", 300)),
            "validation": spec.get("identityValidationExpression"),
        }
    return found


def sam_gateway_responses(cfn: dict[str, Any], api_id: str) -> dict[str, dict[str, Any]]:
    found = {}
    for kind, spec in (_rest_api(cfn, api_id).get("x-amazon-apigateway-gateway-responses") or {}).items():
        found[kind] = {
            "status": None if spec.get("statusCode") is None else int(spec["statusCode"]),
            "headers": {
                key.removeprefix("gatewayresponse.header."): str(value).strip("'")
                for key, value in (spec.get("responseParameters") or {}).items()
            },
            "templates": dict(spec.get("responseTemplates") or {}),
        }
    return found


# ---------------------------------------------------------------------------------------------------- the local side
def local_template(document: dict[str, Any] | None = None) -> LocalTemplate:
    """What `make dev` loads (the local parameters file); `document` replaces template.yaml's text."""
    settings = load_settings(DEFAULT_PARAMETERS_FILE)
    path = Path(TEMPLATE).resolve()
    return LocalTemplate(document if document is not None else load_cfn_file(path), path, settings)


def _concrete(path: str) -> str:
    """A request path for a resource path: each {param} (or {proxy+}) filled with a value of its own."""
    return re.sub(r"\{([A-Za-z0-9_]+)\+?\}", lambda m: f"sample-{m.group(1)}", path)


def parity_problems(cfn: dict[str, Any], local: LocalTemplate) -> list[str]:
    gateway = LocalGateway(local, invoker=None)  # type: ignore[arg-type]  # nothing here is invoked
    problems: list[str] = []
    api_ids = sorted(local.apis)
    rest_apis = sorted(lid for lid, r in cfn["Resources"].items() if r["Type"] == "AWS::ApiGateway::RestApi")
    if api_ids != rest_apis:
        problems.append(f"APIs: local {api_ids}, SAM {rest_apis}")
    for api_id in sorted(set(api_ids) & set(rest_apis)):
        api = local.apis[api_id]
        expected = sam_routes(cfn, api_id)
        for route in expected:
            match = gateway.routes.match(route.method, _concrete(route.path))
            if match is None:
                problems.append(
                    f"{route.method} {route.path}: SAM routes it to {route.function_id}, "
                    "the local gateway answers no route"
                )
                continue
            served = (match.route.path, match.route.function_id, match.route.authorizer)
            if served != (route.path, route.function_id, route.authorizer):
                problems.append(
                    f"{route.method} {route.path}: SAM {(route.path, route.function_id, route.authorizer)}"
                    f", local {served}"
                )
        sam_keys = {(route.method, route.path) for route in expected}
        for route in api.routes:
            if (route.method, route.path) not in sam_keys:
                problems.append(f"{route.method} {route.path}: served locally, not by SAM's API")
        problems.extend(_cors_problems(gateway, sam_preflights(cfn, api_id)))
        local_authorizers = {
            name: {
                "function": spec.function_id,
                "type": spec.payload_type,
                "header": spec.identity_header,
                "ttl": spec.ttl_seconds,
                "validation": spec.validation_expression,
            }
            for name, spec in api.authorizers.items()
        }
        if local_authorizers != sam_authorizers(cfn, api_id):
            problems.append(f"authorizers: local {local_authorizers}, SAM {sam_authorizers(cfn, api_id)}")
        local_responses = {
            kind: {
                "status": spec.status_code,
                "headers": {k: v.strip("'") for k, v in spec.headers.items()},
                "templates": spec.templates,
            }
            for kind, spec in api.gateway_responses.items()
        }
        if local_responses != sam_gateway_responses(cfn, api_id):
            problems.append(
                f"gateway responses differ: local {local_responses}, SAM {sam_gateway_responses(cfn, api_id)}"
            )
    return problems


def _cors_problems(gateway: LocalGateway, preflights: dict[str, dict[str, str]]) -> list[str]:
    problems = []
    for path, expected in sorted(preflights.items()):
        answer = gateway.handle(
            HttpRequest(
                "OPTIONS",
                _concrete(path),
                [("Origin", "http://localhost:5173"), ("Access-Control-Request-Method", "GET")],
            )
        )
        got = {name: value for name, value in answer.headers if name in CORS_HEADERS}
        if answer.status != 200 or got != expected:
            problems.append(f"OPTIONS {path}: SAM answers 200 {expected}, local {answer.status} {got}")
    return problems


# ---------------------------------------------------------------------------------------------------- tests
def test_the_translation_has_the_template_routes() -> None:
    routes = sam_routes(translated(), "Api")
    assert len(routes) >= 30, routes
    assert SamRoute("GET", "/v1/health", "HealthFunction", None) in routes
    assert SamRoute("POST", "/v1/contests", "CreateContestFunction", "JwtAuthorizer") in routes
    assert sam_preflights(translated(), "Api")["/v1/contests"]["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"


def test_the_local_gateway_serves_what_sam_deploys() -> None:
    problems = parity_problems(translated(), local_template())
    assert not problems, "the local emulation drifted from SAM:\n  " + "\n  ".join(problems)


def _drifted(change: Any) -> list[str]:
    document = copy.deepcopy(dict(load_cfn_file(Path(TEMPLATE).resolve())))
    change(document)
    return parity_problems(translated(), local_template(document))


def test_a_route_the_local_gateway_does_not_serve_is_found() -> None:
    problems = _drifted(lambda d: d["Resources"]["HealthFunction"]["Properties"].pop("Events"))
    assert any(p.startswith("GET /v1/health: SAM routes it to HealthFunction") for p in problems), problems


def test_a_different_authorizer_is_found() -> None:
    def public_me(document: dict[str, Any]) -> None:
        document["Resources"]["MeFunction"]["Properties"]["Events"]["Api"]["Properties"]["Auth"] = {
            "Authorizer": "NONE"
        }

    problems = _drifted(public_me)
    assert any(p.startswith("GET /v1/me:") and "JwtAuthorizer" in p for p in problems), problems


def test_different_cors_and_authorizer_caching_are_found() -> None:
    def drift(document: dict[str, Any]) -> None:
        api = document["Resources"]["Api"]["Properties"]
        api["Cors"]["MaxAge"] = "'60'"
        api["Auth"]["Authorizers"]["JwtAuthorizer"]["Identity"]["ReauthorizeEvery"] = 0

    problems = _drifted(drift)
    assert any(p.startswith("OPTIONS /v1/health:") for p in problems), problems
    assert any(p.startswith("authorizers:") for p in problems), problems
