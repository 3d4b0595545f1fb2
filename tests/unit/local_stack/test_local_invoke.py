"""Handler invocation: context object, merged environment, module import."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from infra.local.invoke import EnvironmentConflictError, Invoker, make_context, merged_environment
from infra.local.model import FunctionDef
from infra.local.template import load_template
from tests.support.local_stack import TEMPLATE, handler_log


def function(logical_id: str, env: dict[str, str], **changes: object) -> FunctionDef:
    base = FunctionDef(
        logical_id=logical_id,
        name=logical_id,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}",
        handler="app.handler",
        code_dir=Path("/nowhere"),
        runtime="python3.12",
        timeout=2,
        memory_size=512,
        environment=env,
        events={},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_context_carries_lambda_facts_and_counts_down() -> None:
    context = make_context(function("Fn", {}), request_id="req-1")
    assert context.function_name == "Fn"
    assert context.memory_limit_in_mb == 512
    assert context.invoked_function_arn.endswith(":function:Fn")
    assert context.aws_request_id == "req-1"
    assert context.log_group_name == "/aws/lambda/Fn"
    first = context.get_remaining_time_in_millis()
    assert 1900 < first <= 2000
    time.sleep(0.02)
    assert context.get_remaining_time_in_millis() < first


def test_environment_union_of_compatible_functions() -> None:
    merged = merged_environment(
        [function("A", {"TABLE": "t", "STAGE": "dev"}), function("B", {"TABLE": "t", "MACHINE_ARN": "arn:sm"})]
    )
    assert merged == {"TABLE": "t", "STAGE": "dev", "MACHINE_ARN": "arn:sm"}


def test_environment_conflicts_are_refused() -> None:
    with pytest.raises(EnvironmentConflictError, match="MODE: A='x' vs B='y'"):
        merged_environment([function("A", {"MODE": "x"}), function("B", {"MODE": "y"})])


def test_fixture_template_environment_has_no_conflicts() -> None:
    env = merged_environment(load_template(TEMPLATE, parameters_file=None).functions.values())
    assert env["FLOW_ARN"].endswith(":stateMachine:Flow")


def test_invoker_imports_nested_handler_modules_and_passes_a_context() -> None:
    template = load_template(TEMPLATE, parameters_file=None)
    invoker = Invoker(template.functions)
    log = handler_log()
    log.reset()
    assert invoker.invoke("StepFunction", {"key": "k1"}) == {"outcome": "done"}
    assert log.calls("step") == [{"key": "k1"}]
    answer = invoker.invoke("EchoFunction", {"path": "/x"})
    assert answer["statusCode"] == 200
    assert '"function_name": "EchoFunction"' in answer["body"]


def test_invoker_rejects_non_python_runtimes_and_module_clashes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot run in-process"):
        Invoker({"N": function("N", {}, runtime="nodejs20.x")})
    with pytest.raises(ValueError, match="two code dirs"):
        Invoker({"A": function("A", {}, code_dir=tmp_path / "a"), "B": function("B", {}, code_dir=tmp_path / "b")})


def test_preload_imports_handlers_up_front_in_the_calling_thread(tmp_path: Path) -> None:
    """The stack preloads every API handler before the gateway serves: a first request then imports nothing."""
    import sys
    import threading
    import uuid

    module = f"preloaded_{uuid.uuid4().hex[:8]}"
    code = tmp_path / "code"
    code.mkdir()
    (code / f"{module}.py").write_text(
        "import threading\nIMPORTED_IN = threading.current_thread().name\n"
        "def handler(event, context):\n    return {'echo': event}\n"
    )
    invoker = Invoker({"P": function("P", {}, handler=f"{module}.handler", code_dir=code)})
    assert module not in sys.modules
    invoker.preload(["P", "P"])
    assert threading.current_thread().name == sys.modules[module].IMPORTED_IN
    answers: list[object] = []
    worker = threading.Thread(target=lambda: answers.append(invoker.invoke("P", 1)), name="request-thread")
    worker.start()
    worker.join()
    assert answers == [{"echo": 1}]
    assert sys.modules[module].IMPORTED_IN != "request-thread"
