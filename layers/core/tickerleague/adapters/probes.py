"""Dependency probes for the health check: one cheap, read-only call each, with a hard timeout and no retries.

Each probe returns nothing when the dependency answers and raises otherwise; the caller turns that into a check.
"""

from __future__ import annotations

import socket
from functools import lru_cache
from typing import Any


def warm(services: set[str], region: str, timeout_seconds: float, dynamodb_endpoint: str | None) -> None:
    """Create the clients up front: building one costs more than the call it makes, and must not eat the timeout."""
    for service in sorted(services):
        _client(service, region, timeout_seconds, dynamodb_endpoint if service == "dynamodb" else None)


@lru_cache(maxsize=16)
def _client(service: str, region: str, timeout_seconds: float, endpoint: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    # One attempt: a health check that retries hides the slowness it exists to report.
    config = Config(connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                    retries={"max_attempts": 1, "mode": "standard"})
    client: Any = boto3.client(service, region_name=region, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]
    return client


def table(name: str, region: str, timeout_seconds: float, endpoint: str | None) -> None:
    status = _client("dynamodb", region, timeout_seconds, endpoint).describe_table(TableName=name)["Table"][
        "TableStatus"]
    if status not in ("ACTIVE", "UPDATING"):
        raise ProbeFailed(f"table {status}")


def queue(url: str, region: str, timeout_seconds: float) -> None:
    _client("sqs", region, timeout_seconds).get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])


def secret(secret_id: str, region: str, timeout_seconds: float) -> None:
    # DescribeSecret, not GetSecretValue: the health check proves the secret exists without ever holding its value.
    described = _client("secretsmanager", region, timeout_seconds).describe_secret(SecretId=secret_id)
    if described.get("DeletedDate"):
        raise ProbeFailed("secret scheduled for deletion")


def parameter(name: str, region: str, timeout_seconds: float) -> None:
    # Without decryption: a SecureString comes back encrypted, so its value is never seen here either.
    _client("ssm", region, timeout_seconds).get_parameter(Name=name, WithDecryption=False)


def tcp(host: str, port: int, timeout_seconds: float) -> None:
    with socket.create_connection((host, port), timeout=timeout_seconds):
        pass


class ProbeFailed(Exception):
    """A dependency answered, but not as a healthy one does."""
