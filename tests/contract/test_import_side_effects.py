"""Importing a handler (a Lambda cold start) builds no JSON/OpenAPI schema: only infra/build/openapi.py does that."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from infra.build.routes import ROOT, functions, module_and_attribute

CHILD = textwrap.dedent(
    """
    import importlib, json, sys
    from pydantic.json_schema import GenerateJsonSchema

    calls = []
    original = GenerateJsonSchema.generate
    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)
    GenerateJsonSchema.generate = spy

    sys.path[:0] = sys.argv[1:3]
    offenders = {}
    for name in sys.argv[3:]:
        before = len(calls)
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # a missing handler is test_routes_consistency's finding
        reasons = []
        if len(calls) > before:
            reasons.append(f"built {len(calls) - before} JSON schema(s)")
        if "aws_lambda_powertools.event_handler.openapi" in sys.modules:
            reasons.append("imported Powertools' OpenAPI machinery")
        if reasons:
            offenders[name] = reasons
    print(json.dumps(offenders))
    """
)


def test_handler_imports_build_no_schema() -> None:
    modules = sorted({module_and_attribute(function.handler)[0] for function in functions().values()})
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "functions"), str(ROOT / "layers/core"), *modules],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert completed.returncode == 0, f"a handler module failed to import:\n{completed.stderr[-3000:]}"
    offenders = json.loads(completed.stdout.strip().splitlines()[-1])
    assert offenders == {}, f"handler imports must stay cheap (cold start): {offenders}"
