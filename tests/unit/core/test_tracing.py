"""Tracing (tickerleague/tracing.py): every function is traced; in Lambda the AWS calls and our provider calls are
subsegments and the invocation is annotated with its correlation id; when tracing is off (tests, the local stack)
the X-Ray SDK is never imported, and no handler module imports it at cold start. (Powertools' package itself
imports its `tracing` module, a few lazy names: the SDK is what costs.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.build.routes import functions, import_handler, module_and_attribute

ROOT = Path(__file__).resolve().parents[3]
PATHS = [str(ROOT / "functions"), str(ROOT / "layers" / "core")]
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
LAMBDA_ENV = {"LAMBDA_TASK_ROOT": "/var/task", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
              "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "_X_AMZN_TRACE_ID": TRACE_HEADER}

JOB = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from tickerleague import correlation, tracing

@tracing.handler
@correlation.per_run
def job(event, context):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("describe_limits", {})
        client.describe_limits()
    with tracing.subsegment("stripe.PaymentIntentService.create"):
        pass
    return {"accessToken": "secret-token"}
"""

ENABLED = JOB + """
from aws_xray_sdk.core import xray_recorder

sent = []
class Capture:
    def send_entity(self, entity):
        sent.append(json.loads(entity.serialize()))
    def set_daemon_address(self, address):
        pass

xray_recorder.configure(emitter=Capture())
job({}, None)
print(json.dumps(sent))
"""

DISABLED = JOB + """
job({}, None)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("aws_xray_sdk"))))
"""

IMPORTS = """
import importlib, json, sys
sys.path[:0] = json.loads(sys.argv[1])
for name in sys.argv[2:]:
    importlib.import_module(name)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("aws_xray_sdk"))))
"""


def _run(code: str, env: dict[str, str], *args: str) -> object:
    done = subprocess.run([sys.executable, "-c", code, json.dumps(PATHS), *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_in_lambda_aws_and_provider_calls_are_subsegments_of_an_annotated_invocation() -> None:
    sent = _run(ENABLED, LAMBDA_ENV)
    assert isinstance(sent, list)
    by_name = {entity["name"]: entity for entity in sent}
    assert {"dynamodb", "stripe.PaymentIntentService.create", "## job"} <= set(by_name), sorted(by_name)
    assert by_name["dynamodb"]["namespace"] == "aws"
    invocation = by_name["## job"]
    assert invocation["annotations"]["correlation_id"]  # the run's own id
    assert "secret-token" not in json.dumps(sent)  # handler answers are never recorded


def test_tracing_off_imports_no_tracer() -> None:
    loaded = _run(DISABLED, {**LAMBDA_ENV, "POWERTOOLS_TRACE_DISABLED": "true"})
    assert loaded == []


def test_outside_lambda_tracing_is_off() -> None:
    env = {key: value for key, value in LAMBDA_ENV.items() if key != "LAMBDA_TASK_ROOT"}
    assert _run(DISABLED, env) == []


def test_no_handler_module_imports_the_tracer_at_cold_start() -> None:
    modules = sorted({module_and_attribute(function.handler)[0] for function in functions().values()})
    assert _run(IMPORTS, LAMBDA_ENV, *modules) == []


def test_every_function_of_the_template_is_traced() -> None:
    from tickerleague import tracing

    untraced = sorted(logical_id for logical_id, function in functions().items()
                      if not getattr(import_handler(function.handler), tracing.TRACED_ATTRIBUTE, False))
    assert untraced == []
