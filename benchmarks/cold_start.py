"""Cold-start import cost of every Lambda handler, against `import boto3` (`make bench`; never asserted on time).

    python -m benchmarks.cold_start                 # every handler module of template.yaml, median of 7 runs
    python -m benchmarks.cold_start --runs 1 health # what the smoke test does

Lambda's init phase imports the handler module; that is the part of a cold start our code controls. For each handler
module named in template.yaml, a FRESH interpreter imports it the way Lambda would:

- the layer (layers/core/tickerleague) and the function code (functions/) are copied to a scratch dir and compiled
  with `compileall --invalidation-mode unchecked-hash`, as the CoreLayer Makefile ships them;
- the third-party packages are those a deployed function has: the closure of tickerleague's runtime dependencies
  (boto3 included: the Lambda runtime provides it), linked from the app venv into a scratch site dir. The venv itself
  holds the dev tools too, and pydantic scans every installed distribution for plugins when it builds a model, so
  importing from the whole venv would overstate that cost;
- the child runs with `-I -S -B` (isolated, no site: no .pth files, so the editable install of tickerleague cannot
  leak in; writes no bytecode) and a sys.path of: function code, layer, site dir;
- the child times the import alone, in wall time (`time.perf_counter()`) and in CPU time (`time.process_time()`);
  the parent also records the whole process wall time. The 1.5x flag reads the CPU ratio: on a shared machine the
  wall time mostly measures the other processes (it is still shown), while CPU time is the work an init does on
  Lambda's own vCPU.

The child's environment is the function's (template.yaml) plus what Lambda sets, LAMBDA_TASK_ROOT included, so
code that behaves differently in Lambda (Powertools' Tracer, tickerleague.tracing) does so here too.

The X-Ray tracer is built at the first traced invocation, not at import (tickerleague/tracing.py). Its cost is
measured apart, in fresh interpreters as Lambda has them at that point (boto3 imported, tracing on): the Tracer
built and botocore patched. That part is paid once per container, by its first request.

`import boto3` is measured the same way, interleaved with the handlers in the same run, so a busy machine slows both
alike. The table shows medians and each handler's import time over boto3's; a handler over 1.5x (CPU) is flagged and
profiled with `-X importtime` (top modules by self time, and packages by the self time of all their modules).
Functions sharing a module (auth.signup, auth.login ...) share one measurement: the import is the same.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from py_compile import PycInvalidationMode

from packaging.requirements import Requirement

from infra.build.routes import ROOT, functions, module_and_attribute

BASELINE = "boto3"
THRESHOLD = 1.5
DEFAULT_RUNS = 7
LAYER_PACKAGE = ROOT / "layers/core/tickerleague"
APP_DISTRIBUTION = "tickerleague"
FUNCTIONS_DIR = ROOT / "functions"

CHILD = """
import json, sys, time
sys.path[0:0] = json.loads(sys.argv[2])
started, cpu_started = time.perf_counter(), time.process_time()
__import__(sys.argv[1])
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
print(json.dumps({"import_ms": elapsed * 1000, "cpu_ms": cpu * 1000, "modules": len(sys.modules)}))
"""

TRACER_CHILD = """
import json, sys, time
sys.path[0:0] = json.loads(sys.argv[1])
import boto3  # a function has it by its first AWS call
from tickerleague import tracing
started, cpu_started = time.perf_counter(), time.process_time()
tracing.tracer()
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
print(json.dumps({"setup_ms": elapsed * 1000, "cpu_ms": cpu * 1000, "enabled": tracing.enabled()}))
"""


@dataclass(frozen=True)
class Target:
    module: str
    functions: tuple[str, ...]  # logical ids served by this module; empty for the baseline
    environment: dict[str, str]


@dataclass
class Sample:
    import_ms: float
    process_ms: float
    modules: int
    cpu_ms: float = 0.0


@dataclass(frozen=True)
class Row:
    target: Target
    import_ms: float
    process_ms: float
    modules: int
    ratio: float  # wall time over the baseline's
    cpu_ms: float = 0.0
    cpu_ratio: float = 1.0  # CPU time over the baseline's: what the flag reads

    @property
    def flagged(self) -> bool:
        return self.target.module != BASELINE and self.cpu_ratio > THRESHOLD


# ---------------------------------------------------------------------------------------------------- staging
def _requirements(distribution: str, extras: frozenset[str]) -> Iterator[Requirement]:
    for line in metadata.requires(distribution) or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
            yield requirement


def runtime_distributions(root: str = APP_DISTRIBUTION) -> list[metadata.Distribution]:
    """The installed distributions that `root` needs at run time (its extras followed, dev extras not)."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(_requirements(root, frozenset()))
    while pending:
        requirement = pending.pop()
        key = requirement.name.lower().replace("_", "-")
        if key not in found:
            found[key] = metadata.distribution(requirement.name)
        pending += _requirements(requirement.name, frozenset(requirement.extras))
    return [found[key] for key in sorted(found)]


