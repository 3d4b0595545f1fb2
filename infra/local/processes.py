"""Child processes of the local stack (DynamoDB Local's java, localstripe's python): start, wait, stop.

On Linux each child gets ``PR_SET_PDEATHSIG`` so it dies with us even if we are killed without a chance to clean
up; its output goes to a log file (or nowhere); ``stop`` sends SIGTERM, then SIGKILL if it lingers.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free right now (tests pick ports this way)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something is listening on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel to SIGTERM it when its parent thread exits."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(command: list[str], log_path: Path | None, cwd: Path | None = None) -> tuple[subprocess.Popen[bytes],
                                                                                      IO[bytes] | None]:
    """Start `command` as a child that dies with us, its output appended to `log_path` (or dropped)."""
    log_file = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed by ChildProcess.stop
    process = subprocess.Popen(
        command,
        cwd=str(cwd) if cwd else None,
        stdin=subprocess.DEVNULL,
        stdout=log_file or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log_file else subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
    )
    return process, log_file


@dataclass
class ChildProcess:
    """A running child serving on ``host:port``; :meth:`stop` ends it."""

    process: subprocess.Popen[bytes]
    port: int
    host: str = "127.0.0.1"
    log_file: IO[bytes] | None = field(default=None, repr=False)

    # What the child is called in errors, and the error it raises (subclasses name theirs).
    label: ClassVar[str] = "child process"
    error: ClassVar[type[RuntimeError]] = RuntimeError

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        """Poll `ready` until it is true; fail early if the process exits, and stop it on a timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise self.error(f"{self.label} exited with code {self.process.returncode}")
            try:
                if ready():
                    return
                cause: Exception | None = None
            except Exception as exc:  # not answering yet
                cause = exc
            if time.monotonic() > deadline:
                self.stop()
                raise self.error(f"{self.label} did not answer on {self.host}:{self.port}") from cause
            time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None
