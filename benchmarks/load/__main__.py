"""``make bench-load``: the game loop under locust against a local stack of its own, headless, bounded in users and
time; prints p50/p95/p99 and outcomes per route and exits 1 on any unexpected error (5xx, no answer, a status the
spec does not document, a 4xx the profile should not cause). Refusals by rule (422 trading rules, 409 seat or cancel
races) and by rate limit (429) are counted apart.

Settings (environment): LOAD_USERS (20), LOAD_SECONDS (60), LOAD_SPAWN_RATE (users started per second, 5),
LOAD_OUTPUT (also write the table there). The stack is ``infra.local.harness.running_stack`` on free ports, DynamoDB
Local in memory, with `make dev`'s settings: the per-IP rate limit raised 10x (every locust user is 127.0.0.1), the
per-user limits as deployed, production Argon2 parameters. RATE_LIMIT_*, ARGON2_*, PAYMENT_HOLD_SECONDS and
LOCAL_SCHEDULE_RATE_SECONDS in the environment are passed on to the stack.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from benchmarks.load.results import documented_statuses, read_samples, summarize, table

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ADMIN_EMAIL = "load-admin@example.com"
ADMIN_PASSWORD = "load-admin-password-2026"
PASSED_ON = ("RATE_LIMIT_", "ARGON2_", "PAYMENT_HOLD_SECONDS", "LOGIN_MAX_FAILURES")
TIMEOUT = 30


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    value = int(raw) if raw else default
    if value <= 0:
        raise SystemExit(f"{name} must be positive, got {raw!r}")
    return value


def stack_environment() -> dict[str, str]:
    env = {"LOCAL_ADMIN_EMAIL": ADMIN_EMAIL, "LOCAL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.update({key: value for key, value in os.environ.items() if key.startswith(PASSED_ON)})
    return env


def _contest(base_url: str, token: str, body: dict[str, Any]) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    created = requests.post(f"{base_url}/v1/contests", json=body, headers=auth, timeout=TIMEOUT)
    created.raise_for_status()
    contest_id = str(created.json()["id"])
    requests.post(f"{base_url}/v1/contests/{contest_id}/publish", headers=auth, timeout=TIMEOUT).raise_for_status()
    return contest_id


def create_contests(base_url: str) -> tuple[str, str]:
    """An active free contest (starts a few seconds from now, ends in two hours) and a scheduled paid one."""
    login = requests.post(f"{base_url}/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                          timeout=TIMEOUT)
    login.raise_for_status()
    token = login.json()["accessToken"]
    now = datetime.now(UTC).replace(microsecond=0)
    free = _contest(base_url, token, {"name": f"Load free {now:%H%M%S}", "startsAt": _iso(now + timedelta(seconds=5)),
                                      "endsAt": _iso(now + timedelta(hours=2)), "startingCash": "100000.00"})
    paid = _contest(base_url, token, {"name": f"Load paid {now:%H%M%S}", "startsAt": _iso(now + timedelta(hours=1)),
                                      "endsAt": _iso(now + timedelta(days=1)),
                                      "entryFee": {"amount": "5.00", "currency": "usd"}})
    deadline = time.monotonic() + 60
    while requests.get(f"{base_url}/v1/contests/{free}", timeout=TIMEOUT).json()["status"] != "active":
        if time.monotonic() > deadline:
            raise SystemExit("the free contest did not become active within 60 s")
        time.sleep(0.5)
    return free, paid


def run_locust(base_url: str, stripe_url: str, contests: tuple[str, str], samples: Path, users: int,
               seconds: int, spawn_rate: int) -> int:
    env = {**os.environ, "LOAD_CONTEST_ID": contests[0], "LOAD_PAID_CONTEST_ID": contests[1],
           "LOAD_STRIPE_URL": stripe_url, "LOAD_SAMPLES": str(samples)}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base_url,
               "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s", "--stop-timeout", "25",
               "--only-summary", "--loglevel", "ERROR", "--skip-log-setup"]
    # locust's own exit code is 1 when any request "failed" by its rules (every 4xx); ours is the classification.
    return subprocess.run(command, cwd=str(ROOT), env=env, check=False, stdout=subprocess.DEVNULL).returncode


def _log_tail(path: Path | None, lines: int = 60) -> str:
    if path is None or not path.exists():
        return "(no stack log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def machine() -> str:
    return (f"{os.cpu_count()} CPU cores (nproc), Python {platform.python_version()}, {platform.system()} "
            f"{platform.machine()}")


def main() -> int:
    from infra.local.harness import running_stack

    users = _setting("LOAD_USERS", 20)
    seconds = _setting("LOAD_SECONDS", 60)
    spawn_rate = _setting("LOAD_SPAWN_RATE", 5)
    documented = documented_statuses(json.loads((ROOT / "api-specification.json").read_text(encoding="utf-8")))
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, running_stack(
            env_overrides=stack_environment()) as stack:
        assert stack.stripe_url is not None
        try:
            contests = create_contests(stack.base_url)
        except requests.RequestException:
            print(_log_tail(stack.log_path), file=sys.stderr)
            raise
        samples_path = Path(tmp) / "samples.jsonl"
        print(f"locust: {users} users (spawn {spawn_rate}/s), {seconds} s against {stack.base_url}", flush=True)
        started = time.monotonic()
        code = run_locust(stack.base_url, stack.stripe_url, contests, samples_path, users, seconds, spawn_rate)
        elapsed = time.monotonic() - started
        samples = read_samples(samples_path)
    summary = summarize(samples, documented, float(seconds))
    lines = [f"Load baseline: {users} users, {seconds} s (wall {elapsed:.0f} s), {machine()}", "", table(summary), "",
             f"unexpected errors: {summary.unexpected}"]
    text = "\n".join(lines)
    print(text)
    if os.environ.get("LOAD_OUTPUT"):
        Path(os.environ["LOAD_OUTPUT"]).write_text(text + "\n", encoding="utf-8")
    if not samples:
        print(f"no request was recorded (locust exited {code})", file=sys.stderr)
        return 1
    return 1 if summary.unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
