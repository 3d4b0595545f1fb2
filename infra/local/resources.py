"""Create the template's queues, event buses, secrets and SSM parameters in moto.

moto keeps its state in memory, so these are re-created on every start of the local stack. The one thing
that must survive a restart is a generated secret (the JWT signing keys): tokens issued before a restart
must still verify after it. Generated values are therefore kept in ``<state dir>/secrets.json``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import boto3

from infra.local.model import SecretDef
from infra.local.template import LocalTemplate

LOG = logging.getLogger(__name__)

Attributes = dict[str, dict[str, str]]

# Secrets Manager's punctuation set for generated passwords.
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate_password(spec: Mapping[str, Any]) -> str:
    """A password following ``GenerateSecretString``'s character options, like GetRandomPassword."""
    length = int(spec.get("PasswordLength", 32))
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    classes = {
        "ExcludeLowercase": string.ascii_lowercase,
        "ExcludeUppercase": string.ascii_uppercase,
        "ExcludeNumbers": string.digits,
        "ExcludePunctuation": _PUNCTUATION,
    }
    pools = [
        "".join(c for c in chars if c not in excluded)
        for option, chars in classes.items()
        if not _truthy(spec.get(option, False))
    ]
    if _truthy(spec.get("IncludeSpace", False)):
        pools.append(" ")
    pools = [pool for pool in pools if pool]
    if not pools:
        raise ValueError("GenerateSecretString excludes every character")
    alphabet = "".join(pools)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        require_each = _truthy(spec.get("RequireEachIncludedType", True))
        if not require_each or length < len(pools) or all(any(c in pool for c in password) for pool in pools):
            return password


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def secret_value(secret: SecretDef) -> str:
    """The initial SecretString: the fixed one, or a generated one put into the JSON template."""
    if secret.secret_string is not None:
        return secret.secret_string
    spec = secret.generate or {}
    password = generate_password(spec)
    template = spec.get("SecretStringTemplate")
    if template is None:
        return password
    document = json.loads(template)
    document[str(spec["GenerateStringKey"])] = password
    return json.dumps(document)


KEPT_SECRETS = "secrets.json"
# An in-memory run keeps nothing, but writes down the values it generated (never read back) for the leak test.
RUN_SECRETS = "secrets.in-memory.json"


def local_secret_values() -> tuple[str, ...]:
    """The fixed secrets every local stack hands its functions (never real ones): Stripe's secret key (the layer's
    local value, used while STRIPE_SECRET_KEY_SECRET_ID is empty) and localstripe's webhook signing secret. With
    `generated_secret_values` they are what must never appear in a log (tests/e2e/test_secret_leak.py)."""
    from tickerleague.adapters.stripe_gateway import LOCAL_SECRET_KEY

    from infra.local.localstripe import local_webhook_secret

    return LOCAL_SECRET_KEY, local_webhook_secret()


def generated_secret_values(state_dir: Path) -> tuple[str, ...]:
    """The values of the secrets a stack on `state_dir` generated (JWT signing keys, SendGrid key, the Stripe
    placeholders): every string of a JSON secret but its `current` pointer, a plain secret whole."""
    values: list[str] = []
    stored = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (state_dir / KEPT_SECRETS, state_dir / RUN_SECRETS)
        if path.exists()
    ]
    for value in (value for kept in stored for value in kept.values()):
        try:
            document = json.loads(value)
        except ValueError:
            document = None
        if isinstance(document, dict):
            values.extend(str(v) for k, v in document.items() if k != "current")
        else:
            values.append(value)
    return tuple(values)


class SecretStore:
    """Generated secret values persisted under the state dir, so restarts keep the same keys. ``in_memory``: the
    values of this run only, written down but never reused (the file starts empty)."""

    def __init__(self, state_dir: Path | None, *, in_memory: bool = False) -> None:
        self._path = None if state_dir is None else state_dir / (RUN_SECRETS if in_memory else KEPT_SECRETS)
        if in_memory and self._path is not None:
            self._path.unlink(missing_ok=True)

    def value_for(self, secret: SecretDef) -> str:
        """The stored value, or a new one (stored for the next start)."""
        stored = self._load()
        if secret.logical_id in stored:
            return stored[secret.logical_id]
        value = secret_value(secret)
        if secret.generate is not None and self._path is not None:
            stored[secret.logical_id] = value
            self._save(stored)
        return value

    def _load(self) -> dict[str, str]:
        if self._path is None or not self._path.exists():
            return {}
        return dict(json.loads(self._path.read_text(encoding="utf-8")))

    def _save(self, values: Mapping[str, str]) -> None:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(values, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self._path)


