"""The whole local stack as a subprocess (what `make dev` runs), driven over HTTP with the fixture template."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import requests

from infra.local.dynamodb_local import REPO_ROOT, free_port, port_in_use
from infra.local.harness import RunningStack, running_stack
from tests.support.local_stack import TEMPLATE
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(ddb_local: str) -> Iterator[RunningStack]:
    with running_stack(
        TEMPLATE,
        env_overrides={"LOCAL_SCHEDULE_RATE_SECONDS": "1"},
        ddb_endpoint=ddb_local,
        parameters_file=None,
        table_name=f"stack-{uuid.uuid4().hex[:8]}",
        seed=False,
    ) as running:
        yield running


def stored(stack: RunningStack, key: str) -> str | None:
    response = requests.get(f"{stack.base_url}/store/{key.replace('#', '%23')}", timeout=10)
    return response.json()["value"] if response.status_code == 200 else None


def test_handlers_get_the_template_environment(stack: RunningStack) -> None:
    response = requests.get(f"{stack.base_url}/items/x", timeout=10)
    assert response.status_code == 200
    assert response.headers["X-Greeting"] == "hello-us-east-1"


def test_dynamodb_calls_reach_dynamodb_local(stack: RunningStack) -> None:
    assert requests.put(f"{stack.base_url}/store/k1", data="hello", timeout=10).status_code == 204
    assert stored(stack, "k1") == "hello"


def test_queue_messages_reach_their_consumer(stack: RunningStack) -> None:
    messages = [{"key": "m1"}, {"key": "m2", "fail": True}]
    assert requests.post(f"{stack.base_url}/enqueue", json={"messages": messages}, timeout=10).status_code == 202
    wait_for(lambda: stored(stack, "consumed#m1") is not None, timeout=20)
    assert stored(stack, "consumed#m2") is None


def test_workflows_run_their_lambda_tasks(stack: RunningStack) -> None:
    response = requests.post(f"{stack.base_url}/flows", json={"key": "f1", "delaySeconds": 1}, timeout=10)
    assert response.json()["executionArn"].endswith(":execution:Flow:f1")
    wait_for(lambda: stored(stack, "step#f1") is not None, timeout=20)


def test_event_bus_rules_invoke_their_function(stack: RunningStack) -> None:
    assert requests.post(f"{stack.base_url}/publish", json={"key": "p1"}, timeout=10).json() == {"failed": 0}
    wait_for(lambda: stored(stack, "notified#p1") is not None, timeout=20)


def test_schedules_fire_with_the_rate_override(stack: RunningStack) -> None:
    first = wait_for(lambda: stored(stack, "tick#last"), timeout=20)
    wait_for(lambda: stored(stack, "tick#last") not in (None, first), timeout=20)


def run_stack_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "infra.local.stack", "--template", str(TEMPLATE), "--no-parameters", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


def java_children(pid: int) -> list[int]:
    result = subprocess.run(["pgrep", "-P", str(pid), "java"], capture_output=True, text=True, check=False)
    return [int(p) for p in result.stdout.split()]


def test_single_instance_ports_and_clean_shutdown() -> None:
    """A second start is refused, a taken port is reported, and SIGTERM leaves no DynamoDB Local behind."""
    ddb_port = free_port()
    with running_stack(TEMPLATE, ddb_port=ddb_port, parameters_file=None, seed=False) as running:
        assert running.process is not None
        port = running.base_url.rsplit(":", 1)[1]
        (java,) = java_children(running.process.pid)

        again = run_stack_cli("--state-dir", str(running.state_dir), "--port", port, "--in-memory")
        assert again.returncode == 1
        assert f"already running (pid {running.process.pid}) on :{port}" in again.stderr

        elsewhere = run_stack_cli("--state-dir", str(running.state_dir / "other"), "--port", port, "--in-memory")
        assert elsewhere.returncode == 1
        assert f"port {port} is in use" in elsewhere.stderr

        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=30) == 0
    assert not port_in_use(ddb_port)
    with pytest.raises(ProcessLookupError):
        os.kill(java, 0)


def test_in_process_stack_exposes_its_parts_and_restores_the_environment(ddb_local: str) -> None:
    before = dict(os.environ)
    with running_stack(
        TEMPLATE, ddb_endpoint=ddb_local, parameters_file=None, table_name="in-process", seed=False, in_process=True
    ) as running:
        assert running.stack is not None
        assert running.stack.template is not None
        assert os.environ["TABLE_NAME"] == "in-process"
        assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == ddb_local
        assert os.environ["FLOW_ARN"].endswith(":stateMachine:Flow")
        assert requests.put(f"{running.base_url}/store/k", data="v", timeout=10).status_code == 204
        assert stored(running, "k") == "v"
    assert dict(os.environ) == before
