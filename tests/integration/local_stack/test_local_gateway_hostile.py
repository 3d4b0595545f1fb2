"""The local gateway under hostile HTTP (issue 15): every malformed or abusive request gets API Gateway's answer in
the project's envelope (template.yaml's GatewayResponses), and none holds a request thread."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from infra.local.gateway import MAX_BODY_BYTES, GatewayServer, LocalGateway
from infra.local.invoke import Invoker
from infra.local.template import load_template
from tests.support.table import TEMPLATE

CLIENT_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def server() -> Iterator[GatewayServer]:
    template = load_template(TEMPLATE, parameters_file=None)
    gateway = GatewayServer(LocalGateway(template, Invoker(template.functions)), "127.0.0.1", 0,
                            client_timeout_seconds=CLIENT_TIMEOUT)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


def exchange(server: GatewayServer, raw: bytes, *, read_timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one HTTP answer (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as conn:
        conn.sendall(raw)
        return read_answer(conn)


def read_answer(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            raise AssertionError(f"connection closed before an answer: {data!r}")
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        rest += piece
    return status, headers, rest[:length]


def envelope(body: bytes) -> dict:
    payload = json.loads(body)
    assert set(payload) == {"error"}, payload
    assert payload["error"]["code"] and payload["error"]["requestId"]
    return payload["error"]


def request(method: str, headers: dict[str, str] | None = None, body: bytes = b"", path: str = "/v1/nowhere") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "10, 12", "+5"])
def test_invalid_content_length_is_400(server: GatewayServer, length: str) -> None:
    status, headers, body = exchange(server, request("POST", {"Content-Length": length}, b"{}"))
    assert status == 400
    assert envelope(body)["code"] == "BAD_REQUEST"
    assert headers["connection"] == "close"


def test_huge_content_length_is_413_without_reading(server: GatewayServer) -> None:
    status, _, body = exchange(server, request("POST", {"Content-Length": str(MAX_BODY_BYTES + 1)}))
    assert status == 413
    assert envelope(body)["code"] == "PAYLOAD_TOO_LARGE"


def test_both_length_and_chunked_is_400(server: GatewayServer) -> None:
    raw = request("POST", {"Content-Length": "5", "Transfer-Encoding": "chunked"}, b"0\r\n\r\n")
    status, _, body = exchange(server, raw)
    assert status == 400
    assert envelope(body)["code"] == "BAD_REQUEST"


def test_missing_content_length_means_no_body(server: GatewayServer) -> None:
    status, _, body = exchange(server, request("POST"))
    assert status == 404  # read as a bodiless POST and routed: no such route
    assert envelope(body)["code"] == "NOT_FOUND"


def test_chunked_body_is_framed_exactly_and_keeps_the_connection(server: GatewayServer) -> None:
    chunked = b"4;ext=1\r\n{\"a\"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(request("POST", {"Transfer-Encoding": "chunked"}, chunked))
        first = read_answer(conn)
        conn.sendall(request("GET"))  # the same connection: the chunked body was consumed to its last byte
        second = read_answer(conn)
    assert first[0] == second[0] == 404


@pytest.mark.parametrize("chunked", [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"-2\r\n{}\r\n0\r\n\r\n",
                                     b"1" * 2000 + b"\r\n"])
def test_malformed_chunks_are_400(server: GatewayServer, chunked: bytes) -> None:
    status, _, body = exchange(server, request("POST", {"Transfer-Encoding": "chunked"}, chunked))
    assert status == 400
    assert envelope(body)["code"] == "BAD_REQUEST"


def test_chunked_over_the_limit_is_413(server: GatewayServer) -> None:
    status, _, body = exchange(server, request("POST", {"Transfer-Encoding": "chunked"},
                                               f"{MAX_BODY_BYTES + 1:x}\r\n".encode()))
    assert status == 413
    assert envelope(body)["code"] == "PAYLOAD_TOO_LARGE"


def test_unknown_transfer_encoding_is_400(server: GatewayServer) -> None:
    status, _, _ = exchange(server, request("POST", {"Transfer-Encoding": "gzip, chunked"}, b"0\r\n\r\n"))
    assert status == 400


def test_oversized_headers_are_431(server: GatewayServer) -> None:
    status, _, body = exchange(server, request("GET", {f"X-Pad-{i}": "p" * 1000 for i in range(11)}))
    assert status == 431
    assert envelope(body)["code"] == "BAD_REQUEST"


def test_too_many_or_too_long_header_lines_are_431_in_the_envelope(server: GatewayServer) -> None:
    status, headers, body = exchange(server, request("GET", {f"X-{i}": "1" for i in range(150)}))
    assert status == 431
    assert headers["content-type"] == "application/json"
    envelope(body)
    status, _, body = exchange(server, request("GET", {"X-Long": "l" * 70000}))
    assert status == 431
    envelope(body)


def test_overlong_request_line_is_414_in_the_envelope(server: GatewayServer) -> None:
    status, _, body = exchange(server, request("GET", path="/" + "a" * 70000))
    assert status == 414
    envelope(body)


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT", "FOO"])
def test_any_method_is_answered_in_the_envelope(server: GatewayServer, method: str) -> None:
    status, headers, body = exchange(server, request(method, path="/v1/health"))
    assert status == 404  # no such method on the resource: API Gateway's "no route" answer, not an HTML 501
    assert headers["content-type"] == "application/json"
    assert envelope(body)["code"] == "NOT_FOUND"


def test_garbage_request_line_is_400_in_the_envelope(server: GatewayServer) -> None:
    status, _, body = exchange(server, b"\x16\x03\x01garbage\r\n\r\n")
    assert status == 400
    envelope(body)


def test_a_stalled_body_is_408_and_the_connection_closed(server: GatewayServer) -> None:
    """The client sends 9 of 100 body bytes and then nothing, its connection left open: the server's own client
    timeout answers 408 (a client that closed would get 400, "shorter than its Content-Length") and hangs up."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5 * CLIENT_TIMEOUT) as conn:
        conn.sendall(request("POST", {"Content-Length": "100"}, b"{\"partial"))
        status, headers, body = read_answer(conn)
        assert conn.recv(1024) == b"", "the server closes the stalled connection after answering"
    assert status == 408
    assert headers["connection"] == "close"
    envelope(body)


def test_slow_clients_do_not_hold_threads_or_block_others(server: GatewayServer) -> None:
    """Twenty clients that send half a request line and go silent: each is dropped after the client timeout, and a
    normal request meanwhile is answered at once."""
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)]
    try:
        for conn in idle:
            conn.sendall(b"GET /v1/heal")
        status, _, _ = exchange(server, request("GET"))
        assert status == 404
        # Answered while every silent client is still connected: it did not wait for any of them to time out.
        for conn in idle:
            conn.setblocking(False)
            with pytest.raises(BlockingIOError):
                conn.recv(1)
            conn.setblocking(True)
        time.sleep(CLIENT_TIMEOUT + 0.5)
        for conn in idle:
            conn.settimeout(2)
            assert conn.recv(1024) == b"", "the server closes a silent connection"
    finally:
        for conn in idle:
            conn.close()
