"""The whole system on one machine, from ``template.yaml``: ``python -m infra.local.stack`` (``make dev``).

Start order (each step needs the previous ones): single-instance lock -> port checks -> DynamoDB Local ->
process environment -> moto (in-process) -> table -> queues, buses, secrets, parameters, state machines ->
handler environment -> Lambda dispatch for workflows -> seed hooks -> gateway, schedules, pollers.
Stopping runs the same list backwards; every step is undone even when an earlier undo fails.

What survives a restart: DynamoDB data (``.local/ddb``), generated secrets (``.local/secrets.json``), localstripe's
store (``.local/localstripe.pickle``), the mail stand-in's outbox (``.local/outbox``) and, after a clean stop
(Ctrl-C, SIGTERM), every queued SQS message (``.local/queues.json``, infra/local/queue_state.py). What does not:
the rest of moto's state, Step Functions executions above all. A contest whose lifecycle execution was waiting when
the stack stopped has no execution after a restart; the app's ``infra.seed.on_start()`` hook runs after all
resources exist so it can re-arm such workflows. A killed stack (SIGKILL) saves no queued message.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import urlsplit

import boto3

from infra.local.api_docs import ApiDocs
from infra.local.dynamodb_local import DynamoDBLocal, ensure_table, port_in_use, start_dynamodb_local
from infra.local.gateway import GatewayServer, LocalGateway
from infra.local.invoke import Invoker, merged_environment
from infra.local.localstripe import LocalStripe, local_webhook_secret, start_localstripe
from infra.local.queues import QueueRunner, event_rule_pollers, sqs_pollers
from infra.local.resources import create_queue_rules, create_resources
from infra.local.schedules import ScheduleRunner, rate_override_from_env
from infra.local.template import DEFAULT_PARAMETERS_FILE, LocalTemplate, load_template
from infra.local.workflows import (
    LambdaDispatcher,
    create_state_machines,
    stop_running_executions,
    use_utc_process_timezone,
)

LOG = logging.getLogger("infra.local.stack")

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_NAME = "stack.lock"


class StackError(RuntimeError):
    """The stack cannot start (already running, port taken, bad template ...)."""


@dataclass
class StackConfig:
    """Everything that varies between ``make dev``, e2e tests and experiments."""

    template_path: Path = REPO_ROOT / "template.yaml"
    parameters_file: Path | None = DEFAULT_PARAMETERS_FILE
    state_dir: Path = REPO_ROOT / ".local"
    host: str = "127.0.0.1"
    port: int = 3000
    ddb_port: int = 8000
    ddb_endpoint: str | None = None
    in_memory: bool = False
    reset: bool = False
    seed: bool = True
    env_overrides: dict[str, str] = field(default_factory=dict)
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    physical_names: dict[str, str] = field(default_factory=dict)
    queue_wait_seconds: int = 1
    mail_port: int = 8025  # the SendGrid stand-in (infra/local/mailbox.py); 0: do not start it
    stripe_port: int = field(default_factory=lambda: int(os.environ.get("LOCAL_STRIPE_PORT") or "8420"))


# Every local client (browser, curl, test suites) is 127.0.0.1, so the per-IP login limit would lock everyone out
# at once after a test suite's share of wrong passwords; locally it is higher (the per-email limit is unchanged).
LOCAL_LOGIN_MAX_FAILURES_PER_IP = "500"
# The same for the per-IP rate-limit bucket (unauthenticated routes): 10x the contract's 120 burst, 10 per second.
# Only that one: the per-user buckets stay as deployed, since local users are as distinct as real ones.
LOCAL_RATE_LIMIT_IP_BURST = "1200"
LOCAL_RATE_LIMIT_IP_PER_SECOND = "100"


def base_environment(ddb_endpoint: str, region: str) -> dict[str, str]:
    """What Lambda (and our local choices) put in every function's environment besides the template's."""
    return {
        "LOGIN_MAX_FAILURES_PER_IP": os.environ.get("LOGIN_MAX_FAILURES_PER_IP", LOCAL_LOGIN_MAX_FAILURES_PER_IP),
        "RATE_LIMIT_IP_BURST": os.environ.get("RATE_LIMIT_IP_BURST", LOCAL_RATE_LIMIT_IP_BURST),
        "RATE_LIMIT_IP_PER_SECOND": os.environ.get("RATE_LIMIT_IP_PER_SECOND", LOCAL_RATE_LIMIT_IP_PER_SECOND),
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
        "TZ": ":UTC",
        "LOCAL_STACK": "1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # What /v1/health reports as local components (name=host:port, comma-separated; add each local server).
        "LOCAL_COMPONENTS": f"dynamodb-local={urlsplit(ddb_endpoint).netloc}",
    }


def payments_environment(stripe_url: str) -> dict[str, str]:
    """Stripe is localstripe; keys are local values, not Secrets Manager ids (empty id = local value)."""
    env = {
        "STRIPE_API_BASE": stripe_url,
        "STRIPE_SECRET_KEY_SECRET_ID": "",
        "STRIPE_WEBHOOK_SECRET_ID": "",
        "LOCAL_STRIPE_WEBHOOK_SECRET": local_webhook_secret(),
    }
    if os.environ.get("PAYMENT_HOLD_SECONDS"):
        env["PAYMENT_HOLD_SECONDS"] = os.environ["PAYMENT_HOLD_SECONDS"]
    return env


# ---------------------------------------------------------------------- single instance


class InstanceLock:
    """An flock on ``<state dir>/stack.lock`` holding ``{"pid", "port"}`` of the running stack."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self, port: int) -> None:
        """Take the lock or raise StackError naming the running instance."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _read_holder(handle.read())
            handle.close()
            raise StackError(f"already running (pid {holder.get('pid', '?')}) on :{holder.get('port', '?')}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "port": port}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Drop the lock (the file stays; its content no longer matters once unlocked)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _read_holder(text: str) -> dict[str, Any]:
    try:
        return dict(json.loads(text))
    except (ValueError, TypeError):
        return {}


def wipe_state(state_dir: Path) -> None:
    """``--reset``: delete everything under the state dir except the (held) lock file."""
    for entry in state_dir.iterdir() if state_dir.exists() else []:
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# ---------------------------------------------------------------------- seed hooks


def call_seed_hook(name: str, env: Mapping[str, str], module_name: str = "infra.seed") -> bool:
    """Call ``infra.seed.<name>(env)`` (or without argument) when the module and function exist."""
    if importlib.util.find_spec(module_name) is None:
        return False
    hook = getattr(importlib.import_module(module_name), name, None)
    if hook is None:
        return False
    LOG.info("running %s.%s()", module_name, name)
    if inspect.signature(hook).parameters:
        hook(dict(env))
    else:
        hook()
    return True


# ---------------------------------------------------------------------- the stack


class LocalStack:
    """Owns every local component; :meth:`start` and :meth:`stop` bring them up and down."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.template: LocalTemplate | None = None
        self.invoker: Invoker | None = None
        self.server: GatewayServer | None = None
        self.schedules: ScheduleRunner | None = None
        self.queues: QueueRunner | None = None
        self.ddb: DynamoDBLocal | None = None
        self.mailbox: Any = None
        self.stripe: LocalStripe | None = None
        self.ddb_endpoint = config.ddb_endpoint or f"http://127.0.0.1:{config.ddb_port}"
        self._undo: list[tuple[str, Callable[[], None]]] = []
        self._saved_env: dict[str, str] | None = None

    @property
    def url(self) -> str:
        """Base URL of the local API."""
        assert self.server is not None, "stack not started"
        return self.server.url

    def start(self) -> None:
        """Bring everything up; on failure, undo what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        config = self.config
        self._lock()
        self._check_ports()
        self._start_dynamodb()
        self._start_localstripe()
        self._set_environment(base_environment(self.ddb_endpoint, "us-east-1"))
        from infra.local.moto_setup import local_moto  # heavy: imported only once the lock and ports are ours

        moto = local_moto()
        moto.start()
        self._undo.append(("moto", moto.stop))
        template = load_template(
            config.template_path, config.parameters_file, config.parameter_overrides, config.physical_names
        )
        self._create_table(template)
        attributes = create_resources(template, config.state_dir, in_memory=config.in_memory)
        template = template.with_attributes(attributes)
        create_queue_rules(template)
        template = template.with_attributes(create_state_machines(template))
        self._undo.append(("executions", lambda: stop_running_executions(template)))
        self.template = template
        env = {
            **merged_environment(template.functions.values()),
            **base_environment(self.ddb_endpoint, template.settings.region),
            **self._start_mailbox(),
            **payments_environment(self.stripe_url),
            **config.env_overrides,
        }
        # /v1/health names every local component it depends on (services/health.py).
        components = [env.get("LOCAL_COMPONENTS", ""), f"localstripe=127.0.0.1:{self.config.stripe_port}"]
        if self.mailbox is not None:
            components.append(f"mailbox={self.config.host}:{self.config.mail_port}")
        env["LOCAL_COMPONENTS"] = ",".join(part for part in components if part)
        self._set_environment(env)
        use_utc_process_timezone()
        self.invoker = Invoker(template.functions)
        dispatcher = LambdaDispatcher(template, self.invoker)
        dispatcher.install()
        self._undo.append(("lambda dispatch", dispatcher.uninstall))
        if config.seed:
            call_seed_hook("run", env)
            call_seed_hook("on_start", env)
        self._start_runners(template, self.invoker)
        self._start_gateway(template, self.invoker)
        self._register_stripe_webhook()

    def _lock(self) -> None:
        lock = InstanceLock(self.config.state_dir)
        lock.acquire(self.config.port)
        self._undo.append(("lock", lock.release))
        if self.config.reset:
            LOG.info("--reset: wiping %s", self.config.state_dir)
            wipe_state(self.config.state_dir)

    def _start_mailbox(self) -> dict[str, str]:
        """The SendGrid stand-in, before any function can send; the environment pointing the sender at it."""
        if not self.config.mail_port:
            return {}
        from infra.local.mailbox import MailboxServer, Outbox, backend_environment

        server = MailboxServer(Outbox(self.config.state_dir / "outbox"), self.config.host, self.config.mail_port)
        server.start()
        self.mailbox = server
        self._undo.append(("mail stand-in", server.stop))
        return backend_environment(server.url)

    def _check_ports(self) -> None:
        if self.config.port and port_in_use(self.config.port, self.config.host):
            raise StackError(f"port {self.config.port} is in use: is another server (or `make dev`) running?")
        if self.config.mail_port and port_in_use(self.config.mail_port, self.config.host):
            raise StackError(f"port {self.config.mail_port} (mail stand-in, LOCAL_MAIL_PORT) is in use")
        if self.config.ddb_endpoint is None and port_in_use(self.config.ddb_port):
            raise StackError(f"port {self.config.ddb_port} (DynamoDB Local) is in use by another process")
        if port_in_use(self.config.stripe_port):
            raise StackError(f"port {self.config.stripe_port} (localstripe, LOCAL_STRIPE_PORT) is in use")

    def _start_dynamodb(self) -> None:
        if self.config.ddb_endpoint is not None:
            return
        state = self.config.state_dir
        self.ddb = start_dynamodb_local(
            self.config.ddb_port,
            in_memory=self.config.in_memory,
            db_path=state / "ddb",
            log_path=state / "dynamodb-local.log",
        )
        self._undo.append(("DynamoDB Local", self.ddb.stop))

    @property
    def stripe_url(self) -> str:
        return f"http://127.0.0.1:{self.config.stripe_port}"

    def _start_localstripe(self) -> None:
        state = self.config.state_dir
        self.stripe = start_localstripe(
            self.config.stripe_port,
            state_file=None if self.config.in_memory else state / "localstripe.pickle",
            log_path=state / "localstripe.log",
        )
        self._undo.append(("localstripe", self.stripe.stop))

    def _register_stripe_webhook(self) -> None:
        assert self.stripe is not None and self.server is not None
        secret = local_webhook_secret()
        self.stripe.register_webhook(f"{self.server.url}/v1/webhooks/stripe", secret)

    def _set_environment(self, values: Mapping[str, str]) -> None:
        if self._saved_env is None:
            self._saved_env = dict(os.environ)
            self._undo.append(("environment", self._restore_environment))
        os.environ.update(values)

    def _restore_environment(self) -> None:
        if self._saved_env is not None:
            os.environ.clear()
            os.environ.update(self._saved_env)
            self._saved_env = None
            time.tzset()

    def _create_table(self, template: LocalTemplate) -> None:
        client = boto3.client("dynamodb", endpoint_url=self.ddb_endpoint, region_name=template.settings.region)
        for logical_id in template.table_ids:
            kwargs = template.table_create_kwargs(logical_id=logical_id)
            if ensure_table(client, kwargs, template.table_ttl_attribute(logical_id)):
                LOG.info("created table %s", kwargs["TableName"])

    def _start_runners(self, template: LocalTemplate, invoker: Invoker) -> None:
        region = template.settings.region
        wait = self.config.queue_wait_seconds
        # Building the pollers creates the rules' private queues: every queue exists from here on.
        pollers = sqs_pollers(template.sqs_events, template.attributes, invoker.invoke, region, wait)
        pollers += event_rule_pollers(template.event_rules, invoker.invoke, region, wait)
        self._keep_queued_messages(template)
        self.schedules = ScheduleRunner(
            template.schedules,
            invoker.invoke,
            region=region,
            account_id=template.settings.account_id,
            rate_override_seconds=rate_override_from_env(),
        )
        self.schedules.start()
        self._undo.append(("schedules", self.schedules.stop))
        self.queues = QueueRunner(pollers)
        self.queues.start()
        self._undo.append(("queue pollers", self.queues.stop))

    def _keep_queued_messages(self, template: LocalTemplate) -> None:
        """With data on disk: put back the messages the last clean stop saved, and save them again at this stop,
        once the gateway, the pollers and the schedules have stopped (infra/local/queue_state.py)."""
        if self.config.in_memory:
            return
        from infra.local.queue_state import restore_queues, save_queues

        state_dir = self.config.state_dir
        restore_queues(template, state_dir)

        def save() -> None:
            save_queues(template, state_dir)

        self._undo.append(("queued messages", save))

    def _start_gateway(self, template: LocalTemplate, invoker: Invoker) -> None:
        # Every API handler and authorizer imported before the port opens (the port opening is the "ready" signal).
        authorizers = [spec.function_id for api in template.apis.values() for spec in api.authorizers.values()]
        invoker.preload([*(route.function_id for route in template.routes), *authorizers])
        self.server = GatewayServer(LocalGateway(template, invoker), self.config.host, self.config.port,
                                    docs=ApiDocs())
        self.server.start()
        self._undo.append(("gateway", self.server.stop))

    def stop(self) -> None:
        """Undo every started step, newest first; failures are logged and do not stop the rest."""
        while self._undo:
            name, undo = self._undo.pop()
            try:
                undo()
            except Exception:
                LOG.exception("stopping %s failed", name)


# ---------------------------------------------------------------------- command line


def banner(stack: LocalStack) -> str:
    """The friendly startup message."""
    template = stack.template
    assert template is not None
    routes = template.routes
    public = [r.path for r in routes if r.method == "GET" and r.authorizer is None]
    public_get = next((p for p in public if "{" not in p), public[0] if public else None)
    title = str(template.document.get("Description", "Local stack")).split(" - ", 1)[0]
    data = "in memory" if stack.config.in_memory else f"data in {stack.config.state_dir / 'ddb'}"
    admin_email = os.environ.get("LOCAL_ADMIN_EMAIL", "admin@example.com")
    lines = [
        "",
        f"  {title}: local stack is up",
        "",
        f"  API        {stack.url}   ({len(routes)} routes" + (f"; try GET {public_get})" if public_get else ")"),
        f"  API docs   {stack.url}/docs   (Swagger UI, Try it out calls this stack)",
        f"  DynamoDB   {stack.ddb_endpoint}   ({data})",
        *([f"  Mail       {stack.mailbox.url}/   (what the stack sent, as players read it)"] if stack.mailbox else []),
        f"  Stripe     {stack.stripe_url}   (localstripe; webhook secret $LOCAL_STRIPE_WEBHOOK_SECRET)",
        f"  Admin      {admin_email} / $LOCAL_ADMIN_PASSWORD (default: local-admin-password)",
        f"  Jobs       {len(template.schedules)} schedule(s), {len(template.sqs_events)} queue consumer(s),"
        f" {len(template.state_machines)} state machine(s)",
        "  Stop       Ctrl-C      Wipe local data: make dev-reset",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> StackConfig:
    """Command-line options -> StackConfig."""
    parser = argparse.ArgumentParser(prog="python -m infra.local.stack", description=__doc__.split("\n")[0])
    parser.add_argument("--template", type=Path, default=REPO_ROOT / "template.yaml")
    parser.add_argument("--parameters", type=Path, default=DEFAULT_PARAMETERS_FILE, help="local parameters file")
    parser.add_argument("--no-parameters", action="store_true", help="use the template's parameter defaults")
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".local")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_API_PORT", "3000")))
    parser.add_argument("--ddb-port", type=int, default=int(os.environ.get("LOCAL_DDB_PORT", "8000")))
    parser.add_argument("--mail-port", type=int, default=int(os.environ.get("LOCAL_MAIL_PORT", "8025")),
                        help="the SendGrid stand-in's port (0: none)")
    parser.add_argument("--stripe-port", type=int, default=int(os.environ.get("LOCAL_STRIPE_PORT") or "8420"),
                        help="localstripe's port (LOCAL_STRIPE_PORT)")
    parser.add_argument("--ddb-endpoint", help="use this running DynamoDB Local instead of starting one")
    parser.add_argument("--in-memory", action="store_true", help="DynamoDB Local -inMemory (nothing persists)")
    parser.add_argument("--reset", action="store_true", help="wipe the state dir (.local/) before starting")
    parser.add_argument("--no-seed", action="store_true", help="skip infra.seed hooks")
    parser.add_argument("--table-name", help="physical name of the (single) table")
    args = parser.parse_args(argv)
    parameters = None if args.no_parameters else args.parameters
    return StackConfig(
        template_path=args.template,
        parameters_file=parameters,
        state_dir=args.state_dir,
        port=args.port,
        ddb_port=args.ddb_port,
        mail_port=args.mail_port,
        stripe_port=args.stripe_port,
        ddb_endpoint=args.ddb_endpoint,
        in_memory=args.in_memory,
        reset=args.reset,
        seed=not args.no_seed,
        physical_names=_table_name_override(args.template, parameters, args.table_name),
    )


def _table_name_override(template_path: Path, parameters: Path | None, table_name: str | None) -> dict[str, str]:
    if table_name is None:
        return {}
    template = load_template(template_path, parameters)
    return {template.table_ids[0]: table_name}


@contextlib.contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set the returned event; a second signal exits at once (children die with us)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            LOG.warning("second signal: exiting immediately")
            os._exit(128 + signum)
        LOG.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: list[str] | None = None) -> int:
    """Run the stack until Ctrl-C / SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    config = parse_args(argv)
    stack = LocalStack(config)
    with _stop_signals() as stop:
        try:
            stack.start()
        except StackError as exc:
            print(f"local stack: {exc}", file=sys.stderr)
            return 1
        except Exception:
            LOG.exception("local stack failed to start (everything it had started is stopped again)")
            return 1
        print(banner(stack), flush=True)
        stop.wait()
    stack.stop()
    LOG.info("stopped")
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter teardown once everything we started is stopped.

    Tearing down an interpreter that holds moto's object graph (and daemon threads frozen mid-call) can
    spend a minute in the final garbage collection on a busy machine; nothing is left to clean up by then.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
