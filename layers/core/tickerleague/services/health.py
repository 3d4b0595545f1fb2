"""Health: each dependency is checked for real, side by side, each within HEALTH_CHECK_TIMEOUT_SECONDS.

Checked: the table; every queue and secret the function is configured with (settings ending in _QUEUE_URL and
_SECRET_ID, so a capability that adds a queue or a secret is checked once the health function is given it); on the
local stack, the local components it names (LOCAL_COMPONENTS). A check's value is "ok", "fail: <reason>" or
"timeout"; any other than "ok" makes the answer 503 (handler) with status "degraded".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

from tickerleague.config import Settings, settings


@dataclass(frozen=True)
class Health:
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, str]
    duration_ms: int

Check = Callable[[], None]


def _checks(config: Settings) -> dict[str, Check]:
    from tickerleague.adapters import probes

    timeout, region = config.health_check_timeout_seconds, config.region
    checks: dict[str, Check] = {
        "dynamodb": lambda: probes.table(config.table_name, region, timeout, config.dynamodb_endpoint),
    }
    for name, url in config.health_queue_urls:
        checks[f"queue:{name}"] = lambda url=url: probes.queue(url, region, timeout)  # type: ignore[misc]
    for name, secret_id in config.health_secret_ids:
        if secret_id.startswith("/"):  # an SSM parameter path (plain config and the quotes key), not a secret ARN
            checks[f"parameter:{name}"] = lambda sid=secret_id: probes.parameter(sid, region, timeout)  # type: ignore[misc]
        else:
            checks[f"secret:{name}"] = lambda sid=secret_id: probes.secret(sid, region, timeout)  # type: ignore[misc]
    for name, host, port in config.local_components:
        checks[f"local:{name}"] = lambda host=host, port=port: probes.tcp(host, port, timeout)  # type: ignore[misc]
    services = {"dynamodb"} | {"sqs" for _ in config.health_queue_urls} | {
        "ssm" if secret_id.startswith("/") else "secretsmanager" for _, secret_id in config.health_secret_ids}
    probes.warm(services, region, timeout, config.dynamodb_endpoint)
    return checks


def _outcome(check: Check) -> str:
    try:
        check()
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
        return f"fail: {code or type(error).__name__}"
    return "ok"


def run_checks(checks: dict[str, Check], timeout_seconds: float) -> dict[str, str]:
    """Every check at once; one that has not answered within the timeout is "timeout" (its thread is left to end
    on its own client timeout, never joined, so a hung dependency cannot hang the answer)."""
    pool = ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="health")
    futures = {name: pool.submit(_outcome, check) for name, check in checks.items()}
    wait(futures.values(), timeout=timeout_seconds)
    pool.shutdown(wait=False, cancel_futures=True)
    return {name: future.result() if future.done() else "timeout" for name, future in sorted(futures.items())}


def check() -> Health:
    started = time.perf_counter()
    config = settings()
    checks = run_checks(_checks(config), config.health_check_timeout_seconds)
    healthy = all(value == "ok" for value in checks.values())
    return Health(
        status="ok" if healthy else "degraded", version=config.version, checks=checks,
        duration_ms=round((time.perf_counter() - started) * 1000),
    )
