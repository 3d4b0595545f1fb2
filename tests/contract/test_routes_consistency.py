"""template.yaml, the handlers and api-specification.json describe the same routes, with the same access rules.

- every Api route of the template names a RouteHandler declared for that very method and path;
- every RouteHandler in functions/ is served by exactly one template route;
- the OpenAPI document lists exactly the template's routes;
- every function's Handler imports;
- the gateway and the code agree on who may call: `Auth: Authorizer: NONE` <=> PUBLIC or OPTIONAL;
- every function has its own least-privilege Policies.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tickerleague.http.api import RouteHandler
from tickerleague.http.principal import Access

from infra.build.openapi import SPEC_PATH
from infra.build.routes import (
    ROOT,
    TemplateRoute,
    api_routes,
    ensure_code_paths,
    functions,
    import_handler,
    template,
)

FUNCTIONS_DIR = ROOT / "functions"
ROUTES = api_routes()
FUNCTIONS = functions()
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Managed policies that grant far more than one function needs.
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess")


def _route_id(route: TemplateRoute) -> str:
    return route.label


def _handler_of(route: TemplateRoute) -> RouteHandler:
    handler = import_handler(route.handler)
    assert isinstance(handler, RouteHandler), f"{route.handler} is not a RouteHandler (decorate it with api.route)"
    return handler


# ---------------------------------------------------------------------------------------------------- routes
def test_template_has_routes() -> None:
    assert ROUTES, "no Api events found in template.yaml"
    duplicates = [key for key, count in Counter(route.key for route in ROUTES).items() if count > 1]
    assert not duplicates, f"routes served twice: {duplicates}"


@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_route_has_a_handler_declared_for_it(route: TemplateRoute) -> None:
    spec = _handler_of(route).spec
    assert (spec.method, spec.path) == route.key, (
        f"template serves {route.label} with {route.handler}, which declares {spec.method} {spec.path}"
    )


def _handler_modules() -> Iterator[str]:
    for path in sorted(FUNCTIONS_DIR.rglob("*.py")):
        if path.name != "__init__.py":
            yield ".".join(path.relative_to(FUNCTIONS_DIR).with_suffix("").parts)


def _declared_route_handlers() -> list[str]:
    """`module.attribute` of every RouteHandler defined in functions/ (as a template Handler would name it)."""
    ensure_code_paths()
    declared = []
    for module_name in _handler_modules():
        module = importlib.import_module(module_name)
        for attribute, value in vars(module).items():
            if isinstance(value, RouteHandler) and value.api is getattr(module, "api", None):
                declared.append(f"{module_name.replace('.', '/')}.{attribute}")
    return declared


def _normalized(handler: str) -> str:
    module, _, attribute = handler.rpartition(".")
    return f"{module.replace('.', '/')}.{attribute}"


def test_every_route_handler_has_exactly_one_route() -> None:
    served = Counter(_normalized(route.handler) for route in ROUTES)
    declared = _declared_route_handlers()
    assert declared, "no RouteHandler found under functions/"
    problems = [f"{handler}: served by {served[handler]} routes" for handler in declared if served[handler] != 1]
    assert not problems, "every RouteHandler needs exactly one Api route in template.yaml:\n" + "\n".join(problems)


def test_openapi_document_lists_exactly_the_template_routes() -> None:
    document = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    documented = {
        (method.upper(), path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    expected = {route.key: route.handler for route in ROUTES}
    missing = sorted(set(expected) - set(documented))
    extra = sorted(set(documented) - set(expected))
    assert not missing and not extra, f"not documented: {missing}; documented but not routed: {extra} (`make spec`)"
    assert documented == expected, "operationIds must be the template's Handler names (`make spec`)"


# ---------------------------------------------------------------------------------------------------- functions
@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_handler_imports(logical_id: str) -> None:
    handler = import_handler(FUNCTIONS[logical_id].handler)
    assert callable(handler), f"{logical_id}: {FUNCTIONS[logical_id].handler} is not callable"


@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_gateway_and_code_agree_on_access(route: TemplateRoute) -> None:
    access = _handler_of(route).spec.access
    if route.authorizer is None:
        assert access in (Access.PUBLIC, Access.OPTIONAL), (
            f"{route.label} has `Authorizer: NONE` in template.yaml but the code requires {access.value}: "
            "the gateway would let anonymous callers through"
        )
    else:
        assert access in (Access.USER, Access.ADMIN), (
            f"{route.label} is behind {route.authorizer} in template.yaml but the code says {access.value}: "
            "the gateway would refuse callers the code accepts (add `Auth: Authorizer: NONE`)"
        )


# ---------------------------------------------------------------------------------------------------- IAM
def _own_policies(logical_id: str) -> Any:
    resource = template().document["Resources"][logical_id]
    return (resource.get("Properties") or {}).get("Policies")


def _statements(policy: Any) -> Iterator[dict[str, Any]]:
    if isinstance(policy, dict) and "Statement" in policy:
        statements = policy["Statement"]
        yield from statements if isinstance(statements, list) else [statements]


def _broad_grants(policies: list[Any]) -> list[str]:
    found = []
    for policy in policies:
        if isinstance(policy, str) and policy.rsplit("/", 1)[-1] in BROAD_MANAGED_POLICIES:
            found.append(f"managed policy {policy}")
        for statement in _statements(policy):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            if "NotAction" in statement:
                found.append(f"NotAction {statement['NotAction']}")
            actions = statement.get("Action", [])
            for action in actions if isinstance(actions, list) else [actions]:
                if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                    found.append(f"action {action}")
    return found


def test_globals_grant_no_policies() -> None:
    function_globals = (template().document.get("Globals") or {}).get("Function") or {}
    assert "Policies" not in function_globals and "Role" not in function_globals, (
        "Policies in Globals would be shared by every function; give each function its own"
    )


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_has_its_own_least_privilege_policies(logical_id: str) -> None:
    policies = _own_policies(logical_id)
    assert isinstance(policies, list) and policies, f"{logical_id} has no Policies of its own"
    broad = _broad_grants(policies)
    assert not broad, f"{logical_id} grants too much: {broad}"


def test_broad_grant_detection_can_fail() -> None:
    """The IAM check itself: it must see wildcards and admin policies."""
    assert _broad_grants(["AdministratorAccess"])
    assert _broad_grants(["arn:aws:iam::aws:policy/AdministratorAccess"])
    assert _broad_grants([{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}])
    assert _broad_grants([{"Statement": {"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": "x"}}])
    assert not _broad_grants(
        [
            {"DynamoDBReadPolicy": {"TableName": "t"}},
            {"Statement": [{"Effect": "Allow", "Action": "states:StopExecution", "Resource": "*"}]},
        ]
    )


def test_module_paths_are_under_functions() -> None:
    assert all(Path(FUNCTIONS[lid].code_dir) == FUNCTIONS_DIR for lid in FUNCTIONS), (
        "every function's CodeUri is functions/ (one code dir; handlers are found there)"
    )
