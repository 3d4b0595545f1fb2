"""Read ``template.yaml`` the way SAM and CloudFormation would, with local values for everything physical.

The template is the single source of truth: routes, schedules, queues, the table and the state machine of
the local stack all come from here, so the local stack cannot drift from what is deployed. Physical names
follow one rule: the resource's own name property if it has one, else ``PhysicalNames`` from the local
parameters file, else the logical id (so a function's local ARN ends in ``function:<LogicalId>``).
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from infra.local.cfn_yaml import load_cfn_file
from infra.local.intrinsics import INTRINSIC_KEYS, Resolver, TemplateError
from infra.local.model import (
    ApiDef,
    ApiRoute,
    AuthorizerDef,
    CorsDef,
    EventBusDef,
    EventRuleDef,
    EventSource,
    FunctionDef,
    GatewayResponseDef,
    LocalSettings,
    QueueDef,
    ScheduleDef,
    SecretDef,
    SqsEventDef,
    SsmParameterDef,
    StateMachineDef,
    ThrottleDef,
)

__all__ = ["LocalTemplate", "TemplateError", "load_settings", "load_template", "table_create_kwargs"]

LOG = logging.getLogger(__name__)

DEFAULT_PARAMETERS_FILE = Path(__file__).with_name("parameters.json")
IMPLICIT_API_ID = "ServerlessRestApi"
LOCAL_API_ID = "local"

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_API = "AWS::Serverless::Api"

# Globals section key -> resource type it applies to.
_GLOBALS_TARGETS = {
    "Function": SERVERLESS_FUNCTION,
    "Api": SERVERLESS_API,
    "HttpApi": "AWS::Serverless::HttpApi",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "StateMachine": "AWS::Serverless::StateMachine",
    "LayerVersion": "AWS::Serverless::LayerVersion",
}

# Resource type -> the property that names it.
_NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SSM::Parameter": "Name",
    SERVERLESS_FUNCTION: "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Serverless::LayerVersion": "LayerName",
    SERVERLESS_API: "Name",
    "AWS::IAM::Role": "RoleName",
}

_STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)

_DEFAULT_TIMEOUT = 3
_DEFAULT_MEMORY = 128
_DEFAULT_AUTHORIZER_TTL = 300


# ---------------------------------------------------------------------- settings


def load_settings(
    parameters_file: Path | None = DEFAULT_PARAMETERS_FILE,
    parameter_overrides: Mapping[str, str] | None = None,
    physical_names: Mapping[str, str] | None = None,
) -> LocalSettings:
    """Read the local parameters file (optional) and apply explicit overrides on top."""
    raw: dict[str, Any] = {}
    if parameters_file is not None:
        raw = json.loads(parameters_file.read_text(encoding="utf-8"))
    parameters = {str(k): str(v) for k, v in raw.get("Parameters", {}).items()}
    parameters.update(parameter_overrides or {})
    names = {str(k): str(v) for k, v in raw.get("PhysicalNames", {}).items()}
    names.update(physical_names or {})
    return LocalSettings(
        stack_name=str(raw.get("StackName", "local")),
        region=str(raw.get("Region", "us-east-1")),
        account_id=str(raw.get("AccountId", "123456789012")),
        parameters=parameters,
        physical_names=names,
    )


def load_template(
    path: Path | str,
    parameters_file: Path | None = DEFAULT_PARAMETERS_FILE,
    parameter_overrides: Mapping[str, str] | None = None,
    physical_names: Mapping[str, str] | None = None,
) -> LocalTemplate:
    """Load a SAM template with local settings (see :func:`load_settings`)."""
    settings = load_settings(parameters_file, parameter_overrides, physical_names)
    template_path = Path(path).resolve()
    return LocalTemplate(load_cfn_file(template_path), template_path, settings)


def table_create_kwargs(template_path: Path | str, table_name: str, logical_id: str | None = None) -> dict[str, Any]:
    """boto3 ``create_table`` kwargs for the template's table, named ``table_name``.

    Unit and integration tests build their tables from this so they cannot drift from the deployed one.
    ``logical_id`` picks the table when the template has several.
    """
    template = load_template(template_path, parameters_file=None)
    return template.table_create_kwargs(table_name, logical_id)


# ---------------------------------------------------------------------- globals


def merge_globals(global_value: Any, resource_value: Any) -> Any:
    """SAM's Globals rule: maps merge (resource wins), lists concatenate (globals first), scalars override."""
    if _is_plain_mapping(global_value) and _is_plain_mapping(resource_value):
        merged = dict(global_value)
        for key, value in resource_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(resource_value, list):
        return [*global_value, *resource_value]
    return resource_value


