"""Handlers run in-process in the local gateway's request threads: two requests at once, to the same function or to
two functions, must each be answered from their own event (Lambda runs one at a time per container; the local stack
does not)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tickerleague.http.api import Access, Api, Reply, Request

from tests.support.events import api_event, call

THREADS = 8
CALLS_PER_THREAD = 150


def _echo_api(name: str) -> tuple[Any, Any]:
    api = Api()

    @api.route("GET", f"/v1/{name}/{{itemId}}", access=Access.PUBLIC, summary="echo", responses={200: None})
    def read(request: Request) -> Reply:
        return Reply(200, {"api": name, "item": request.path["itemId"], "requestId": request.request_id})

    @api.route("GET", f"/v1/{name}", access=Access.PUBLIC, summary="echo list", responses={200: None})
    def listing(request: Request) -> Reply:
        return Reply(200, {"api": name, "item": None, "requestId": request.request_id})

    return read, listing


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads as often as the interpreter can, so any shared per-request state is overwritten mid-request."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_concurrent_requests_are_each_answered_from_their_own_event(
    busy_switching: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "0")
    handlers = {name: _echo_api(name) for name in ("alpha", "beta")}
    mismatches: list[tuple[Any, ...]] = []
    answered = [0]
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        name = ("alpha", "beta")[index % 2]
        read, listing = handlers[name]
        start.wait()
        for n in range(CALLS_PER_THREAD):
            item = f"t{index}-{n}"
            if n % 3 == 0:
                event = api_event("GET", f"/v1/{name}", resource=f"/v1/{name}")
                expected: dict[str, Any] = {"api": name, "item": None}
                answer = call(listing, event)
            else:
                event = api_event("GET", f"/v1/{name}/{item}", resource=f"/v1/{name}/{{itemId}}",
                                  path_params={"itemId": item})
                expected = {"api": name, "item": item}
                answer = call(read, event)
            expected["requestId"] = event["requestContext"]["requestId"]
            with lock:
                answered[0] += 1
                if answer.status != 200 or answer.body != expected:
                    mismatches.append((answer.status, answer.body, expected))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answered[0] == THREADS * CALLS_PER_THREAD
    assert mismatches == [], f"{len(mismatches)} answers from another request's event, e.g. {mismatches[:3]}"
