"""Every function logs JSON: a job module, imported alone in a fresh interpreter (a cold start), sets up the same
Powertools Logger as the HTTP handlers, so a service's standard-library log line comes out as JSON with its extras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import importlib, logging, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
importlib.import_module(sys.argv[3])
logging.getLogger("tickerleague.orders").warning("matched", extra={"filled": 3})
"""


@pytest.mark.parametrize("module", ["jobs.orders", "jobs.quotes", "jobs.leaderboard", "jobs.lifecycle",
                                    "jobs.reconcile", "jobs.notifications", "jobs.stripe_events",
                                    "jobs.payment_holds", "jobs.payments_reconcile"])
def test_a_job_logs_json_with_its_extra_fields(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "functions"), str(ROOT / "layers" / "core"), module],
        capture_output=True, text=True, timeout=120, check=True, cwd=ROOT,
    )
    lines = [json.loads(line) for line in (done.stdout + done.stderr).splitlines() if line.startswith("{")]
    assert any(line.get("message") == "matched" and line.get("filled") == 3 for line in lines), done