def _is_plain_mapping(value: Any) -> bool:
    """A mapping that is not an intrinsic call (intrinsics are merged as scalars)."""
    return isinstance(value, dict) and not (len(value) == 1 and next(iter(value)) in INTRINSIC_KEYS)


def _apply_globals(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Resources with the Globals section merged into their Properties."""
    global_sections = document.get("Globals") or {}
    unknown = set(global_sections) - set(_GLOBALS_TARGETS)
    if unknown:
        raise TemplateError(f"unsupported Globals sections: {sorted(unknown)}")
    resources: dict[str, dict[str, Any]] = {}
    for logical_id, original in (document.get("Resources") or {}).items():
        resource = copy.deepcopy(original)
        for section, resource_type in _GLOBALS_TARGETS.items():
            if resource.get("Type") == resource_type and section in global_sections:
                properties = resource.get("Properties") or {}
                resource["Properties"] = merge_globals(copy.deepcopy(global_sections[section]), properties)
        resources[logical_id] = resource
    return resources


# ---------------------------------------------------------------------- parameters


def _resolve_parameters(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Template parameter values: local override, else Default; validated like CloudFormation would."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        LOG.info("local parameters not declared by this template (ignored): %s", ", ".join(unknown))
    values: dict[str, Any] = {}
    for name, declaration in declared.items():
        spec = declaration or {}
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default and no local value")
        values[name] = _validate_parameter(name, spec, raw)
    return values


def _validate_parameter(name: str, spec: Mapping[str, Any], raw: Any) -> Any:
    text = "" if raw is None else str(raw)
    parameter_type = str(spec.get("Type", "String"))
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [str(a) for a in allowed]:
        raise TemplateError(f"parameter {name}={text!r} is not one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), text):
        raise TemplateError(f"parameter {name}={text!r} does not match {pattern}")
    if parameter_type.startswith("AWS::SSM::Parameter::Value"):
        raise TemplateError(f"parameter {name}: SSM-backed parameters need a local value")
    if parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<"):
        return [item.strip() for item in text.split(",")] if text else []
    if parameter_type == "Number":
        float(text)  # validates; CloudFormation hands numbers to intrinsics as strings
    return text


# ---------------------------------------------------------------------- the template


class LocalTemplate:
    """A SAM template evaluated with local values; every view is computed lazily and cached."""

    def __init__(
        self,
        document: Mapping[str, Any],
        path: Path,
        settings: LocalSettings,
        attribute_overrides: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.document = document
        self.path = path
        self.base_dir = path.parent
        self.settings = settings
        self._attribute_overrides = {k: dict(v) for k, v in (attribute_overrides or {}).items()}
        self.parameters = _resolve_parameters(document.get("Parameters") or {}, settings.parameters)
        self.pseudo: dict[str, Any] = {
            "AWS::Region": settings.region,
            "AWS::AccountId": settings.account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": settings.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{settings.region}:{settings.account_id}:stack/{settings.stack_name}/local"
            ),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        all_resources = _apply_globals(document)
        self._bare = Resolver(
            self.parameters, self.pseudo, {}, document.get("Conditions") or {}, document.get("Mappings") or {}
        )
        self.resources = {
            logical_id: resource
            for logical_id, resource in all_resources.items()
            if "Condition" not in resource or self._bare.condition(str(resource["Condition"]))
        }

    def with_attributes(self, overrides: Mapping[str, Mapping[str, str]]) -> LocalTemplate:
        """The same template with some resource attributes replaced by real local values (e.g. moto ARNs)."""
        merged = {k: dict(v) for k, v in self._attribute_overrides.items()}
        for logical_id, values in overrides.items():
            merged.setdefault(logical_id, {}).update(values)
        return LocalTemplate(self.document, self.path, self.settings, merged)

    # ------------------------------------------------------------------ resolution

    def _resources_of(self, *types: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") in types}

    def _properties(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties") or {})

    def physical_name(self, logical_id: str) -> str:
        """Name property if present, else the local ``PhysicalNames`` entry, else the logical id."""
        resource = self.resources.get(logical_id) or {}
        name_property = _NAME_PROPERTIES.get(str(resource.get("Type")))
        properties = resource.get("Properties") or {}
        if name_property and name_property in properties:
            return self._bare.resolve_string(properties[name_property], f"{logical_id}.{name_property}")
        return self.settings.physical_names.get(logical_id, logical_id)

    @cached_property
    def attributes(self) -> dict[str, dict[str, str]]:
        """Local Ref/GetAtt values of every resource (predicted, then replaced by real ones where given)."""
        table: dict[str, dict[str, str]] = {}
        for logical_id, resource in self.resources.items():
            table[logical_id] = self._predicted_attributes(logical_id, str(resource.get("Type")))
            if resource.get("Type") == SERVERLESS_FUNCTION:
                role = f"{logical_id}Role"
                role_arn = f"arn:aws:iam::{self.settings.account_id}:role/{role}"
                table.setdefault(role, {"Ref": role, "Arn": role_arn})
        if self._implicit_api_needed():
            table[IMPLICIT_API_ID] = {"Ref": LOCAL_API_ID, "RootResourceId": "root"}
        for logical_id, values in self._attribute_overrides.items():
            table.setdefault(logical_id, {}).update(values)
        return table

    def _predicted_attributes(self, logical_id: str, resource_type: str) -> dict[str, str]:
        name = self.physical_name(logical_id)
        region, account = self.settings.region, self.settings.account_id
        predictions: dict[str, dict[str, str]] = {
            "AWS::DynamoDB::Table": {
                "Ref": name,
                "Arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
                "StreamArn": f"arn:aws:dynamodb:{region}:{account}:table/{name}/stream/local",
            },
            "AWS::SQS::Queue": {
                "Ref": f"https://sqs.{region}.amazonaws.com/{account}/{name}",
                "QueueUrl": f"https://sqs.{region}.amazonaws.com/{account}/{name}",
                "Arn": f"arn:aws:sqs:{region}:{account}:{name}",
                "QueueName": name,
            },
            "AWS::SNS::Topic": {
                "Ref": f"arn:aws:sns:{region}:{account}:{name}",
                "TopicArn": f"arn:aws:sns:{region}:{account}:{name}",
                "TopicName": name,
            },
            "AWS::Events::EventBus": {
                "Ref": name,
                "Name": name,
                "Arn": f"arn:aws:events:{region}:{account}:event-bus/{name}",
            },
            "AWS::SecretsManager::Secret": {
                "Ref": f"arn:aws:secretsmanager:{region}:{account}:secret:{name}",
                "Id": f"arn:aws:secretsmanager:{region}:{account}:secret:{name}",
            },
            "AWS::SSM::Parameter": {"Ref": name, "Type": "String"},
            SERVERLESS_FUNCTION: {"Ref": name, "Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"},
            "AWS::Lambda::Function": {
                "Ref": name,
                "Arn": f"arn:aws:lambda:{region}:{account}:function:{name}",
            },
            "AWS::Serverless::LayerVersion": {"Ref": f"arn:aws:lambda:{region}:{account}:layer:{name}:1"},
            SERVERLESS_API: {"Ref": LOCAL_API_ID, "RootResourceId": "root"},
            "AWS::IAM::Role": {"Ref": name, "Arn": f"arn:aws:iam::{account}:role/{name}"},
        }
        for machine_type in _STATE_MACHINE_TYPES:
            arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
            predictions[machine_type] = {"Ref": arn, "Arn": arn, "Name": name}
        return predictions.get(resource_type, {"Ref": name, "Arn": f"arn:aws:local:{region}:{account}:{name}"})

    @cached_property
    def resolver(self) -> Resolver:
        """A resolver that knows every resource's local attributes."""
        return Resolver(
            self.parameters,
            self.pseudo,
            self.attributes,
            self.document.get("Conditions") or {},
            self.document.get("Mappings") or {},
        )

    def _logical_id_of(self, raw: Any, attribute: str, resource_types: tuple[str, ...]) -> str:
        """The logical id a property points at: directly (``!Ref X``, ``!GetAtt X.Arn``) or by value."""
        if isinstance(raw, dict) and len(raw) == 1:
            ((key, argument),) = raw.items()
            if key == "Ref" and str(argument) in self.resources:
                return str(argument)
            if key == "Fn::GetAtt":
                target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                if str(target) in self.resources:
                    return str(target)
        value = self.resolver.resolve_string(raw, "reference")
        for logical_id, resource in self.resources.items():
            if resource.get("Type") in resource_types and self.attributes[logical_id].get(attribute) == value:
                return logical_id
        raise TemplateError(f"{value!r} is not a {'/'.join(resource_types)} of this template")

    # ------------------------------------------------------------------ functions

    @cached_property
    def functions(self) -> dict[str, FunctionDef]:
        """Every ``AWS::Serverless::Function`` with Globals applied and env resolved to local values."""
        return {lid: self._function(lid) for lid in self._resources_of(SERVERLESS_FUNCTION)}

    def _function(self, logical_id: str) -> FunctionDef:
        properties = self._properties(logical_id)
        if properties.get("PackageType") == "Image" or "InlineCode" in properties:
            raise TemplateError(f"{logical_id}: only zip functions with a local CodeUri run locally")
        code_uri = properties.get("CodeUri", ".")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local path")
        if "Handler" not in properties:
            raise TemplateError(f"{logical_id}: no Handler")
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        environment = {
            key: self.resolver.resolve_string(value, f"{logical_id} env {key}") for key, value in variables.items()
        }
        events = {
            name: EventSource(name, str(event.get("Type")), self.resolver.resolve(event.get("Properties") or {}))
            for name, event in (properties.get("Events") or {}).items()
        }
        return FunctionDef(
            logical_id=logical_id,
            name=self.physical_name(logical_id),
            arn=self.attributes[logical_id]["Arn"],
            handler=self.resolver.resolve_string(properties["Handler"], f"{logical_id}.Handler"),
            code_dir=(self.base_dir / code_uri).resolve(),
            runtime=str(properties.get("Runtime", "")),
            timeout=int(properties.get("Timeout", _DEFAULT_TIMEOUT)),
            memory_size=int(properties.get("MemorySize", _DEFAULT_MEMORY)),
            environment=environment,
            events=events,
            layer_dirs=self._layer_dirs(properties.get("Layers") or []),
        )

    def _layer_dirs(self, layers: list[Any]) -> tuple[Path, ...]:
        """Local content directories of layers defined in this template (external layer ARNs are skipped)."""
        dirs: list[Path] = []
        for layer in layers:
            if isinstance(layer, dict) and "Ref" in layer and layer["Ref"] in self.resources:
                content = self._properties(str(layer["Ref"])).get("ContentUri")
                if isinstance(content, str):
                    dirs.append((self.base_dir / content).resolve())
        return tuple(dirs)

    def function_by_name(self, name_or_arn: str) -> FunctionDef:
        """The function a Lambda name, ARN or partial ARN designates (what Step Functions tasks use)."""
        name = name_or_arn.split(":function:", 1)[1] if ":function:" in name_or_arn else name_or_arn
        name = name.split(":", 1)[0]
        for function in self.functions.values():
            if name in {function.name, function.logical_id}:
                return function
        raise KeyError(f"no function named {name_or_arn!r} in {self.path.name}")

    # ------------------------------------------------------------------ API

    def _implicit_api_needed(self) -> bool:
        for resource in self._resources_of(SERVERLESS_FUNCTION).values():
            for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
                if event.get("Type") == "Api" and "RestApiId" not in (event.get("Properties") or {}):
                    return True
        return False

    @cached_property
    def apis(self) -> dict[str, ApiDef]:
        """Every REST API with its routes; SAM's implicit API appears as ``ServerlessRestApi``."""
        routes = self._api_routes()
        api_ids = {route.api_id for route in routes} | set(self._resources_of(SERVERLESS_API))
        return {api_id: self._api(api_id, tuple(r for r in routes if r.api_id == api_id)) for api_id in api_ids}

    @property
    def routes(self) -> list[ApiRoute]:
        """All routes of all APIs."""
        return [route for api in self.apis.values() for route in api.routes]

    def _api_routes(self) -> list[ApiRoute]:
        routes: list[ApiRoute] = []
        for logical_id, resource in self._resources_of(SERVERLESS_FUNCTION).items():
            for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
                if event.get("Type") != "Api":
                    continue
                raw = event.get("Properties") or {}
                api_id = (
                    self._logical_id_of(raw["RestApiId"], "Ref", (SERVERLESS_API,))
                    if "RestApiId" in raw
                    else IMPLICIT_API_ID
                )
                resolved = self.resolver.resolve(raw)
                auth = resolved.get("Auth") or {}
                routes.append(
                    ApiRoute(
                        api_id=api_id,
                        path=str(resolved["Path"]),
                        method=str(resolved["Method"]).upper(),
                        function_id=logical_id,
                        authorizer=self._route_authorizer(api_id, auth),
                    )
                )
        return routes

    def _api_properties(self, api_id: str) -> dict[str, Any]:
        if api_id == IMPLICIT_API_ID:
            properties = copy.deepcopy((self.document.get("Globals") or {}).get("Api") or {})
            properties.setdefault("StageName", "Prod")
            return dict(self.resolver.resolve(properties))
        return dict(self.resolver.resolve(self._properties(api_id)))

    def _route_authorizer(self, api_id: str, auth: Mapping[str, Any]) -> str | None:
        """The route's authorizer: its own ``Auth.Authorizer``, else the API's default; NONE means none."""
        name = auth.get("Authorizer")
        if name is None:
            name = (self._api_properties(api_id).get("Auth") or {}).get("DefaultAuthorizer")
        if name is None or name == "NONE":
            return None
        if name == "AWS_IAM":
            raise TemplateError(f"{api_id}: AWS_IAM authorization is not emulated locally")
        return str(name)

    def _api(self, api_id: str, routes: tuple[ApiRoute, ...]) -> ApiDef:
        properties = self._api_properties(api_id)
        auth = properties.get("Auth") or {}
        authorizers = {
            name: self._authorizer(api_id, name, spec) for name, spec in (auth.get("Authorizers") or {}).items()
        }
        for route in routes:
            if route.authorizer is not None and route.authorizer not in authorizers:
                raise TemplateError(f"{route.method} {route.path}: unknown authorizer {route.authorizer}")
        return ApiDef(
            logical_id=api_id,
            stage_name=str(properties.get("StageName", "Prod")),
            default_authorizer=auth.get("DefaultAuthorizer"),
            authorizers=authorizers,
            gateway_responses={
                str(kind): _gateway_response(spec) for kind, spec in (properties.get("GatewayResponses") or {}).items()
            },
            binary_media_types=tuple(str(t).replace("~1", "/") for t in properties.get("BinaryMediaTypes") or []),
            throttle=_throttle(properties.get("MethodSettings") or []),
            routes=routes,
            cors=_cors(properties.get("Cors")),
        )

    def _authorizer(self, api_id: str, name: str, spec: Mapping[str, Any]) -> AuthorizerDef:
        if "FunctionArn" not in spec:
            raise TemplateError(f"{api_id} authorizer {name}: only Lambda authorizers run locally")
        function_id = self._logical_id_of(spec["FunctionArn"], "Arn", (SERVERLESS_FUNCTION,))
        identity = spec.get("Identity") or {}
        return AuthorizerDef(
            name=name,
            function_id=function_id,
            payload_type=str(spec.get("FunctionPayloadType", "TOKEN")).upper(),
            identity_header=str(identity.get("Header", "Authorization")),
            request_headers=tuple(str(h) for h in identity.get("Headers") or []),
            request_query_strings=tuple(str(q) for q in identity.get("QueryStrings") or []),
            validation_expression=identity.get("ValidationExpression"),
            ttl_seconds=int(identity.get("ReauthorizeEvery", _DEFAULT_AUTHORIZER_TTL)),
        )

    # ------------------------------------------------------------------ DynamoDB

    def table_create_kwargs(self, table_name: str | None = None, logical_id: str | None = None) -> dict[str, Any]:
        """boto3 ``create_table`` kwargs from an ``AWS::DynamoDB::Table`` (PITR/TTL are separate calls)."""
        logical_id = logical_id or self._single_table_id()
        properties = self.resolver.resolve(self._properties(logical_id))
        return _table_kwargs(properties, table_name or self.physical_name(logical_id))

    def table_ttl_attribute(self, logical_id: str | None = None) -> str | None:
        """The TTL attribute of a table, when enabled (``update_time_to_live`` after creating it)."""
        logical_id = logical_id or self._single_table_id()
        ttl = self.resolver.resolve(self._properties(logical_id)).get("TimeToLiveSpecification") or {}
        return str(ttl["AttributeName"]) if ttl.get("Enabled") in (True, "true") else None

    @property
    def table_ids(self) -> list[str]:
        """Logical ids of the DynamoDB tables."""
        return list(self._resources_of("AWS::DynamoDB::Table"))

    def _single_table_id(self) -> str:
        tables = self.table_ids
        if len(tables) != 1:
            raise TemplateError(f"expected one AWS::DynamoDB::Table, found {tables}; pass logical_id")
        return tables[0]

    # ------------------------------------------------------------------ events: schedules, queues, rules

    def _events_of(self, *types: str) -> list[tuple[FunctionDef, EventSource]]:
        return [
            (function, event)
            for function in self.functions.values()
            for event in function.events.values()
            if event.type in types
        ]

    @cached_property
    def schedules(self) -> list[ScheduleDef]:
        """``Schedule`` (EventBridge rule) and ``ScheduleV2`` (EventBridge Scheduler) events."""
        schedules: list[ScheduleDef] = []
        for function, event in self._events_of("Schedule", "ScheduleV2"):
            props = event.properties
            expression = props.get("Schedule") if event.type == "Schedule" else props.get("ScheduleExpression")
            if not expression:
                raise TemplateError(f"{function.logical_id}.{event.name}: no schedule expression")
            state = str(props.get("State", "ENABLED")).upper()
            enabled = bool(props.get("Enabled", True)) and state != "DISABLED"
            rule_name = str(props.get("Name") or f"{function.logical_id}{event.name}")
            schedules.append(
                ScheduleDef(
                    function_id=function.logical_id,
                    event_name=event.name,
                    kind=event.type,
                    expression=str(expression),
                    enabled=enabled,
                    input=None if props.get("Input") is None else str(props["Input"]),
                    rule_name=rule_name,
                    timezone=props.get("ScheduleExpressionTimezone"),
                )
            )
        return schedules

    @cached_property
    def queues(self) -> dict[str, QueueDef]:
        """Every ``AWS::SQS::Queue``, dead-letter queues first so they exist before their sources."""
        queues = {lid: self._queue(lid) for lid in self._resources_of("AWS::SQS::Queue")}
        ordered = sorted(queues.values(), key=lambda q: q.dead_letter_queue_id is not None)
        return {q.logical_id: q for q in ordered}

    def _queue(self, logical_id: str) -> QueueDef:
        raw = self._properties(logical_id)
        properties = self.resolver.resolve(raw)
        attributes = {key: _api_string(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}
        dlq_id: str | None = None
        max_receive: int | None = None
        redrive = properties.get("RedrivePolicy")
        if redrive:
            redrive = json.loads(redrive) if isinstance(redrive, str) else redrive
            raw_redrive = raw["RedrivePolicy"] if isinstance(raw["RedrivePolicy"], dict) else {}
            dlq_id = self._logical_id_of(
                raw_redrive.get("deadLetterTargetArn", redrive["deadLetterTargetArn"]),
                "Arn",
                ("AWS::SQS::Queue",),
            )
            max_receive = int(redrive["maxReceiveCount"])
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": max_receive}
            )
        values = self.attributes[logical_id]
        return QueueDef(
            logical_id=logical_id,
            name=values["QueueName"],
            url=values["QueueUrl"],
            arn=values["Arn"],
            attributes=attributes,
            dead_letter_queue_id=dlq_id,
            max_receive_count=max_receive,
        )

    @cached_property
    def sqs_events(self) -> list[SqsEventDef]:
        """``SQS`` event sources of functions."""
        events: list[SqsEventDef] = []
        for function, event in self._events_of("SQS"):
            raw = self._properties(function.logical_id)["Events"][event.name]["Properties"]
            props = event.properties
            events.append(
                SqsEventDef(
                    function_id=function.logical_id,
                    event_name=event.name,
                    queue_id=self._logical_id_of(raw["Queue"], "Arn", ("AWS::SQS::Queue",)),
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    enabled=props.get("Enabled", True) not in (False, "false"),
                    batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                )
            )
        return events

    @cached_property
    def event_rules(self) -> list[EventRuleDef]:
        """``EventBridgeRule`` / ``CloudWatchEvent`` events of functions."""
        rules: list[EventRuleDef] = []
        for function, event in self._events_of("EventBridgeRule", "CloudWatchEvent"):
            props = event.properties
            rules.append(
                EventRuleDef(
                    function_id=function.logical_id,
                    event_name=event.name,
                    rule_name=str(props.get("RuleName") or f"{function.logical_id}{event.name}"),
                    bus_name=str(props.get("EventBusName") or "default"),
                    pattern=dict(props.get("Pattern") or {}),
                    input=None if props.get("Input") is None else str(props["Input"]),
                    input_path=props.get("InputPath"),
                )
            )
        return rules

    # ------------------------------------------------------------------ other resources

    @cached_property
    def state_machines(self) -> dict[str, StateMachineDef]:
        """State machines with DefinitionSubstitutions applied to their ASL text."""
        return {lid: self._state_machine(lid) for lid in self._resources_of(*_STATE_MACHINE_TYPES)}

    def _state_machine(self, logical_id: str) -> StateMachineDef:
        raw = self._properties(logical_id)
        text = self._definition_text(logical_id, raw)
        substitutions = self.resolver.resolve(raw.get("DefinitionSubstitutions") or {})
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", self.resolver.resolve_string(value, f"{logical_id} ${key}"))
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"{logical_id}: the definition is not valid JSON after substitution") from exc
        values = self.attributes[logical_id]
        return StateMachineDef(
            logical_id=logical_id,
            name=values["Name"],
            arn=values["Arn"],
            type=str(raw.get("Type", "STANDARD")),
            definition=text,
        )

    def _definition_text(self, logical_id: str, raw: Mapping[str, Any]) -> str:
        if "DefinitionUri" in raw:
            if not isinstance(raw["DefinitionUri"], str):
                raise TemplateError(f"{logical_id}: DefinitionUri must be a local path")
            path = self.base_dir / raw["DefinitionUri"]
            text = path.read_text(encoding="utf-8")
            if path.suffix in {".yaml", ".yml"}:
                return json.dumps(yaml.safe_load(text))
            return text
        if "Definition" in raw:
            return json.dumps(raw["Definition"])
        if "DefinitionString" in raw:
            return self.resolver.resolve_string(raw["DefinitionString"], f"{logical_id}.DefinitionString")
        raise TemplateError(f"{logical_id}: no local definition (DefinitionUri/Definition/DefinitionString)")

    @cached_property
    def secrets(self) -> dict[str, SecretDef]:
        """``AWS::SecretsManager::Secret`` resources."""
        secrets: dict[str, SecretDef] = {}
        for logical_id in self._resources_of("AWS::SecretsManager::Secret"):
            props = self.resolver.resolve(self._properties(logical_id))
            secrets[logical_id] = SecretDef(
                logical_id=logical_id,
                name=self.physical_name(logical_id),
                description=props.get("Description"),
                secret_string=props.get("SecretString"),
                generate=props.get("GenerateSecretString"),
            )
        return secrets

    @cached_property
    def ssm_parameters(self) -> dict[str, SsmParameterDef]:
        """``AWS::SSM::Parameter`` resources."""
        parameters: dict[str, SsmParameterDef] = {}
        for logical_id in self._resources_of("AWS::SSM::Parameter"):
            props = self.resolver.resolve(self._properties(logical_id))
            parameters[logical_id] = SsmParameterDef(
                logical_id,
                self.physical_name(logical_id),
                str(props.get("Type", "String")),
                str(props["Value"]),
            )
        return parameters

    @cached_property
    def event_buses(self) -> dict[str, EventBusDef]:
        """``AWS::Events::EventBus`` resources."""
        return {lid: EventBusDef(lid, self.physical_name(lid)) for lid in self._resources_of("AWS::Events::EventBus")}