def create_event_buses(template: LocalTemplate) -> Attributes:
    """Create every custom event bus (the ``default`` bus always exists)."""
    events = boto3.client("events", region_name=template.settings.region)
    created: Attributes = {}
    for bus in template.event_buses.values():
        if bus.name != "default":
            arn = events.create_event_bus(Name=bus.name)["EventBusArn"]
            created[bus.logical_id] = {"Ref": bus.name, "Name": bus.name, "Arn": arn}
    return created


def create_queues(template: LocalTemplate) -> Attributes:
    """Create every queue, dead-letter queues first (a redrive policy needs its target to exist)."""
    sqs = boto3.client("sqs", region_name=template.settings.region)
    created: Attributes = {}
    for queue in template.queues.values():
        # Attribute names come from the template (typed as plain str, not boto3-stubs' literals).
        url = sqs.create_queue(QueueName=queue.name, Attributes=cast(Any, queue.attributes))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[queue.logical_id] = {"Ref": url, "QueueUrl": url, "Arn": arn, "QueueName": queue.name}
    return created


def create_secrets(template: LocalTemplate, state_dir: Path | None, *, in_memory: bool = False) -> Attributes:
    """Create every secret; ``Ref`` of a secret is its (moto-generated) ARN, as in AWS."""
    client = boto3.client("secretsmanager", region_name=template.settings.region)
    store = SecretStore(state_dir, in_memory=in_memory)
    created: Attributes = {}
    for secret in template.secrets.values():
        kwargs: dict[str, Any] = {"Name": secret.name, "SecretString": store.value_for(secret)}
        if secret.description:
            kwargs["Description"] = secret.description
        arn = client.create_secret(**kwargs)["ARN"]
        created[secret.logical_id] = {"Ref": arn, "Id": arn}
    return created


def create_ssm_parameters(template: LocalTemplate) -> None:
    """Create every ``AWS::SSM::Parameter``."""
    ssm = boto3.client("ssm", region_name=template.settings.region)
    for parameter in template.ssm_parameters.values():
        ssm.put_parameter(Name=parameter.name, Type=parameter.type, Value=parameter.value, Overwrite=True)


def create_resources(template: LocalTemplate, state_dir: Path | None, *, in_memory: bool = False) -> Attributes:
    """Create everything above inside the active moto mock; returns the real attribute values. Generated secrets
    are kept under ``state_dir`` (``in_memory``: written down for this run only, see `SecretStore`)."""
    attributes: Attributes = {}
    attributes.update(create_event_buses(template))
    attributes.update(create_queues(template))
    attributes.update(create_secrets(template, state_dir, in_memory=in_memory))
    create_ssm_parameters(template)
    LOG.info(
        "moto resources: %d queue(s), %d bus(es), %d secret(s), %d parameter(s)",
        len(template.queues),
        len(template.event_buses),
        len(template.secrets),
        len(template.ssm_parameters),
    )
    return attributes


def create_queue_rules(template: LocalTemplate) -> int:
    """Every ``AWS::Events::Rule`` whose targets are queues of this template, created in moto with those targets.

    moto's EventBridge delivers a matching event to an SQS target itself (the event's JSON as the message body,
    as AWS does), and the queue's SQS event source poller takes it from there: rule -> queue -> function works
    locally as deployed. Call after the queues and buses exist (``template.with_attributes``).
    """
    events = boto3.client("events", region_name=template.settings.region)
    queue_arns = {values.get("Arn") for lid, values in template.attributes.items() if lid in template.queues}
    created = 0
    for logical_id, resource in template.resources.items():
        if resource.get("Type") != "AWS::Events::Rule":
            continue
        properties = template.resolver.resolve(resource.get("Properties") or {})
        targets = [t for t in properties.get("Targets") or [] if t.get("Arn") in queue_arns]
        if not targets or "EventPattern" not in properties:
            continue
        name = template.physical_name(logical_id)
        bus = str(properties.get("EventBusName") or "default")
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(properties["EventPattern"]))
        events.put_targets(Rule=name, EventBusName=bus,
                           Targets=[{"Id": str(t.get("Id") or i), "Arn": t["Arn"]} for i, t in enumerate(targets)])
        created += 1
    if created:
        LOG.info("moto resources: %d event rule(s) delivering to queues", created)
    return created
