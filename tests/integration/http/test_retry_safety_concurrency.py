"""The limiter and the Idempotency-Key layer raced on DynamoDB Local (moto serialises on the GIL: no oracle here)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.domain.rate_limit import Bucket

from tests.support.events import Caller, api_event, call

THREADS = 32


@pytest.fixture(autouse=True)
def _limits_on(ddb_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from tickerleague.adapters.dynamodb import rate_limit
    from tickerleague.config import settings

    monkeypatch.setenv("RATE_LIMIT_ENABLED", "1")
    settings.cache_clear()
    rate_limit.forget_seen()
    yield
    settings.cache_clear()


def _race(count: int, work: Any) -> list[Any]:
    start = threading.Barrier(count)

    def one(index: int) -> Any:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_32_threads_on_one_bucket_never_over_admit() -> None:
    from tickerleague.adapters.dynamodb import rate_limit

    bucket = Bucket("orders", 10, Decimal("0.001"))  # no refill to speak of during the test

    def hammer(index: int) -> int:
        admitted = 0
        for _ in range(3):
            if index % 2:  # half the threads start without a guess, like fresh containers
                rate_limit.forget_seen()
            admitted += rate_limit.take(bucket, "alice", int(time.time() * 1000)).allowed
        return admitted

    assert sum(_race(THREADS, hammer)) == bucket.burst
    assert not rate_limit.take(bucket, "alice", int(time.time() * 1000)).allowed
    assert rate_limit.take(bucket, "bob", int(time.time() * 1000)).allowed


def test_32_threads_at_a_refilling_bucket_get_burst_plus_rate_times_t() -> None:
    from tickerleague.adapters.dynamodb import rate_limit

    bucket = Bucket("user", 5, Decimal(20))
    began = time.time()
    stop = began + 1.0

    def hammer(index: int) -> list[int]:
        times = []
        while time.time() < stop:
            now = int(time.time() * 1000)
            if rate_limit.take(bucket, "carol", now).allowed:
                times.append(now)
        return times

    admitted = sorted(moment for times in _race(THREADS, hammer) for moment in times)
    window = Decimal(admitted[-1] - admitted[0]) / 1000
    assert len(admitted) <= bucket.burst + bucket.per_second * window
    assert len(admitted) >= bucket.burst  # and it did admit


def test_10_concurrent_identical_requests_have_one_effect() -> None:
    from tickerleague.http.api import Api, Reply, Request
    from tickerleague.http.principal import Access

    api = Api()
    effects: list[int] = []
    lock = threading.Lock()

    @api.route("POST", "/v1/things", access=Access.USER, summary="t", responses={201: None})
    def create(request: Request) -> Reply:
        time.sleep(0.2)  # long enough that the others arrive while it runs
        with lock:
            effects.append(1)
        return Reply(201, {"n": len(effects)})

    def send(index: int) -> tuple[int, str | None, Any]:
        answer = call(create, api_event("POST", "/v1/things", headers={"Idempotency-Key": "once"},
                                        caller=Caller("dora")))
        return answer.status, answer.headers.get("Idempotent-Replayed"), answer.body

    answers = _race(10, send)
    assert len(effects) == 1
    firsts = [a for a in answers if a[0] == 201 and a[1] is None]
    assert len(firsts) == 1
    for status, replayed, body in answers:
        assert (status == 201 and body == {"n": 1}) or (status == 409 and body["error"]["code"] == (
            "IDEMPOTENCY_KEY_IN_USE")), (status, replayed, body)
        assert replayed is None or (status, replayed) == (201, "true")
    later = send(0)
    assert later == (201, "true", {"n": 1}) and len(effects) == 1
