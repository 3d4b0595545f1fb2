"""The scanners of `make security`: bandit fails on a real finding, pip-audit never passes silently."""

from __future__ import annotations

from pathlib import Path

from infra.build import security_scan


def test_bandit_fails_on_a_medium_finding(tmp_path: Path) -> None:
    unsafe = "import yaml\n\n\ndef load(text):\n    return yaml.load(text, Loader=yaml.Loader)\n"
    (tmp_path / "bad.py").write_text(unsafe)
    assert security_scan.run_bandit(["bad.py"], cwd=tmp_path) != 0


def test_bandit_passes_clean_code(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("import yaml\n\n\ndef load(text):\n    return yaml.safe_load(text)\n")
    assert security_scan.run_bandit(["good.py"], cwd=tmp_path) == 0


def test_runtime_closure_is_the_layer_dependencies_and_theirs() -> None:
    closure = security_scan.runtime_closure()
    for direct in ("pynamodb", "pydantic", "pyjwt", "argon2-cffi", "requests", "aws-lambda-powertools", "boto3"):
        assert direct in closure
    assert "pydantic-core" in closure and "botocore" in closure  # transitive
    assert "aws-xray-sdk" in closure  # the [tracer] extra is followed
    assert "pytest" not in closure and "moto" not in closure  # dev tools are not runtime


def test_pip_audit_outcomes_are_never_a_silent_pass() -> None:
    classify = security_scan.classify_pip_audit
    assert classify(0, "No known vulnerabilities found", 3) == "ok"
    line = "pkg{0}  Dependency not found on PyPI and could not be audited: pkg{0} (1.0)"
    skipped = "\n".join(line.format(i) for i in range(3))
    assert classify(0, skipped, 3) == "unaudited"
    assert classify(0, skipped.splitlines()[0], 3) == "partial"
    assert classify(1, "requests.exceptions.ConnectionError: Max retries exceeded with url", 3) == "unreachable"
    assert classify(1, "Found 2 known vulnerabilities in 1 package", 3) == "vulnerable"
    assert classify(1, "something else broke", 3) == "error"


def test_pip_audit_offline_prints_a_skip_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    # A proxy that refuses every connection: the advisory database is unreachable.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert security_scan.run_pip_audit() == 0
    assert "pip-audit: SKIPPED (advisory database unreachable" in capsys.readouterr().out
