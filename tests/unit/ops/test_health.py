"""GET /v1/health: the table, each configured queue and secret, and local components, each within its timeout."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import boto3
import pytest
from tickerleague.adapters import probes
from tickerleague.config import settings


@pytest.fixture
def healthy(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The table (moto), a queue and a secret, named in the environment the way template.yaml names them."""
    probes._client.cache_clear()
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="stripe-events")["QueueUrl"]
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="jwt", SecretString=json.dumps({"current": "k1", "k1": "x" * 48}))["ARN"]
    monkeypatch.setenv("STRIPE_EVENTS_QUEUE_URL", url)
    monkeypatch.setenv("JWT_KEYS_SECRET_ID", secret)
    monkeypatch.setenv("CURSOR_KEY_SECRET_ID", secret)
    monkeypatch.setenv("QUOTES_API_KEY_PARAMETER", "/tickerleague/test/quotes-api-key")
    monkeypatch.setenv("HEALTH_CHECK_TIMEOUT_SECONDS", "2")
    settings.cache_clear()
    yield {"queue": url, "secret": secret}
    probes._client.cache_clear()
    settings.cache_clear()


def call() -> tuple[int, dict]:
    from functions import health
    from tests.support.events import api_event

    answer = health.check(api_event("GET", "/v1/health"), None)
    return answer["statusCode"], json.loads(answer["body"])


def test_all_dependencies_up_is_200_with_each_check(healthy: dict[str, str]) -> None:
    status, body = call()
    assert status == 200
    assert body["status"] == "ok"
    assert body["version"]
    # JWT and cursor keys share one secret: checked once. The simulated quote provider needs no key parameter.
    assert body["checks"] == {"dynamodb": "ok", "queue:stripe-events": "ok", "secret:cursor-key": "ok"}


def test_a_missing_queue_is_503_naming_it(healthy: dict[str, str]) -> None:
    boto3.client("sqs", region_name="us-east-1").delete_queue(QueueUrl=healthy["queue"])
    status, body = call()
    assert status == 503
    assert body["status"] == "degraded"
    assert body["checks"]["queue:stripe-events"].startswith("fail: ")
    assert body["checks"]["dynamodb"] == "ok"


def test_a_deleted_secret_is_503_naming_it(healthy: dict[str, str]) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").delete_secret(SecretId=healthy["secret"])
    status, body = call()
    assert status == 503
    assert body["checks"]["secret:cursor-key"].startswith("fail: ")


def test_a_missing_table_is_503(healthy: dict[str, str]) -> None:
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName=healthy and settings().table_name)
    status, body = call()
    assert status == 503
    assert body["checks"]["dynamodb"] == "fail: ResourceNotFoundException"


def test_a_real_provider_needs_its_key_parameter(healthy: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTES_PROVIDER", "finnhub")
    settings.cache_clear()
    ssm = boto3.client("ssm", region_name="us-east-1")
    # moto loads AWS's public parameters on its first SSM call (seconds): pay that before the timed check.
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/warm-up")
    status, body = call()
    assert status == 503
    assert body["checks"]["parameter:quotes-api-key"] == "fail: ParameterNotFound"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts and never answers: a hung dependency."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_dependency_is_a_timeout_within_the_bound(healthy: dict[str, str], silent_server: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", f"http://127.0.0.1:{silent_server}")
    probes._client.cache_clear()
    status, body = call()
    assert status == 503
    assert body["checks"]["queue:stripe-events"] in ("timeout", "fail: ReadTimeoutError")
    assert body["checks"]["dynamodb"] == "ok"


def test_a_check_that_never_answers_is_reported_while_it_still_hangs() -> None:
    """The answer does not wait for a hung check: it comes back while that check is still blocked, which is what
    bounds the health answer by the timeout whatever the dependency does."""
    from tickerleague.services.health import run_checks

    release = threading.Event()
    hung_finished = threading.Event()

    def hung() -> None:
        release.wait(60)
        hung_finished.set()

    def failing() -> None:
        raise OSError("refused")

    try:
        checks = run_checks({"hung": hung, "ok": lambda: None, "failing": failing}, timeout_seconds=1.0)
        assert not hung_finished.is_set()  # answered first: the hung check was neither awaited nor joined
    finally:
        release.set()
    assert checks == {"failing": "fail: OSError", "hung": "timeout", "ok": "ok"}
    assert hung_finished.wait(10)


def test_local_components_are_reported(healthy: dict[str, str], silent_server: int,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setenv("LOCAL_COMPONENTS", f"dynamodb-local=127.0.0.1:{silent_server},mailbox=127.0.0.1:{closed_port}")
    settings.cache_clear()
    status, body = call()
    assert status == 503
    assert body["checks"]["local:dynamodb-local"] == "ok"
    assert body["checks"]["local:mailbox"] == "fail: ConnectionRefusedError"
