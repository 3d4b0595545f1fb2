"""Route matching like API Gateway REST APIs."""

from __future__ import annotations

import pytest

from infra.local.model import ApiRoute
from infra.local.routing import RouteTable


def route(method: str, path: str) -> ApiRoute:
    return ApiRoute("Api", path, method, f"{method}{path}", None)


@pytest.fixture
def table() -> RouteTable:
    return RouteTable(
        [
            route("GET", "/"),
            route("GET", "/contests"),
            route("GET", "/contests/{contestId}"),
            route("PATCH", "/contests/{contestId}"),
            route("GET", "/contests/mine"),
            route("GET", "/contests/{contestId}/orders/{orderId}"),
            route("ANY", "/files/{proxy+}"),
            route("GET", "/files/readme"),
        ]
    )


def test_static_segments_beat_parameters(table: RouteTable) -> None:
    match = table.match("GET", "/contests/mine")
    assert match is not None
    assert (match.route.path, match.path_parameters) == ("/contests/mine", {})


def test_parameters_are_captured_and_url_decoded(table: RouteTable) -> None:
    match = table.match("GET", "/contests/c%201/orders/o-2")
    assert match is not None
    assert match.route.path == "/contests/{contestId}/orders/{orderId}"
    assert match.path_parameters == {"contestId": "c 1", "orderId": "o-2"}


def test_greedy_parameter_takes_the_rest_but_loses_to_literals(table: RouteTable) -> None:
    greedy = table.match("DELETE", "/files/a/b/c.txt")
    assert greedy is not None
    assert greedy.path_parameters == {"proxy": "a/b/c.txt"}
    literal = table.match("GET", "/files/readme")
    assert literal is not None
    assert literal.route.path == "/files/readme"


def test_method_must_exist_on_the_most_specific_resource(table: RouteTable) -> None:
    # /contests/mine exists only for GET; API Gateway does not fall back to /contests/{contestId}.
    assert table.match("PATCH", "/contests/mine") is None
    match = table.match("patch", "/contests/c1")
    assert match is not None
    assert match.route.method == "PATCH"


def test_unknown_paths_and_root(table: RouteTable) -> None:
    assert table.match("GET", "/nothing") is None
    assert table.match("GET", "/contests/c1/extra") is None
    root = table.match("GET", "/")
    assert root is not None
    assert root.route.path == "/"
    trailing = table.match("GET", "/contests/")
    assert trailing is not None
    assert trailing.route.path == "/contests"


def test_duplicate_routes_are_rejected() -> None:
    with pytest.raises(ValueError, match="two routes"):
        RouteTable([route("GET", "/a"), route("GET", "/a")])
