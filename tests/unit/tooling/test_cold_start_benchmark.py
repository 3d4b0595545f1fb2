"""The cold-start benchmark runs and reports (one run, one module: this checks it works, never how fast it is)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.cold_start import BASELINE, profile_lines, run, stage, targets


def test_benchmark_measures_a_handler_against_boto3() -> None:
    rows, text = run(["health"], runs=1, profile=False)
    assert [row.target.module for row in rows] == [BASELINE, "health"]
    assert all(row.import_ms > 0 and row.cpu_ms > 0 and row.process_ms >= row.import_ms and row.modules > 0
               for row in rows)
    assert rows[0].ratio == 1.0
    assert "| health | HealthFunction |" in text
    assert f"`import {BASELINE}`" in text
    assert "Tracer setup at a container's first traced invocation" in text  # measured with tracing on, as in Lambda


def test_staged_handlers_import_from_the_precompiled_copy(tmp_path: Path) -> None:
    paths = stage(tmp_path)
    assert paths[0].startswith(str(tmp_path)) and paths[1].startswith(str(tmp_path))
    assert list((tmp_path / "python/tickerleague/__pycache__").glob("*.cpython-312.pyc"))
    assert (tmp_path / "site/pydantic").is_symlink() and not (tmp_path / "site/pytest").exists()
    health = next(target for target in targets(["health"]) if target.module == "health")
    profile = "\n".join(profile_lines(health, paths))
    assert "| tickerleague | " in profile  # our own package is among the costliest ten