def link_site(site: Path, distributions: Iterable[metadata.Distribution]) -> None:
    """A site dir holding only these distributions: symlinks to their top-level files and packages."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    site.mkdir(parents=True)
    for distribution in distributions:
        tops = {Path(str(file)).parts[0] for file in distribution.files or []}
        for top in sorted(tops - {"..", "__pycache__", "bin"}):
            target = site / top
            if (purelib / top).exists() and not target.exists():
                target.symlink_to(purelib / top)


def stage(scratch: Path) -> list[str]:
    """Copy and compile the function code and the layer package, link the dependencies; the child's sys.path."""
    task, layer, site = scratch / "task", scratch / "python", scratch / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(FUNCTIONS_DIR, task, ignore=ignore)
    shutil.copytree(LAYER_PACKAGE, layer / "tickerleague", ignore=ignore)
    for directory in (task, layer):
        if not compileall.compile_dir(directory, quiet=1, invalidation_mode=PycInvalidationMode.UNCHECKED_HASH):
            raise RuntimeError(f"compileall failed in {directory}")
    link_site(site, runtime_distributions())
    return [str(task), str(layer), str(site)]


def targets(selected: Sequence[str] = ()) -> list[Target]:
    """Handler modules of template.yaml (or the `selected` ones), each with the environment of its first function."""
    by_module: dict[str, list[str]] = defaultdict(list)
    environments: dict[str, dict[str, str]] = {}
    for logical_id, function in sorted(functions().items()):
        module, _ = module_and_attribute(function.handler)
        by_module[module].append(logical_id)
        environments.setdefault(module, function.environment)
    unknown = sorted(set(selected) - set(by_module))
    if unknown:
        raise SystemExit(f"not a handler module of template.yaml: {', '.join(unknown)}")
    chosen = [module for module in sorted(by_module) if not selected or module in selected]
    return [Target(BASELINE, (), {})] + [Target(m, tuple(by_module[m]), environments[m]) for m in chosen]


