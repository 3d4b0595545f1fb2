"""Helpers of the admin and account unit tests: people and in-process calls of the admin and account routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.events import Caller, HttpAnswer, api_event, call
from tests.unit.contests.helpers import PASSWORD, Person, make_person

__all__ = ["PASSWORD", "Crowd", "Person", "admin_call", "login", "make_crowd", "refresh", "route"]


@dataclass(frozen=True)
class Crowd:
    admin: Person
    ava: Person
    ben: Person


def make_crowd() -> Crowd:
    return Crowd(admin=make_person("root@example.com", "Root", role="admin"),
                 ava=make_person("ava.stone@example.com", "Ava Stone"),
                 ben=make_person("ben@example.com", "Benjamin"))


def route(handler: Any, method: str, resource: str, *, caller: Caller | None = None,
          params: dict[str, str] | None = None, body: Any = None, query: dict[str, str] | None = None,
          source_ip: str = "198.51.100.7") -> HttpAnswer:
    path = resource
    for key, value in (params or {}).items():
        path = path.replace("{" + key + "}", value)
    return call(handler, api_event(method, path, resource=resource, path_params=params, caller=caller, body=body,
                                   query=query, source_ip=source_ip))


def admin_call(handler: Any, method: str, resource: str, crowd: Crowd, **kwargs: Any) -> HttpAnswer:
    return route(handler, method, resource, caller=crowd.admin.caller, **kwargs)


def login(email: str, password: str = PASSWORD, ip: str = "198.51.100.7") -> HttpAnswer:
    from functions import auth

    return route(auth.login, "POST", "/v1/auth/login", body={"email": email, "password": password}, source_ip=ip)


def refresh(token: str) -> HttpAnswer:
    from functions import auth

    return route(auth.refresh, "POST", "/v1/auth/refresh", body={"refreshToken": token})
