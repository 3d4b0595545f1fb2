"""The template's functions and API routes, and the handlers they name, for build scripts and contract tests.

`template.yaml` is read with the local stack's loader (`infra.local.template`), so Globals, `Auth: Authorizer: NONE`
and the API's default authorizer mean here exactly what they mean to the local gateway.
Handlers are imported the way the Lambda Python runtime does (`Handler: jobs/quotes.refresh` -> module `jobs.quotes`,
attribute `refresh`, with the code dir and the layer dirs on `sys.path`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from infra.local.invoke import add_code_paths
from infra.local.model import FunctionDef
from infra.local.template import LocalTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@dataclass(frozen=True)
class TemplateRoute:
    """One `Api` event of a function: what API Gateway serves and which handler answers it."""

    method: str
    path: str
    function_id: str
    handler: str  # as written in the template: "contests.create"
    authorizer: str | None  # None when the route is `Auth: Authorizer: NONE`

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@cache
def template(path: Path = TEMPLATE) -> LocalTemplate:
    return load_template(path)


def functions(path: Path = TEMPLATE) -> dict[str, FunctionDef]:
    """Every `AWS::Serverless::Function`, by logical id."""
    return template(path).functions


def api_routes(path: Path = TEMPLATE) -> list[TemplateRoute]:
    """Every `Api` event of the template, sorted by path then method."""
    loaded = template(path)
    routes = [
        TemplateRoute(route.method, route.path, route.function_id, loaded.functions[route.function_id].handler,
                      route.authorizer)
        for route in loaded.routes
    ]
    return sorted(routes, key=lambda route: (route.path, route.method))


def module_and_attribute(handler: str) -> tuple[str, str]:
    """`jobs/quotes.refresh` -> (`jobs.quotes`, `refresh`)."""
    module, _, attribute = handler.rpartition(".")
    return module.replace("/", "."), attribute


def ensure_code_paths(path: Path = TEMPLATE) -> None:
    """Put the functions' code dirs and layer dirs on `sys.path`, as Lambda does (/var/task, /opt/python)."""
    add_code_paths(functions(path).values())


def import_handler(handler: str, path: Path = TEMPLATE) -> Any:
    """The object a `Handler:` string names (raises ImportError / AttributeError when it does not exist)."""
    ensure_code_paths(path)
    module_name, attribute = module_and_attribute(handler)
    module = importlib.import_module(module_name)
    return getattr(module, attribute)
