"""The JSON lines the package's Powertools Logger writes, captured from its own handler (formatter and filters as
deployed), for tests that read what a log line carries."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class LogLines:
    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._buffer.getvalue().splitlines() if line.startswith("{")]

    def with_message(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line.get("message") == message]


@contextmanager
def captured_log_lines() -> Iterator[LogLines]:
    from tickerleague.logs import logger

    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield LogLines(buffer)
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
