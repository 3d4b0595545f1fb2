"""Test helpers: the whole local stack (or just DynamoDB Local) on free ports, started and always stopped.

``running_stack`` runs the stack as a subprocess by default, with a clean environment (PATH, HOME ...,
``LOCAL_*`` and ``env_overrides``; not the test session's app settings). moto's ``mock_aws`` is process-global, so
an in-process stack would share (and reset) moto state with any unit test that also uses moto, and
handler modules imported by the stack would stay imported in the test process. ``in_process=True`` is
there for tests that need to reach inside (the template object, the invoker, moto clients); such tests
must not use ``mock_aws`` themselves while the stack runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.local.dynamodb_local import (
    REPO_ROOT,
    DynamoDBLocal,
    free_port,
    port_in_use,
    start_dynamodb_local,
)
from infra.local.stack import LocalStack, StackConfig
from infra.local.template import DEFAULT_PARAMETERS_FILE

__all__ = ["RunningStack", "free_port", "running_stack", "start_dynamodb_local"]

START_TIMEOUT_SECONDS = 180.0
# What the stack subprocess inherits from the test process: enough to run, nothing the tests set for the app
# (a test session's TABLE_NAME or signing keys must not leak into a stack that should behave like `make dev`).
# PYTHONPATH too: a worktree sharing another checkout's venv (whose editable install names that checkout's layer)
# must run its own layer in the stack, as it does in the tests.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME", "PYENV_ROOT", "VIRTUAL_ENV", "PYTHONPATH")
INHERITED_PREFIXES = ("LOCAL_", "DYNAMODB_LOCAL_")
STOP_TIMEOUT_SECONDS = 20.0


class StackStartError(RuntimeError):
    """The stack subprocess died or did not open its port in time (the message holds its log tail)."""


@dataclass
class RunningStack:
    """A started stack: where to reach it, and (in-process only) the stack object itself."""

    base_url: str
    ddb_endpoint: str
    state_dir: Path
    log_path: Path | None = None
    stack: LocalStack | None = None
    process: subprocess.Popen[bytes] | None = None
    mail_url: str | None = None  # the SendGrid stand-in (infra/local/mailbox.py)
    stripe_url: str | None = None  # localstripe's base address


@contextlib.contextmanager
def running_stack(
    template_path: Path | str = REPO_ROOT / "template.yaml",
    port: int | None = None,
    ddb_port: int | None = None,
    env_overrides: Mapping[str, str] | None = None,
    *,
    in_process: bool = False,
    ddb_endpoint: str | None = None,
    seed: bool = True,
    parameters_file: Path | None = DEFAULT_PARAMETERS_FILE,
    table_name: str | None = None,
    state_dir: Path | None = None,
    mail_port: int | None = None,
) -> Iterator[RunningStack]:
    """Start the whole stack on free ports with DynamoDB Local ``-inMemory`` (unless ``state_dir``); stop it on exit.

    ``ddb_endpoint`` reuses a running DynamoDB Local (e.g. the ``ddb_local`` fixture) instead of starting
    one; give a ``table_name`` then, so tests sharing it do not share a table. ``parameters_file=None``
    uses the template's parameter defaults instead of ``infra/local/parameters.json``. ``state_dir`` keeps the
    stack's data there, on disk as ``make dev`` does (DynamoDB Local, localstripe, outbox, queued messages): a
    second ``running_stack`` on the same directory is a restart (tests/e2e/test_restart_safety.py).
    ``mail_port=0`` starts no mail stand-in: the functions then send where the template's parameters point them
    (``SendGridApiBase``, ``SendGridTemplateIds`` in ``parameters_file``).
    """
    port = port or free_port()
    ddb_port = ddb_port or free_port()
    mail_port = free_port() if mail_port is None else mail_port
    stripe_port = free_port()  # localstripe: never the fixed 8420 from a test
    with contextlib.ExitStack() as cleanup:
        if state_dir is None:
            state_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="local-stack-")))
            in_memory = True
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            in_memory = False
        config = StackConfig(
            template_path=Path(template_path),
            state_dir=state_dir,
            port=port,
            ddb_port=ddb_port,
            mail_port=mail_port,
            ddb_endpoint=ddb_endpoint,
            stripe_port=stripe_port,
            in_memory=in_memory,
            seed=seed,
            env_overrides=dict(env_overrides or {}),
            parameters_file=parameters_file,
        )
        if in_process:
            with _in_process(config, table_name) as running:
                yield running
        else:
            with _subprocess(config, table_name) as running:
                yield running


@contextlib.contextmanager
def _in_process(config: StackConfig, table_name: str | None) -> Iterator[RunningStack]:
    if table_name is not None:
        from infra.local.template import load_template

        template = load_template(config.template_path, config.parameters_file)
        config.physical_names = {template.table_ids[0]: table_name}
    stack = LocalStack(config)
    stack.start()
    try:
        yield RunningStack(stack.url, stack.ddb_endpoint, config.state_dir, stack=stack,
                           mail_url=_mail_url(config), stripe_url=stack.stripe_url)
    finally:
        stack.stop()


def _mail_url(config: StackConfig) -> str | None:
    return f"http://127.0.0.1:{config.mail_port}" if config.mail_port else None


def _command(config: StackConfig, table_name: str | None) -> list[str]:
    command = [sys.executable, "-m", "infra.local.stack", "--template", str(config.template_path)]
    command += ["--state-dir", str(config.state_dir), "--port", str(config.port), "--ddb-port", str(config.ddb_port)]
    command += ["--mail-port", str(config.mail_port)]
    command += ["--stripe-port", str(config.stripe_port)]
    if config.in_memory:
        command.append("--in-memory")
    if config.parameters_file is None:
        command.append("--no-parameters")
    else:
        command += ["--parameters", str(config.parameters_file)]
    if config.ddb_endpoint:
        command += ["--ddb-endpoint", config.ddb_endpoint]
    if not config.seed:
        command.append("--no-seed")
    if table_name:
        command += ["--table-name", table_name]
    return command


@contextlib.contextmanager
def _subprocess(config: StackConfig, table_name: str | None) -> Iterator[RunningStack]:
    log_path = config.state_dir / "stack.log"
    inherited = {
        key: value for key, value in os.environ.items() if key in INHERITED_ENV or key.startswith(INHERITED_PREFIXES)
    }
    env = {**inherited, **config.env_overrides, "PYTHONUNBUFFERED": "1", "PYTHONPATH": _code_path()}
    with open(log_path, "ab") as log:  # appended: a restart on the same state dir keeps the earlier log
        process = subprocess.Popen(
            _command(config, table_name),
            cwd=str(REPO_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_port(process, config.port, log_path)
            ddb = config.ddb_endpoint or f"http://127.0.0.1:{config.ddb_port}"
            yield RunningStack(f"http://127.0.0.1:{config.port}", ddb, config.state_dir, log_path, process=process,
                               mail_url=_mail_url(config),
                               stripe_url=f"http://127.0.0.1:{config.stripe_port}")
        finally:
            _terminate(process)


def _code_path() -> str:
    """The stack runs this checkout's code: its layer and repo root come first on ``sys.path``, ahead of whatever
    the venv's editable install of ``tickerleague`` points at (another checkout, in a shared venv)."""
    return os.pathsep.join([str(REPO_ROOT / "layers" / "core"), str(REPO_ROOT)])


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """The gateway opens its port last, so an open port means the stack is ready."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not port_in_use(port):
        if process.poll() is not None:
            raise StackStartError(f"local stack exited ({process.returncode}):\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise StackStartError(f"local stack did not open :{port} in time:\n{_tail(log_path)}")
        time.sleep(0.1)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def dynamodb_local_for_tests(port: int | None = None) -> DynamoDBLocal:
    """DynamoDB Local ``-inMemory`` on a free port (what the ``ddb_local`` pytest fixture uses)."""
    return start_dynamodb_local(port or free_port(), in_memory=True)
