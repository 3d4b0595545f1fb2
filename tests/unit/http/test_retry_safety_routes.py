"""Idempotency-Key and rate limits through `Api`, in-process on a moto table: test routes with a visible effect
counter stand in for real ones (the layer is applied to every route alike)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from tickerleague.errors import RuleViolation, ServiceUnavailable
from tickerleague.http.api import Api, Reply, Request
from tickerleague.http.principal import Access

from tests.support.events import Caller, HttpAnswer, api_event, call

ALICE, BOB = Caller("alice"), Caller("bob")
effects: list[str] = []
api = Api()


class Thing(BaseModel):
    name: str
    size: int = 1


@api.route("POST", "/v1/things", access=Access.USER, summary="t", body=Thing, responses={201: None})
def create(request: Request) -> Reply:
    effects.append(request.body.name)
    if request.body.name == "broken":
        raise ServiceUnavailable()
    if request.body.name == "refused":
        raise RuleViolation("no", code="INSUFFICIENT_CASH")
    return Reply(201, {"id": len(effects), "name": request.body.name},
                 headers={"Location": f"/v1/things/{len(effects)}"})


@api.route("POST", "/v1/auth/things", access=Access.PUBLIC, summary="t", body=Thing, responses={201: None})
def public_create(request: Request) -> Reply:
    effects.append(request.body.name)
    return Reply(201, {"id": len(effects)})


@api.route("GET", "/v1/things", access=Access.USER, summary="t", responses={200: None})
def listing(request: Request) -> Reply:
    return Reply(200, {"count": len(effects)})


@api.route("POST", "/v1/contests/{contestId}/orders", access=Access.USER, summary="t", responses={201: None})
def order(request: Request) -> Reply:
    return Reply(201, {"ok": True})


@api.route("GET", "/v1/health", access=Access.PUBLIC, summary="t", responses={200: None})
def health(request: Request) -> Reply:
    return Reply(200, {"status": "ok"})


@api.route("POST", "/v1/webhooks/stripe", access=Access.PUBLIC, summary="t", responses={200: None})
def webhook(request: Request) -> Reply:
    effects.append("webhook")
    return Reply(200, {"received": True})


@pytest.fixture(autouse=True)
def _limits_on(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from tickerleague.adapters.dynamodb import rate_limit
    from tickerleague.config import settings

    monkeypatch.setenv("RATE_LIMIT_ENABLED", "1")
    monkeypatch.setenv("RATE_LIMIT_ORDERS_BURST", "3")
    monkeypatch.setenv("RATE_LIMIT_ORDERS_PER_SECOND", "0.01")
    settings.cache_clear()
    rate_limit.forget_seen()
    effects.clear()
    yield
    settings.cache_clear()


def post(body: Any, *, key: str | None = None, caller: Caller | None = ALICE, path: str = "/v1/things",
         handler: Any = create, ip: str = "198.51.100.7", raw: str | None = None) -> HttpAnswer:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return call(handler, api_event("POST", path, body=body, raw_body=raw, headers=headers, caller=caller,
                                   source_ip=ip))


# ---------------------------------------------------------------------------------------------------- idempotency
def test_the_same_key_and_body_replays_the_stored_answer_once_effected() -> None:
    first = post({"name": "a"}, key="k-1")
    again = post({"name": "a"}, key="k-1", raw='{ "name" :\n  "a" }')  # another spelling, same JSON
    assert (first.status, again.status) == (201, 201) and again.body == first.body and effects == ["a"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]


def test_another_body_under_the_same_key_is_422() -> None:
    post({"name": "a"}, key="k-1")
    answer = post({"name": "b"}, key="k-1")
    assert (answer.status, answer.error_code) == (422, "IDEMPOTENCY_KEY_REUSED") and effects == ["a"]


def test_keys_are_scoped_to_the_caller_and_the_source_ip() -> None:
    post({"name": "a"}, key="k-1")
    assert post({"name": "a"}, key="k-1", caller=BOB).headers.get("Idempotent-Replayed") is None
    post({"name": "p"}, key="k-1", caller=None, path="/v1/auth/things", handler=public_create)
    other_ip = post({"name": "p"}, key="k-1", caller=None, path="/v1/auth/things", handler=public_create,
                    ip="203.0.113.9")
    same_ip = post({"name": "p"}, key="k-1", caller=None, path="/v1/auth/things", handler=public_create)
    assert other_ip.headers.get("Idempotent-Replayed") is None and same_ip.headers["Idempotent-Replayed"] == "true"
    assert effects == ["a", "a", "p", "p"]


def test_without_a_key_every_request_runs() -> None:
    post({"name": "a"})
    post({"name": "a"})
    assert effects == ["a", "a"]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "new\nline"])
def test_a_bad_key_is_422_validation_failed(key: str) -> None:
    answer = post({"name": "a"}, key=key)
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED") and effects == []
    assert "Idempotency-Key" in answer.body["error"]["details"]["fields"]


def test_the_longest_and_oddest_printable_keys_work() -> None:
    for key in ("x" * 255, " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", "1"):
        assert post({"name": "a"}, key=key).status == 201
    assert effects == ["a", "a", "a"]


def test_a_4xx_is_stored_and_a_5xx_is_not() -> None:
    refused = post({"name": "refused"}, key="k-4")
    assert (refused.status, refused.error_code) == (422, "INSUFFICIENT_CASH")
    replayed = post({"name": "refused"}, key="k-4")
    assert replayed.body == refused.body and replayed.headers["Idempotent-Replayed"] == "true"
    broken = post({"name": "broken"}, key="k-5")
    assert broken.status == 503 and post({"name": "broken"}, key="k-5").headers.get("Idempotent-Replayed") is None
    assert effects == ["refused", "broken", "broken"]


def test_a_request_still_in_flight_is_409() -> None:
    from tickerleague.adapters.dynamodb import idempotency as records
    from tickerleague.http.idempotency import request_hash

    fingerprint = request_hash("POST", "/v1/things", {}, {"name": "a"})
    assert records.claim("user#alice", "k-9", request_hash=fingerprint, token="other", now=_now()) is None
    answer = post({"name": "a"}, key="k-9")
    assert (answer.status, answer.error_code, answer.headers["Retry-After"]) == (409, "IDEMPOTENCY_KEY_IN_USE", "1")
    assert effects == []


def test_an_abandoned_claim_and_an_expired_answer_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.adapters.dynamodb import idempotency as records
    from tickerleague.http.idempotency import request_hash

    fingerprint = request_hash("POST", "/v1/things", {}, {"name": "a"})
    records.claim("user#alice", "k-dead", request_hash=fingerprint, token="died", now=_now() - 31)
    assert post({"name": "a"}, key="k-dead").status == 201 and effects == ["a"]
    post({"name": "b"}, key="k-old")
    import time

    later = time.time() + 24 * 3600 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert post({"name": "b"}, key="k-old").headers.get("Idempotent-Replayed") is None
    assert effects == ["a", "b", "b"]


@api.route("POST", "/v1/auth/sessions", access=Access.PUBLIC, summary="t", body=Thing, responses={201: None})
def mint(request: Request) -> Reply:
    effects.append(request.body.name)
    return Reply(201, {"accessToken": f"secret-token-{len(effects)}"}, headers={"Location": "/v1/sessions/1"})


def _idempotency_items() -> list[dict[str, Any]]:
    import boto3
    from tickerleague.config import settings

    scanned = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=settings().table_name)["Items"]
    return [item for item in scanned if item["PK"]["S"].startswith("IDEMPOTENCY#")]


def test_a_stored_answer_is_sealed_under_the_key_the_table_never_holds() -> None:
    """Answers carry tokens and client secrets: the record keeps them encrypted under a key derived from the
    caller's Idempotency-Key, of which the table holds only a hash; the caller's replay still opens it."""
    first = post({"name": "a"}, key="k-mint-7f3a", caller=None, path="/v1/auth/sessions", handler=mint)
    assert first.body == {"accessToken": "secret-token-1"}
    [record] = _idempotency_items()
    stored = repr(record)  # every attribute, the sealed bytes among them
    assert "secret-token" not in stored and "k-mint-7f3a" not in stored and "/v1/sessions/1" not in stored
    assert record["statusCode"] == {"N": "201"} and "B" in record["sealedAnswer"]
    again = post({"name": "a"}, key="k-mint-7f3a", caller=None, path="/v1/auth/sessions", handler=mint)
    assert again.body == first.body and again.headers["Location"] == "/v1/sessions/1"
    assert again.headers["Idempotent-Replayed"] == "true" and effects == ["a"]


def test_a_sealed_answer_opens_only_with_its_own_key_and_record() -> None:
    from cryptography.exceptions import InvalidTag
    from tickerleague.adapters.dynamodb import idempotency as records

    answer = records.StoredAnswer(201, '{"accessToken":"t"}', {"Location": "/x"})
    sealed = records.seal("ip#198.51.100.7", "k-1", answer)
    assert records.unseal("ip#198.51.100.7", "k-1", 201, sealed) == answer
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for scope, key, blob in (("ip#198.51.100.7", "k-2", sealed), ("ip#203.0.113.9", "k-1", sealed),
                             ("ip#198.51.100.7", "k-1", tampered)):
        with pytest.raises(InvalidTag):
            records.unseal(scope, key, 201, blob)
    assert records.seal("ip#198.51.100.7", "k-1", answer) != sealed  # a fresh nonce every time


def test_an_answer_stored_in_the_clear_before_sealing_still_replays() -> None:
    import boto3
    from tickerleague.adapters.dynamodb import idempotency as records
    from tickerleague.config import settings
    from tickerleague.http.idempotency import request_hash

    fingerprint = request_hash("POST", "/v1/things", {}, {"name": "old"})
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName=settings().table_name, Item={
        **{name: {"S": value} for name, value in records.record_key("user#alice", "k-legacy").items()},
        "type": {"S": "idempotency"}, "status": {"S": "completed"}, "requestHash": {"S": fingerprint},
        "statusCode": {"N": "201"}, "body": {"S": '{"id": 41, "name": "old"}'},
        "headers": {"S": '{"Location": "/v1/things/41"}'}, "expiresAt": {"N": str(_now() + 3600)}})
    replayed = post({"name": "old"}, key="k-legacy")
    assert (replayed.status, replayed.body, replayed.headers["Location"]) == (201, {"id": 41, "name": "old"},
                                                                             "/v1/things/41")
    assert effects == []


def test_webhooks_ignore_the_key_and_are_not_limited() -> None:
    for _ in range(2):
        answer = post({}, key="k-w", caller=None, path="/v1/webhooks/stripe", handler=webhook)
        assert answer.status == 200 and "RateLimit-Limit" not in answer.headers
    assert effects == ["webhook", "webhook"]


# ---------------------------------------------------------------------------------------------------- rate limits
def _now() -> int:
    import time

    return int(time.time())


def test_every_answer_of_a_limited_route_carries_the_headers_and_429_has_retry_after() -> None:
    answers = [call(order, api_event("POST", "/v1/contests/c1/orders", resource="/v1/contests/{contestId}/orders",
                                     path_params={"contestId": "c1"}, caller=ALICE)) for _ in range(4)]
    assert [a.status for a in answers] == [201, 201, 201, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["RateLimit-Limit"] == "3" for a in answers)
    refused = answers[-1]
    assert refused.error_code == "RATE_LIMITED" and int(refused.headers["Retry-After"]) == 100
    assert int(refused.headers["RateLimit-Reset"]) == 300
    # Another player's orders, and Alice's other routes, have buckets of their own.
    assert call(order, api_event("POST", "/v1/contests/c1/orders", resource="/v1/contests/{contestId}/orders",
                                 path_params={"contestId": "c1"}, caller=BOB)).status == 201
    mine = call(listing, api_event("GET", "/v1/things", caller=ALICE))
    assert mine.status == 200 and mine.headers["RateLimit-Limit"] == "120"


def test_errors_carry_the_headers_too_and_health_is_not_limited() -> None:
    bad = post(None, raw="{", caller=ALICE)
    assert bad.status == 400 and bad.headers["RateLimit-Limit"] == "120"
    answer = call(health, api_event("GET", "/v1/health"))
    assert answer.status == 200 and "RateLimit-Limit" not in answer.headers


def test_unauthenticated_routes_are_limited_per_source_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.config import settings

    monkeypatch.setenv("RATE_LIMIT_IP_BURST", "2")
    monkeypatch.setenv("RATE_LIMIT_IP_PER_SECOND", "0.01")
    settings.cache_clear()
    statuses = [post({"name": "p"}, caller=None, path="/v1/auth/things", handler=public_create).status
                for _ in range(3)]
    elsewhere = post({"name": "p"}, caller=None, path="/v1/auth/things", handler=public_create, ip="203.0.113.9")
    assert statuses == [201, 201, 429] and elsewhere.status == 201


def test_cors_exposes_the_new_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = call(create, api_event("POST", "/v1/things", body={"name": "a"}, caller=ALICE,
                                    headers={"Origin": "http://localhost:5173"}))
    exposed = {name.strip() for name in answer.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After",
            "Idempotent-Replayed"} <= exposed


def test_a_limiter_outage_admits_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError
    from tickerleague.adapters.dynamodb import rate_limit

    def down(*args: Any, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://nowhere")

    monkeypatch.setattr(rate_limit, "take", down)
    answer = call(listing, api_event("GET", "/v1/things", caller=ALICE))
    assert answer.status == 200 and "RateLimit-Limit" not in answer.headers
    assert json.loads(json.dumps(answer.body)) == {"count": 0}


def test_round_trips_a_claim_costs_two_writes_and_a_replay_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.adapters.dynamodb.plumbing import client
    from tickerleague.config import settings

    monkeypatch.setenv("RATE_LIMIT_ENABLED", "0")  # count the idempotency layer alone
    settings.cache_clear()
    operations: list[str] = []

    def count(**kwargs: Any) -> None:
        operations.append(kwargs["model"].name)

    client().meta.events.register("before-call.dynamodb", count)
    try:
        post({"name": "a"}, key="k-rt")
        first = list(operations)
        operations.clear()
        post({"name": "a"}, key="k-rt")
    finally:
        client().meta.events.unregister("before-call.dynamodb", count)
    assert first == ["PutItem", "UpdateItem"] and operations == ["PutItem"]