# ---------------------------------------------------------------------- helpers


def _api_string(value: Any) -> str:
    """SQS attributes are strings; CloudFormation booleans become lower-case words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _gateway_response(spec: Mapping[str, Any]) -> GatewayResponseDef:
    parameters = spec.get("ResponseParameters") or {}
    status = spec.get("StatusCode")
    return GatewayResponseDef(
        status_code=None if status is None else int(status),
        headers={str(k): str(v) for k, v in (parameters.get("Headers") or {}).items()},
        templates={str(k): str(v) for k, v in (spec.get("ResponseTemplates") or {}).items()},
    )


def _cors(spec: Any) -> CorsDef | None:
    """SAM's ``Cors``: one quoted origin (``"'*'"``), or a mapping of quoted header values."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return CorsDef(allow_origin=_unquoted(spec))

    def optional(name: str) -> str | None:
        value = spec.get(name)
        return None if value is None else _unquoted(str(value))

    return CorsDef(
        allow_origin=_unquoted(str(spec["AllowOrigin"])),
        allow_headers=optional("AllowHeaders"),
        allow_methods=optional("AllowMethods"),
        max_age=optional("MaxAge"),
        allow_credentials=bool(spec.get("AllowCredentials", False)),
    )


def _unquoted(value: str) -> str:
    """SAM's CORS values are header values in single quotes."""
    if len(value) < 2 or not (value.startswith("'") and value.endswith("'")):
        raise TemplateError(f"a Cors value must be a quoted string like \"'*'\", got {value!r}")
    return value[1:-1]


