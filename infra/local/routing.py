"""Match a request path to a route the way API Gateway REST APIs do.

API Gateway first picks the most specific *resource* (a literal segment beats ``{param}``, which beats a
greedy ``{proxy+}``), then the method on it (exact method, else ``ANY``). A resource that matches without
the method is a ``MISSING_AUTHENTICATION_TOKEN`` answer: API Gateway does not fall back to a less specific
resource, and neither does this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from infra.local.model import ApiRoute

_LITERAL, _PARAM, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    """A route and the path parameters it captured (URL-decoded, like API Gateway hands them over)."""

    route: ApiRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Resource:
    path: str
    segments: tuple[str, ...]

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sort key: lower is more specific, compared segment by segment."""
        return tuple(_segment_kind(s) for s in self.segments)


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAM
    return _LITERAL


def split_path(path: str) -> tuple[str, ...]:
    """Path segments without empty ones (a trailing slash does not make a different resource)."""
    return tuple(segment for segment in path.split("/") if segment)


class RouteTable:
    """All routes of the served APIs, indexed by resource path."""

    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self._methods: dict[str, dict[str, ApiRoute]] = {}
        for route in routes:
            methods = self._methods.setdefault(route.path, {})
            if route.method in methods:
                raise ValueError(f"two routes for {route.method} {route.path}")
            methods[route.method] = route
        self._resources = sorted(
            (_Resource(path, split_path(path)) for path in self._methods), key=lambda r: r.specificity
        )

    def resource_for(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The most specific resource matching ``path`` and its captured parameters."""
        request_segments = split_path(path)
        candidates = []
        for resource in self._resources:
            captured = _match_segments(resource.segments, request_segments)
            if captured is not None:
                candidates.append((resource, captured))
        if not candidates:
            return None
        best, captured = min(candidates, key=lambda item: item[0].specificity)
        return best.path, captured

    def routes_at(self, resource_path: str) -> dict[str, ApiRoute]:
        """The routes of one resource, by method."""
        return dict(self._methods.get(resource_path, {}))

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route serving ``method path``, or None (API Gateway's MISSING_AUTHENTICATION_TOKEN)."""
        found = self.resource_for(path)
        if found is None:
            return None
        resource_path, captured = found
        methods = self._methods[resource_path]
        route = methods.get(method.upper()) or methods.get("ANY")
        return None if route is None else RouteMatch(route, captured)


def _match_segments(pattern: tuple[str, ...], request: tuple[str, ...]) -> dict[str, str] | None:
    """Captured parameters when ``request`` fits ``pattern``, else None."""
    captured: dict[str, str] = {}
    for index, segment in enumerate(pattern):
        kind = _segment_kind(segment)
        if kind == _GREEDY:
            rest = request[index:]
            if not rest:
                return None
            captured[segment[1:-2]] = unquote("/".join(rest))
            return captured
        if index >= len(request):
            return None
        if kind == _PARAM:
            captured[segment[1:-1]] = unquote(request[index])
        elif segment != request[index]:
            return None
    return captured if len(pattern) == len(request) else None
