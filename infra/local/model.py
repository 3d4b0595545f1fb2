"""What the local stack needs to know about a template, as plain immutable values.

``template.py`` builds these from ``template.yaml``; the gateway, runners and resource creators only
read them, so none of them has to understand CloudFormation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EventSource:
    """One entry of a function's ``Events`` with its intrinsics resolved."""

    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionDef:
    """An ``AWS::Serverless::Function`` after Globals and intrinsics."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    events: dict[str, EventSource]
    layer_dirs: tuple[Path, ...] = ()

    @property
    def module_name(self) -> str:
        """``jobs/quotes.refresh`` -> ``jobs.quotes`` (Lambda's Python runtime accepts both separators)."""
        module, _, _ = self.handler.rpartition(".")
        return module.replace("/", ".")

    @property
    def function_name(self) -> str:
        """``jobs/quotes.refresh`` -> ``refresh``."""
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class ApiRoute:
    """One ``Api`` event: a method and path of a REST API served by a function."""

    api_id: str
    path: str
    method: str
    function_id: str
    authorizer: str | None


@dataclass(frozen=True)
class AuthorizerDef:
    """A Lambda authorizer of an API (``Auth.Authorizers.<name>``)."""

    name: str
    function_id: str
    payload_type: str
    identity_header: str
    request_headers: tuple[str, ...]
    request_query_strings: tuple[str, ...]
    validation_expression: str | None
    ttl_seconds: int


@dataclass(frozen=True)
class GatewayResponseDef:
    """A ``GatewayResponses`` entry: status override, header expressions, body templates."""

    status_code: int | None
    headers: dict[str, str]
    templates: dict[str, str]


@dataclass(frozen=True)
class CorsDef:
    """An Api's ``Cors``: what the OPTIONS methods SAM generates for every path (mock integrations) answer."""

    allow_origin: str
    allow_headers: str | None = None
    allow_methods: str | None = None  # None: the path's own methods and OPTIONS, as SAM generates them
    max_age: str | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ThrottleDef:
    """Stage-wide throttling from ``MethodSettings`` (``/*`` and ``*``)."""

    rate_per_second: float
    burst: int


@dataclass(frozen=True)
class ApiDef:
    """An ``AWS::Serverless::Api`` (or SAM's implicit ``ServerlessRestApi``) with its routes."""

    logical_id: str
    stage_name: str
    default_authorizer: str | None
    authorizers: dict[str, AuthorizerDef]
    gateway_responses: dict[str, GatewayResponseDef]
    binary_media_types: tuple[str, ...]
    throttle: ThrottleDef | None
    routes: tuple[ApiRoute, ...]
    cors: CorsDef | None = None


@dataclass(frozen=True)
class ScheduleDef:
    """A ``Schedule`` / ``ScheduleV2`` event of a function."""

    function_id: str
    event_name: str
    kind: str
    expression: str
    enabled: bool
    input: str | None
    rule_name: str
    timezone: str | None = None


@dataclass(frozen=True)
class QueueDef:
    """An ``AWS::SQS::Queue`` with its attributes in SQS API form (strings)."""

    logical_id: str
    name: str
    url: str
    arn: str
    attributes: dict[str, str]
    dead_letter_queue_id: str | None
    max_receive_count: int | None


@dataclass(frozen=True)
class SqsEventDef:
    """An ``SQS`` event source of a function."""

    function_id: str
    event_name: str
    queue_id: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool
    batching_window_seconds: int


@dataclass(frozen=True)
class EventRuleDef:
    """An ``EventBridgeRule`` / ``CloudWatchEvent`` event of a function."""

    function_id: str
    event_name: str
    rule_name: str
    bus_name: str
    pattern: dict[str, Any]
    input: str | None
    input_path: str | None


@dataclass(frozen=True)
class StateMachineDef:
    """A state machine with its ASL definition text, substitutions already applied."""

    logical_id: str
    name: str
    arn: str
    type: str
    definition: str


@dataclass(frozen=True)
class SecretDef:
    """An ``AWS::SecretsManager::Secret``: a fixed string or a generation recipe."""

    logical_id: str
    name: str
    description: str | None
    secret_string: str | None
    generate: dict[str, Any] | None


@dataclass(frozen=True)
class SsmParameterDef:
    """An ``AWS::SSM::Parameter``."""

    logical_id: str
    name: str
    type: str
    value: str


@dataclass(frozen=True)
class EventBusDef:
    """An ``AWS::Events::EventBus``."""

    logical_id: str
    name: str


@dataclass(frozen=True)
class LocalSettings:
    """Local values that CloudFormation would otherwise decide (``infra/local/parameters.json``)."""

    stack_name: str = "local"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    parameters: dict[str, str] = field(default_factory=dict)
    physical_names: dict[str, str] = field(default_factory=dict)
