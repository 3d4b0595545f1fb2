"""The leaderboard benchmark runs end to end at a tiny size (`make bench` runs it at 100,000 entries)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_benchmark_prints_its_table(ddb_local: str) -> None:
    # A subprocess: the benchmark points the code at its own table and client, which must not leak into this session.
    env = {key: value for key, value in os.environ.items() if key not in ("TABLE_NAME", "AWS_ENDPOINT_URL_DYNAMODB")}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.leaderboard", "--entries", "300", "--symbols", "20",
         "--endpoint", ddb_local],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| scenario")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [
        "read every entry", "full recompute", "incremental, 3 traded + quotes moved", "incremental, nothing moved",
        "final standings", "history of one player"]
    assert rows[0].split(" | ")[3] == "300" and rows[2].split(" | ")[3] == "3"  # entries read: all, then the traders
    assert any(line.startswith("full recompute / read = ") for line in lines)
