"""The local stack's /v1/health: the real checks against DynamoDB Local and moto, plus which local servers are up."""

from __future__ import annotations

import requests

TIMEOUT = 10


def test_local_health_names_each_component(base_url: str) -> None:
    answer = requests.get(f"{base_url}/v1/health", timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok"
    assert body["version"]
    checks = body["checks"]
    assert checks["dynamodb"] == "ok"
    assert checks["local:dynamodb-local"] == "ok"
    assert any(name.startswith("secret:") for name in checks), checks  # the signing keys, in moto's Secrets Manager
    assert set(checks.values()) == {"ok"}
