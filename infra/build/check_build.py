"""Check a `sam build` output: every function of template.yaml is built with its handler, and the layer is usable.

    python -m infra.build.check_build .aws-sam/build

The layer must carry the tickerleague package with precompiled bytecode, arm64 (aarch64) native wheels, and not the
SDK that the Lambda runtime provides (see layers/core/Makefile).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.build.routes import functions, module_and_attribute
from infra.local.cfn_yaml import load_cfn_file

LAYER_ID = "CoreLayer"
NATIVE_PACKAGES = ("pydantic_core", "_argon2_cffi_bindings")
ELF_MACHINE_AARCH64 = 183  # e_machine of an ELF header (EM_AARCH64)
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


def _is_aarch64(shared_object: Path) -> bool:
    header = shared_object.read_bytes()[:20]
    return header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64


def _code_dir(build_dir: Path, resource: dict[str, Any], key: str) -> Path | None:
    uri = (resource.get("Properties") or {}).get(key)
    return build_dir / uri if isinstance(uri, str) else None


def function_problems(build_dir: Path, resources: dict[str, Any]) -> Iterator[str]:
    for logical_id, function in sorted(functions().items()):
        built = resources.get(logical_id)
        code = _code_dir(build_dir, built, "CodeUri") if built else None
        if code is None or not code.is_dir():
            yield f"{logical_id}: not built (no CodeUri directory in the build output)"
            continue
        module, _ = module_and_attribute(function.handler)
        if not (code / f"{module.replace('.', '/')}.py").is_file():
            yield f"{logical_id}: handler module {module} missing from {code.relative_to(build_dir)}"


def layer_problems(build_dir: Path, resources: dict[str, Any]) -> Iterator[str]:
    layer = resources.get(LAYER_ID)
    content = _code_dir(build_dir, layer, "ContentUri") if layer else None
    python = content / "python" if content else None
    if python is None or not python.is_dir():
        yield f"{LAYER_ID}: no python/ directory in the build output"
        return
    package = python / "tickerleague"
    if not (package / "__init__.py").is_file():
        yield f"{LAYER_ID}: tickerleague is missing"
    sources = sorted(package.rglob("*.py"))
    compiled = {path.name.split(".")[0] for path in package.rglob("__pycache__/*.cpython-312.pyc")}
    uncompiled = [str(path.relative_to(python)) for path in sources if path.stem not in compiled]
    if not sources or uncompiled:
        yield f"{LAYER_ID}: modules without precompiled bytecode: {uncompiled[:5] or 'no modules at all'}"
    for name in NATIVE_PACKAGES:
        if not any(python.glob(f"{name}/*.so")):
            yield f"{LAYER_ID}: {name} has no native extension"
    foreign = [str(path.relative_to(python)) for path in python.rglob("*.so") if not _is_aarch64(path)]
    if foreign:
        yield f"{LAYER_ID}: native extensions not built for aarch64 (arm64 Lambda): {foreign[:5]}"
    for name in RUNTIME_PROVIDED:
        if (python / name).exists():
            yield f"{LAYER_ID}: {name} is in the layer, but the Lambda runtime provides it"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    build_dir = Path(args[0] if args else ".aws-sam/build").resolve()
    built_template = build_dir / "template.yaml"
    if not built_template.is_file():
        print(f"no build output at {build_dir}: run `sam build` first", file=sys.stderr)
        return 2
    resources = load_cfn_file(built_template).get("Resources") or {}
    problems = [*function_problems(build_dir, resources), *layer_problems(build_dir, resources)]
    for problem in problems:
        print(f"build check: {problem}", file=sys.stderr)
    if not problems:
        print(f"build check: {len(functions())} functions and {LAYER_ID} built correctly")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
