"""Security scanners of `make test` (`make security`): bandit over the code, pip-audit over the runtime dependencies.

- bandit scans layers/, functions/ and infra/ and fails on any finding of medium severity and confidence or above;
  accepted low-severity findings stay visible in its report.
- pip-audit checks the runtime dependency closure of the `tickerleague` package as this venv resolved it (the pins of
  pyproject.toml and everything they pull in, at the versions the tests ran with), pinned into a requirements file
  and audited with `--no-deps --disable-pip`, so the audit is of exactly those versions.
  Offline-tolerant: when the advisory database cannot be reached, it prints one `pip-audit: SKIPPED ...` line
  naming the reason and does not fail; any other failure (a vulnerability, a bad file) fails.

`python -m infra.build.security_scan [bandit|pip-audit]` (both by default).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
BANDIT_TARGETS = ("layers/core/tickerleague", "functions", "infra")
ROOT_DISTRIBUTION = "tickerleague"
SCANNERS = ("bandit", "pip-audit")

# What pip-audit prints when it cannot reach PyPI's JSON API or OSV (requests/urllib3 connection errors, DNS).
UNREACHABLE = re.compile(
    r"ConnectionError|ConnectTimeout|ReadTimeout|NewConnectionError|Max retries exceeded|Name or service not known|"
    r"Temporary failure in name resolution|Network is unreachable|Connection refused|ProxyError|"
    r"Failed to establish a new connection|SSLError",
)


def run_bandit(targets: Iterable[str] = BANDIT_TARGETS, cwd: Path = ROOT) -> int:
    command = [sys.executable, "-m", "bandit", "-q", "-r", *targets, "--severity-level", "medium",
               "--confidence-level", "medium", "-x", "*/__pycache__/*"]
    print("== bandit:", " ".join(command[2:]), flush=True)
    status = subprocess.call(command, cwd=cwd)
    print(f"== bandit: {'ok' if status == 0 else 'FAILED'}", flush=True)
    return status


def runtime_closure(root: str = ROOT_DISTRIBUTION) -> dict[str, str]:
    """{name: installed version} of `root`'s runtime requirements and theirs, extras followed as requested."""
    environment = {k: str(v) for k, v in default_environment().items()}
    found: dict[str, str] = {}
    pending: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        distribution = metadata.distribution(name)
        if name != root:
            found[canonicalize_name(name)] = distribution.version
        for raw in distribution.requires or ():
            requirement = Requirement(raw)
            if requirement.marker and not any(
                requirement.marker.evaluate({**environment, "extra": extra}) for extra in (extras or {""})
            ):
                continue
            pending.append((requirement.name, frozenset(requirement.extras)))
    return dict(sorted(found.items()))


def pinned_lines(closure: dict[str, str]) -> Iterable[str]:
    return (f"{name}=={version}" for name, version in closure.items())


NOT_AUDITED = re.compile(r"^(\S+)\s+Dependency not found on PyPI and could not be audited", re.MULTILINE)


def classify_pip_audit(status: int, output: str, packages: int) -> str:
    """"ok", "partial", "unaudited", "vulnerable", "unreachable" or "error" for one pip-audit run.

    "unaudited": the advisory service answered but knows none of these versions (a mirror, or releases newer than
    its data), so nothing was checked: reported as a skip, never as a pass."""
    not_audited = len(NOT_AUDITED.findall(output))
    if status == 0:
        if packages and not_audited >= packages:
            return "unaudited"
        return "partial" if not_audited else "ok"
    if UNREACHABLE.search(output):
        return "unreachable"
    if re.search(r"Found \d+ known vulnerabilit", output):
        return "vulnerable"
    return "error"


def run_pip_audit(extra_args: Iterable[str] = ()) -> int:
    closure = runtime_closure()
    with tempfile.NamedTemporaryFile("w", suffix="-runtime-requirements.txt", delete=False) as handle:
        handle.write("\n".join(pinned_lines(closure)) + "\n")
        requirements = handle.name
    command = [sys.executable, "-m", "pip_audit", "--requirement", requirements, "--no-deps", "--disable-pip",
               "--progress-spinner", "off", "--timeout", "15", *extra_args]
    print(f"== pip-audit: {len(closure)} runtime packages of {ROOT_DISTRIBUTION}", flush=True)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    Path(requirements).unlink(missing_ok=True)
    output = result.stdout + result.stderr
    verdict = classify_pip_audit(result.returncode, output, len(closure))
    if verdict == "unreachable":
        reason = next((line for line in output.splitlines() if UNREACHABLE.search(line)), "no connection")
        print(f"pip-audit: SKIPPED (advisory database unreachable: {reason.strip()[:200]})", flush=True)
        return 0
    if verdict == "unaudited":
        print(f"pip-audit: SKIPPED (the advisory database knows none of the {len(closure)} pinned versions; "
              "nothing was audited)", flush=True)
        return 0
    print(output.rstrip(), flush=True)
    if verdict == "partial":
        names = ", ".join(NOT_AUDITED.findall(output))
        print(f"pip-audit: NOT AUDITED (unknown to the advisory database): {names}", flush=True)
    passed = verdict in ("ok", "partial")
    print(f"== pip-audit: {'ok' if passed else 'FAILED (' + verdict + ')'}", flush=True)
    return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scanners", nargs="*", choices=["bandit", "pip-audit"], help="default: both")
    args = parser.parse_args(argv)
    statuses = [run_bandit() if name == "bandit" else run_pip_audit() for name in args.scanners or SCANNERS]
    return max(statuses, default=0)


if __name__ == "__main__":
    sys.exit(main())
