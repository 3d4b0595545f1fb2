"""Start and stop localstripe (a stateful fake Stripe API) for the local stack, like DynamoDB Local.

localstripe runs from its own venv (``.localstripe-venv``, made by ``make localstripe-venv``) as a child process
that dies with us (``PR_SET_PDEATHSIG``). Once it answers, the stack registers its webhook endpoint
``http://127.0.0.1:<api port>/v1/webhooks/stripe`` under ``LOCAL_STRIPE_WEBHOOK_SECRET``. localstripe signs webhooks
like Stripe but sends no refund or cancel events, never retries and ignores idempotency keys: the backend's
correctness never depends on an event arriving (docs/technical-specification.md, "Payments").
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.local.processes import ChildProcess, port_in_use, spawn

LOG = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO_ROOT / ".localstripe-venv" / "bin" / "python"
LAUNCHER = Path(__file__).with_name("localstripe_main.py")
WEBHOOK_ID = "tickerleague"
START_TIMEOUT_SECONDS = 60.0
DEFAULT_WEBHOOK_SECRET = "whsec_local_development"


def local_webhook_secret() -> str:
    """The webhook signing secret of the local stack: LOCAL_STRIPE_WEBHOOK_SECRET, else the default."""
    return os.environ.get("LOCAL_STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET


class LocalStripeError(RuntimeError):
    """localstripe could not be started or configured."""


def find_python() -> Path:
    """The localstripe venv's python (``LOCALSTRIPE_PYTHON`` overrides)."""
    override = os.environ.get("LOCALSTRIPE_PYTHON")
    python = Path(override) if override else VENV_PYTHON
    if not python.exists():
        raise LocalStripeError(f"{python} not found: run `make localstripe-venv` (make dev does it)")
    return python


@dataclass
class LocalStripe(ChildProcess):
    """A running localstripe; :meth:`stop` ends it."""

    label = "localstripe"
    error = LocalStripeError

    @property
    def url(self) -> str:
        """The base address for ``STRIPE_API_BASE``."""
        return f"http://{self.host}:{self.port}"

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        self.wait_until(lambda: port_in_use(self.port, self.host), timeout)

    def register_webhook(self, url: str, secret: str) -> None:
        """Point localstripe's webhooks (every event type) at ``url``, signed with ``secret``."""
        data = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
        request = urllib.request.Request(f"{self.url}/_config/webhooks/{WEBHOOK_ID}", data=data, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # nosec B310 - our own http://127.0.0.1 URL
                response.read()
        except urllib.error.URLError as exc:
            raise LocalStripeError(f"registering the webhook with localstripe failed: {exc}") from exc
        LOG.info("localstripe webhook -> %s", url)


def start_localstripe(port: int = 8420, *, host: str = "127.0.0.1", state_file: Path | None = None,
                      log_path: Path | None = None, timeout: float = START_TIMEOUT_SECONDS) -> LocalStripe:
    """Start localstripe on ``host:port`` (state in ``state_file``, or memory only) and wait until it listens."""
    if port_in_use(port, host):
        raise LocalStripeError(f"port {port} is already in use (is another localstripe running?)")
    # -P: the launcher's own folder (infra/local, with this module named localstripe.py) stays off sys.path
    command = [str(find_python()), "-P", str(LAUNCHER), "--host", host, "--port", str(port)]
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        command += ["--state-file", str(state_file)]
    process, log_file = spawn(command, log_path)
    handle = LocalStripe(process, port, host, log_file=log_file)
    LOG.info("localstripe (pid %s) starting on %s", process.pid, handle.url)
    handle.wait_ready(timeout)
    return handle
