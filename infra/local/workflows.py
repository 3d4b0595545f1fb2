"""Step Functions locally: moto runs the real ASL, Lambda tasks run the template's handlers in-process.

moto (``execute_state_machine: True``) interprets the state machine with its port of LocalStack's ASL
interpreter; its Lambda tasks (``arn:aws:states:::lambda:invoke`` and plain function-ARN resources) call
``lambda.invoke`` through boto3, which moto routes to ``LambdaSimpleBackend.invoke`` when
``lambda.use_docker`` is False. That method is the patch point: :class:`LambdaDispatcher` replaces it and
runs the handler whose function name matches, so no Lambda function has to be created in moto.

Three moto facts (checked against moto 5.2.5) shape this module:
- Wait states really wait (``Event.wait``), and ``stop_execution`` interrupts the wait.
- An execution's interpreter environment is made, and its program started, by its worker thread, so a
  ``stop_execution`` right after ``start_execution`` (publish, then cancel at once) can find no environment and fail
  with an ``AttributeError``, or find a program not yet running and be ignored; AWS does neither.
  :meth:`LambdaDispatcher.install` also makes such a stop wait for the worker (at most
  ``STOP_WAITS_FOR_START_SECONDS``).
- ``Timestamp``/``TimestampPath`` waits compare the UTC timestamp with ``datetime.now()`` (naive local
  time), so they are off by the machine's UTC offset unless the process runs in UTC. Lambda itself runs
  with ``TZ=:UTC``, so the local stack sets the same (:func:`use_utc_process_timezone`). moto accepts only
  ``...Z`` timestamps (not ``+00:00`` offsets), which AWS accepts too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from typing import Any, cast
from unittest import mock

import boto3

from infra.local.invoke import Invoker
from infra.local.template import LocalTemplate

LOG = logging.getLogger(__name__)

Attributes = dict[str, dict[str, str]]
STOP_WAITS_FOR_START_SECONDS = 5.0


def use_utc_process_timezone() -> None:
    """Run the process in UTC like Lambda (``TZ=:UTC``); required by moto's timestamp waits."""
    os.environ["TZ"] = ":UTC"
    time.tzset()


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _stop_waits_for_start() -> Any:
    """A patch of moto's ``ExecutionWorker.stop``: wait until the worker thread has started the execution's
    program, then stop it (see the module docstring)."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker.stop

    def stop(worker: Any, *args: Any, **kwargs: Any) -> None:
        deadline = time.monotonic() + STOP_WAITS_FOR_START_SECONDS
        while not _started(worker) and time.monotonic() < deadline:
            time.sleep(0.01)
        original(worker, *args, **kwargs)

    return mock.patch.object(ExecutionWorker, "stop", stop)


def _started(worker: Any) -> bool:
    """The worker has made its environment and the program has entered its first state (before that, moto's stop
    does nothing and the execution runs on)."""
    env = getattr(worker, "env", None)
    return env is not None and env.program_state() is not None


class LambdaDispatcher:
    """Replaces moto's simple Lambda backend ``invoke`` with in-process calls of the template's handlers."""

    def __init__(self, template: LocalTemplate, invoker: Invoker) -> None:
        self.template = template
        self.invoker = invoker
        self._patch: Any = None
        self._stop_patch: Any = None

    def install(self) -> None:
        """Patch ``moto.awslambda_simple.models.LambdaSimpleBackend.invoke``."""
        from moto.awslambda_simple.models import LambdaSimpleBackend

        dispatcher = self

        def invoke(backend: Any, function_name: str, *args: Any) -> bytes:
            # moto's signature: (self, function_name, qualifier, body, headers, response_headers)
            _qualifier, body, headers, response_headers = args
            return dispatcher.dispatch(function_name, body, headers, response_headers)

        self._patch = mock.patch.object(LambdaSimpleBackend, "invoke", invoke)
        self._patch.start()
        self._stop_patch = _stop_waits_for_start()
        self._stop_patch.start()

    def uninstall(self) -> None:
        """Undo :meth:`install`."""
        if self._patch is not None:
            self._patch.stop()
            self._stop_patch.stop()
            self._patch = None

    def dispatch(self, function_name: str, body: Any, headers: Any, response_headers: dict[str, str]) -> bytes:
        """Run the handler; errors come back as Lambda's ``Unhandled`` function error payload."""
        from moto.awslambda.exceptions import UnknownFunctionException

        try:
            function = self.template.function_by_name(function_name)
        except KeyError as exc:
            raise UnknownFunctionException(function_name) from exc
        raw = body.decode("utf-8") if isinstance(body, bytes) else (body or "")
        event = json.loads(raw) if raw.strip() else {}
        if _header(headers, "X-Amz-Invocation-Type") == "Event":
            threading.Thread(target=self._run_async, args=(function.logical_id, event), daemon=True).start()
            return b""
        try:
            result = self.invoker.invoke(function.logical_id, event)
        except Exception as exc:
            LOG.exception("%s failed (invoked through Lambda by a workflow)", function.logical_id)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(_error_payload(exc)).encode("utf-8")
        try:
            return json.dumps(result).encode("utf-8")
        except (TypeError, ValueError) as exc:
            # The Lambda runtime cannot serialise e.g. Decimal either: same error type as in AWS.
            LOG.error("%s returned a value that is not JSON-serialisable: %s", function.logical_id, exc)
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = {"errorMessage": f"Unable to marshal response: {exc}", "errorType": "Runtime.MarshalError"}
            return json.dumps(payload).encode("utf-8")

    def _run_async(self, logical_id: str, event: Any) -> None:
        try:
            self.invoker.invoke(logical_id, event)
        except Exception:
            LOG.exception("%s failed (asynchronous invocation)", logical_id)


def _error_payload(exc: BaseException) -> dict[str, Any]:
    """The payload the Lambda Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def create_state_machines(template: LocalTemplate) -> Attributes:
    """Create every state machine in moto from its real ASL (substitutions applied); returns real ARNs."""
    client = boto3.client("stepfunctions", region_name=template.settings.region)
    created: Attributes = {}
    for machine in template.state_machines.values():
        role = f"arn:aws:iam::{template.settings.account_id}:role/{machine.logical_id}Role"
        arn = client.create_state_machine(
            name=machine.name, definition=machine.definition, roleArn=role, type=cast(Any, machine.type)
        )["stateMachineArn"]
        created[machine.logical_id] = {"Ref": arn, "Arn": arn, "Name": machine.name}
        LOG.info("state machine %s: %s", machine.logical_id, arn)
    return created


def stop_running_executions(template: LocalTemplate) -> None:
    """Stop every running execution so their Wait threads end (used at shutdown)."""
    client = boto3.client("stepfunctions", region_name=template.settings.region)
    for machine in template.state_machines.values():
        for execution in _running_executions(client, machine.arn):
            client.stop_execution(executionArn=execution, cause="local stack shutting down")


def _running_executions(client: Any, state_machine_arn: str) -> list[str]:
    try:
        pages = client.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn, statusFilter="RUNNING"
        )
        return [e["executionArn"] for page in pages for e in page["executions"]]
    except client.exceptions.StateMachineDoesNotExist:
        return []
