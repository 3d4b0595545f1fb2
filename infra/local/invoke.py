"""Run a template's Lambda handlers in this process, the way the Lambda Python runtime would call them.

Handlers run in-process (in gateway, schedule, queue and workflow threads), so there is ONE
``os.environ`` for all of them. AWS gives each function its own environment; locally we merge every
function's resolved ``Environment.Variables`` into the process environment once, at startup
(:func:`merged_environment`). That is safe because the values agree: Globals give all functions the
same base, and per-function extras (``LIFECYCLE_STATE_MACHINE_ARN`` ...) are only *added* by some
functions and ignored by the others. A key with different values in two functions cannot be honoured
in one process; it is reported as a conflict and the stack refuses to start, rather than letting one
function silently read another's value. Changing ``os.environ`` per invocation would race between
threads, which is why it is not done.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.model import FunctionDef

LOG = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


class EnvironmentConflictError(RuntimeError):
    """Two functions need different values for the same environment variable."""


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda runtime's context object that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_seconds: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's configured Timeout (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def make_context(function: FunctionDef, request_id: str | None = None) -> LambdaContext:
    """A fresh context for one invocation of ``function``."""
    return LambdaContext(
        function_name=function.name,
        memory_limit_in_mb=function.memory_size,
        invoked_function_arn=function.arn,
        aws_request_id=request_id or str(uuid.uuid4()),
        timeout_seconds=function.timeout,
    )


def merged_environment(functions: Iterable[FunctionDef]) -> dict[str, str]:
    """The union of every function's environment; raises when two functions disagree on a key."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    conflicts: list[str] = []
    for function in sorted(functions, key=lambda f: f.logical_id):
        for key, value in function.environment.items():
            if key in merged and merged[key] != value:
                conflicts.append(f"{key}: {owner[key]}={merged[key]!r} vs {function.logical_id}={value!r}")
                continue
            merged.setdefault(key, value)
            owner.setdefault(key, function.logical_id)
    if conflicts:
        raise EnvironmentConflictError(
            "functions need different values for the same variable, which one local process cannot give: "
            + "; ".join(conflicts)
        )
    return merged


def add_code_paths(functions: Iterable[FunctionDef]) -> None:
    """Put code dirs (CodeUri) and layer dirs on ``sys.path``, like Lambda's /var/task and /opt/python."""
    paths: list[Path] = []
    for function in functions:
        paths.append(function.code_dir)
        for layer in function.layer_dirs:
            paths.extend(p for p in (layer / "python", layer) if p.is_dir())
    for path in dict.fromkeys(paths):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


class Invoker:
    """Imports handlers on first use (like a cold start) or up front (:meth:`preload`) and invokes them with a fake
    LambdaContext."""

    def __init__(self, functions: Mapping[str, FunctionDef]) -> None:
        self.functions = dict(functions)
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._check_code_dirs()
        add_code_paths(self.functions.values())

    def _check_code_dirs(self) -> None:
        """One process has one module namespace: a module name may come from only one code dir."""
        seen: dict[str, Path] = {}
        for function in self.functions.values():
            if not function.runtime.startswith("python") and function.runtime:
                raise ValueError(f"{function.logical_id}: runtime {function.runtime} cannot run in-process")
            top = function.module_name.split(".", 1)[0]
            if seen.setdefault(top, function.code_dir) != function.code_dir:
                raise ValueError(f"module {top!r} exists in two code dirs ({seen[top]}, {function.code_dir})")

    def handler(self, logical_id: str) -> Handler:
        """The handler callable of a function (imported on first use)."""
        with self._lock:
            if logical_id not in self._handlers:
                function = self.functions[logical_id]
                module = importlib.import_module(function.module_name)
                self._handlers[logical_id] = getattr(module, function.function_name)
            return self._handlers[logical_id]

    def preload(self, logical_ids: Iterable[str]) -> None:
        """Import these functions' handlers now, in this thread. The stack does it for every API handler and
        authorizer before the gateway opens its port: the first requests then meet no import (the Lambda cold start
        this emulates would be one per container; here concurrent first requests would queue behind one import)."""
        for logical_id in dict.fromkeys(logical_ids):
            self.handler(logical_id)

    def invoke(self, logical_id: str, event: Any, request_id: str | None = None) -> Any:
        """Call the function's handler; exceptions propagate to the caller, which knows how AWS reacts."""
        function = self.functions[logical_id]
        handler = self.handler(logical_id)
        context = make_context(function, request_id)
        started = time.monotonic()
        try:
            return handler(event, context)
        finally:
            elapsed = time.monotonic() - started
            LOG.debug("%s %s took %.0f ms", logical_id, context.aws_request_id, elapsed * 1000)
            if elapsed > function.timeout:
                LOG.warning(
                    "%s ran %.1fs, longer than its Timeout of %ss: AWS would have stopped it",
                    logical_id,
                    elapsed,
                    function.timeout,
                )
