"""What a browser page on the local frontend's origin (infra/local/parameters.json) sees of the API: preflights
answered for every path (SAM's generated OPTIONS methods, no token needed), answers it may read, and gateway errors
it may read too. Another origin gets the preflight but may not read the answers."""

from __future__ import annotations

import requests

from tests.e2e.client import TIMEOUT, Player

PAGE = "http://localhost:5173"


def test_a_preflight_names_the_path_s_methods_and_the_headers_a_page_may_send(base_url: str) -> None:
    answer = requests.options(f"{base_url}/v1/contests/01J00000000000000000000000/orders", timeout=TIMEOUT,
                              headers={"Origin": PAGE, "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "authorization,content-type,idempotency-key,"
                                                                         "x-correlation-id"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"
    assert {name.strip().lower() for name in answer.headers["Access-Control-Allow-Headers"].split(",")} == {
        "authorization", "content-type", "idempotency-key", "x-correlation-id"}
    assert answer.headers["Access-Control-Max-Age"] == "600"


def test_a_page_on_an_allowed_origin_may_read_answers_and_gateway_errors(base_url: str, player: Player) -> None:
    listed = requests.get(f"{base_url}/v1/contests", timeout=TIMEOUT,
                          headers={**player.auth, "Origin": PAGE, "X-Correlation-Id": "page-trace-1"})
    assert listed.status_code == 200
    assert listed.headers["Access-Control-Allow-Origin"] == PAGE
    exposed = {name.strip() for name in listed.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Request-Id", "X-Correlation-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
            "Retry-After", "Idempotent-Replayed"} <= exposed
    assert listed.headers["X-Correlation-Id"] == "page-trace-1"
    assert listed.headers["RateLimit-Limit"]
    refused = requests.get(f"{base_url}/v1/me", headers={"Origin": PAGE}, timeout=TIMEOUT)
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"


def test_another_origin_may_not_read_the_handlers_answers(base_url: str, player: Player) -> None:
    listed = requests.get(f"{base_url}/v1/contests", timeout=TIMEOUT,
                          headers={**player.auth, "Origin": "https://elsewhere.example"})
    assert listed.status_code == 200 and "Access-Control-Allow-Origin" not in listed.headers