def _throttle(method_settings: list[Any]) -> ThrottleDef | None:
    """Stage-wide throttling (``ResourcePath: /*``, ``HttpMethod: *``); per-method settings are ignored."""
    for setting in method_settings:
        stage_wide = setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*"
        if stage_wide and ("ThrottlingRateLimit" in setting or "ThrottlingBurstLimit" in setting):
            return ThrottleDef(
                rate_per_second=float(setting.get("ThrottlingRateLimit", 10000)),
                burst=int(setting.get("ThrottlingBurstLimit", 5000)),
            )
    return None


def _table_kwargs(properties: Mapping[str, Any], table_name: str) -> dict[str, Any]:
    """Translate CloudFormation table properties to the DynamoDB API's create_table shape."""
    billing = str(properties.get("BillingMode", "PROVISIONED"))
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": [dict(a) for a in properties["AttributeDefinitions"]],
        "KeySchema": [dict(k) for k in properties["KeySchema"]],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"))
    for cfn_key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = properties.get(cfn_key)
        if indexes:
            kwargs[cfn_key] = [_index(i, billing, global_index=cfn_key.startswith("Global")) for i in indexes]
    stream = properties.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = properties.get("SSESpecification")
    if sse:
        kwargs["SSESpecification"] = {"Enabled": sse.get("SSEEnabled") in (True, "true")}
    if properties.get("TableClass"):
        kwargs["TableClass"] = properties["TableClass"]
    return kwargs


def _index(spec: Mapping[str, Any], billing: str, *, global_index: bool) -> dict[str, Any]:
    index: dict[str, Any] = {
        "IndexName": spec["IndexName"],
        "KeySchema": [dict(k) for k in spec["KeySchema"]],
        "Projection": dict(spec["Projection"]),
    }
    if global_index and billing == "PROVISIONED":
        index["ProvisionedThroughput"] = _throughput(spec.get("ProvisionedThroughput"))
    return index


def _throughput(spec: Mapping[str, Any] | None) -> dict[str, int]:
    if not spec:
        raise TemplateError("a PROVISIONED table or index needs ProvisionedThroughput")
    return {
        "ReadCapacityUnits": int(spec["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(spec["WriteCapacityUnits"]),
    }
