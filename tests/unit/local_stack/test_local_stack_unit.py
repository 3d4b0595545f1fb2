"""Stack plumbing: the single-instance lock, --reset, seed hooks, command line."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from infra.local.stack import (
    InstanceLock,
    StackError,
    base_environment,
    call_seed_hook,
    parse_args,
    wipe_state,
)
from tests.support.local_stack import TEMPLATE


def test_second_lock_names_the_running_instance(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path)
    first.acquire(3000)
    try:
        holder = json.loads((tmp_path / "stack.lock").read_text())
        with pytest.raises(StackError, match=rf"already running \(pid {holder['pid']}\) on :3000"):
            InstanceLock(tmp_path).acquire(3001)
    finally:
        first.release()
    again = InstanceLock(tmp_path)
    again.acquire(3002)
    again.release()


def test_reset_wipes_everything_but_the_lock(tmp_path: Path) -> None:
    (tmp_path / "ddb").mkdir()
    (tmp_path / "ddb" / "shared-local-instance.db").write_text("x")
    (tmp_path / "secrets.json").write_text("{}")
    (tmp_path / "stack.lock").write_text("{}")
    wipe_state(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["stack.lock"]
    wipe_state(tmp_path / "missing")  # nothing to wipe is fine


def test_seed_hooks_are_optional_and_may_take_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fake_seed.py").write_text(
        textwrap.dedent(
            """
            SEEN = []
            def run(env):
                SEEN.append(("run", env["TABLE_NAME"]))
            def on_start():
                SEEN.append(("on_start", None))
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert call_seed_hook("run", {"TABLE_NAME": "t"}, module_name="fake_seed")
    assert call_seed_hook("on_start", {}, module_name="fake_seed")
    assert not call_seed_hook("missing_hook", {}, module_name="fake_seed")
    assert not call_seed_hook("run", {}, module_name="no_such_seed_module")
    assert sys.modules["fake_seed"].SEEN == [("run", "t"), ("on_start", None)]


def test_handler_base_environment() -> None:
    env = base_environment("http://127.0.0.1:8000", "us-east-1")
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:8000"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["LOCAL_STACK"] == "1"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert env["TZ"] == ":UTC"
    assert "POWERTOOLS_METRICS_DISABLED" not in env


def test_local_per_ip_login_limit_is_higher_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGIN_MAX_FAILURES_PER_IP", raising=False)
    assert base_environment("http://127.0.0.1:8000", "us-east-1")["LOGIN_MAX_FAILURES_PER_IP"] == "500"
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_IP", "7")
    assert base_environment("http://127.0.0.1:8000", "us-east-1")["LOGIN_MAX_FAILURES_PER_IP"] == "7"


def test_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_API_PORT", raising=False)
    defaults = parse_args([])
    assert (defaults.port, defaults.ddb_port, defaults.in_memory, defaults.reset, defaults.seed) == (
        3000,
        8000,
        False,
        False,
        True,
    )
    assert defaults.parameters_file is not None
    custom = parse_args(
        ["--template", str(TEMPLATE), "--no-parameters", "--reset", "--no-seed", "--table-name", "t1", "--port", "1"]
    )
    assert (custom.parameters_file, custom.reset, custom.seed, custom.port) == (None, True, False, 1)
    assert custom.physical_names == {"Table": "t1"}