def child_environment(target: Target) -> dict[str, str]:
    """What Lambda gives a function: its template environment, a region, no Python tweaks from ours."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": target.functions[0] if target.functions else "baseline",
        "LAMBDA_TASK_ROOT": "/var/task",
        "PYTHONDONTWRITEBYTECODE": "1",
        **target.environment,
    }


# ---------------------------------------------------------------------------------------------------- measuring
def _command(module: str, paths: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-I", "-S", "-B", *extra, "-c", CHILD, module, json.dumps(paths)]


def measure_once(target: Target, paths: list[str]) -> Sample:
    started = time.perf_counter()
    completed = subprocess.run(_command(target.module, paths), env=child_environment(target), capture_output=True,
                               text=True, check=False, timeout=120)
    process_ms = (time.perf_counter() - started) * 1000
    if completed.returncode != 0:
        raise RuntimeError(f"importing {target.module} failed:\n{completed.stderr[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(float(result["import_ms"]), process_ms, int(result["modules"]), float(result["cpu_ms"]))


def measure(all_targets: list[Target], paths: list[str], runs: int) -> list[Row]:
    """`runs` rounds, each importing every target once (interleaved, so load changes hit all alike)."""
    samples: dict[str, list[Sample]] = defaultdict(list)
    for _ in range(runs):
        for target in all_targets:
            samples[target.module].append(measure_once(target, paths))
    baseline = statistics.median(s.import_ms for s in samples[BASELINE])
    cpu_baseline = statistics.median(s.cpu_ms for s in samples[BASELINE])
    rows = []
    for target in all_targets:
        taken = samples[target.module]
        import_ms = statistics.median(s.import_ms for s in taken)
        cpu_ms = statistics.median(s.cpu_ms for s in taken)
        rows.append(Row(target, import_ms, statistics.median(s.process_ms for s in taken), taken[-1].modules,
                        import_ms / baseline if baseline else float("inf"), cpu_ms,
                        cpu_ms / cpu_baseline if cpu_baseline else float("inf")))
    return rows


def tracer_setup_ms(paths: list[str], runs: int) -> tuple[float, float]:
    """Median CPU and wall ms of building the Tracer (and patching botocore) at a container's first traced
    invocation."""
    environment = child_environment(Target(BASELINE, (), {}))
    taken: list[tuple[float, float]] = []
    for _ in range(runs):
        completed = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", TRACER_CHILD, json.dumps(paths)],
                                   env=environment, capture_output=True, text=True, check=False, timeout=120)
        if completed.returncode != 0:
            raise RuntimeError(f"building the tracer failed:\n{completed.stderr[-2000:]}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        if not result["enabled"]:
            raise RuntimeError("tracing is off in the child: it would not measure the tracer")
        taken.append((float(result["cpu_ms"]), float(result["setup_ms"])))
    return statistics.median(cpu for cpu, _ in taken), statistics.median(wall for _, wall in taken)


# ---------------------------------------------------------------------------------------------------- profiling
IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


@dataclass(frozen=True)
class ImportCost:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def import_costs(target: Target, paths: list[str]) -> list[ImportCost]:
    completed = subprocess.run(_command(target.module, paths, "-X", "importtime"), env=child_environment(target),
                               capture_output=True, text=True, check=False, timeout=120)
    costs = []
    for line in completed.stderr.splitlines():
        match = IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            costs.append(ImportCost(module, int(self_us), int(cumulative_us), (len(indent) - 1) // 2))
    return costs


def profile_lines(target: Target, paths: list[str], top: int = 10) -> list[str]:
    costs = import_costs(target, paths)
    by_self = sorted(costs, key=lambda cost: cost.self_us, reverse=True)[:top]
    packages: dict[str, int] = defaultdict(int)
    for cost in costs:  # self times add up without double counting, however piecemeal a package is imported
        packages[cost.module.split(".")[0]] += cost.self_us
    by_package = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:top]
    lines = [f"### `{target.module}` (-X importtime, one run)", "", "| module | self ms |", "|---|---:|"]
    lines += [f"| {cost.module} | {cost.self_us / 1000:.1f} |" for cost in by_self]
    lines += ["", "| package (all its modules) | self ms |", "|---|---:|"]
    lines += [f"| {name} | {us / 1000:.1f} |" for name, us in by_package]
    return lines


# ---------------------------------------------------------------------------------------------------- report
def table(rows: Iterable[Row], runs: int) -> list[str]:
    lines = [
        f"| handler module | functions | import CPU ms (median of {runs}) | x {BASELINE} (CPU) | import wall ms | "
        f"x {BASELINE} (wall) | process ms | modules loaded |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        served = ", ".join(row.target.functions) or "(baseline)"
        name = f"`import {BASELINE}`" if row.target.module == BASELINE else row.target.module
        flag = " **over 1.5x**" if row.flagged else ""
        lines.append(f"| {name} | {served} | {row.cpu_ms:.1f} | {row.cpu_ratio:.2f}{flag} | {row.import_ms:.1f} | "
                     f"{row.ratio:.2f} | {row.process_ms:.1f} | {row.modules} |")
    return lines


def report(rows: list[Row], runs: int, profiles: list[list[str]],
           tracer_ms: tuple[float, float] | None = None) -> str:
    flagged = [row.target.module for row in rows if row.flagged]
    lines = [f"## Cold start: handler import time vs `import {BASELINE}` (python {sys.version.split()[0]})", ""]
    lines += table(rows, runs)
    lines += ["", f"Over {THRESHOLD}x {BASELINE}: {', '.join(flagged) if flagged else 'none'}."]
    if tracer_ms is not None:
        lines += ["", f"Tracer setup at a container's first traced invocation (Tracer built, botocore patched; not "
                      f"part of the import): {tracer_ms[0]:.1f} ms CPU, {tracer_ms[1]:.1f} ms wall (median of "
                      f"{runs})."]
    for profile in profiles:
        lines += ["", *profile]
    return "\n".join(lines) + "\n"


def run(selected: Sequence[str] = (), runs: int = DEFAULT_RUNS, profile: bool = True) -> tuple[list[Row], str]:
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        paths = stage(Path(scratch))
        rows = measure(targets(selected), paths, runs)
        tracer_ms = tracer_setup_ms(paths, runs)
        by_module = {row.target.module: row.target for row in rows}
        profiles = [profile_lines(by_module[row.target.module], paths) for row in rows if profile and row.flagged]
        return rows, report(rows, runs, profiles, tracer_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cold-start import cost of the handlers vs import boto3.")
    parser.add_argument("modules", nargs="*", help="handler modules to measure (default: all of template.yaml)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"runs per module (default {DEFAULT_RUNS})")
    parser.add_argument("--profile", dest="profile", action="store_true", default=True,
                        help="profile flagged modules with -X importtime (default)")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    _, text = run(args.modules, args.runs, args.profile)
    sys.stdout.write(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
