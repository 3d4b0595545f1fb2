"""Least privilege: every function's IAM policies grant what its code uses, and only that.

What a function's code uses is read statically, from the source, starting at its `Handler`:

1. A call graph over functions/ and layers/core/tickerleague, one node per top-level function, class, class member
   or module-level name. A node's edges are the names it references, resolved through the imports of its module
   (those inside a function too, and `lazy_module("...")` bindings). Ports are followed by name: a reached class's
   member, or a definition of a module handed on as a value (`rate_limit_buckets()` returns a module), is reached
   once its name is used as an attribute in reached code (`lifecycle.stop(...)` reaches `LifecycleWorkflows.stop`,
   not `.start`); a function passed as a keyword to one of the project's classes (`TradingPorts(quotes=f)`) once
   that keyword is. The API middleware's route-dependent branches (Idempotency-Key store, rate-limit bucket, bearer
   verification of OPTIONAL routes) are entered only when the middleware's own predicates say the route takes them.
2. In every node reached from the handler, the AWS calls: boto3 client operations (`put_events`, `send_message`,
   `get_item`, ...), Powertools parameters (`get_secret`, `get_parameter`) and PynamoDB's (`save`, `update(actions=)`,
   `query`, `Model.get`, `TransactWrite`, ...), mapped to IAM actions by the tables below.
3. The resources: the `Settings` fields the reached code reads (`settings().stripe_events_queue_url`), each mapped by
   tickerleague/config.py to its environment variable and by the function's Environment (Globals merged) to the
   template resource it points at (`!Ref StripeEventsQueue`). `health_queue_urls` and `health_secret_ids` read every
   variable with their suffix, so they stand for each such variable of the function.

What a function is granted is read from its `Policies`: SAM policy templates (a table of what each one is for),
inline statements and the template's own managed policies (Allow statements; Denies only narrow).

The analysis over-approximates only by name (a member whose name is used anywhere reached counts as called); what it
cannot see it reports (an AWS call whose resource no setting names fails the test) rather than guesses.

Checked per function: the SQS, EventBridge, Step Functions, Secrets Manager and SSM grants are exactly the
(action, resource) pairs its code needs; the table grant is exactly one of: none, the RATELIMIT#-only UpdateItem
statement (the per-caller token bucket), DynamoDBReadPolicy (plus that statement when the bucket is used), or
DynamoDBCrudPolicy (for code that writes). SAM's table templates bundle actions (Crud includes DeleteItem,
BatchWriteItem, ...), so within the table the check is by access level. Writers carry AuditAppendOnlyPolicy, and
AuditNoWritePolicy exactly when their code never builds an audit event (AuditItem.new).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.build.routes import ROOT, functions, import_handler, module_and_attribute, template

LAYER = ROOT / "layers" / "core"
PACKAGE = LAYER / "tickerleague"
FUNCTIONS_DIR = ROOT / "functions"
CONFIG = PACKAGE / "config.py"

Permission = tuple[str, str]  # ("sqs:SendMessage", "StripeEventsQueue")

# ---------------------------------------------------------------------------------------------------- code -> actions
# boto3 client operations -> the IAM action they need. `query` is also the name of PynamoDB's and of adapters' query
# functions: every one of them is a DynamoDB Query.
CLIENT_OPERATIONS: dict[str, str] = {
    "get_item": "dynamodb:GetItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "describe_table": "dynamodb:DescribeTable",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    # IAM has no TransactWriteItems action: each item is authorised as its own Put/Update/Delete/ConditionCheck.
    "transact_write_items": "dynamodb:TransactWrite",
    "transact_get_items": "dynamodb:GetItem",
    "put_events": "events:PutEvents",
    "send_message": "sqs:SendMessage",
    "send_message_batch": "sqs:SendMessage",
    "change_message_visibility": "sqs:ChangeMessageVisibility",
    "get_queue_attributes": "sqs:GetQueueAttributes",
    "receive_message": "sqs:ReceiveMessage",
    "delete_message": "sqs:DeleteMessage",
    "get_secret_value": "secretsmanager:GetSecretValue",
    "describe_secret": "secretsmanager:DescribeSecret",
    "get_parameter": "ssm:GetParameter",  # boto3's and Powertools parameters' alike
    "get_parameters": "ssm:GetParameter",
    "start_execution": "states:StartExecution",
    "stop_execution": "states:StopExecution",
    "describe_execution": "states:DescribeExecution",
    "invoke": "lambda:InvokeFunction",
    # Powertools parameters
    "get_secret": "secretsmanager:GetSecretValue",
}
# PynamoDB (models, TransactWrite, batch writers) and the adapters' own batch helpers.
PYNAMODB_WRITES = {
    "save": "dynamodb:PutItem",
    "delete": "dynamodb:DeleteItem",
    "condition_check": "dynamodb:ConditionCheckItem",
    "batch_write": "dynamodb:BatchWriteItem",
}
PYNAMODB_READS = {"batch_get": "dynamodb:BatchGetItem", "refresh": "dynamodb:GetItem"}
PYNAMODB_CONSTRUCTORS = {"TransactWrite": "dynamodb:TransactWrite", "TransactGet": "dynamodb:GetItem"}
# Modules whose table writes only ever touch one key prefix (the IAM statement that grants them is scoped to it).
SCOPED_TABLE_MODULES = {"tickerleague.adapters.dynamodb.rate_limit": "RATELIMIT#*"}
# Calls whose resource comes from the table rather than from a setting, and the setting naming where it belongs:
# StopExecution is given the execution ARN stored on the contest, an execution of LIFECYCLE_STATE_MACHINE_ARN's machine.
RESOURCE_OF_STORED_ARN = {"states:StopExecution": "lifecycle_state_machine_arn"}

TABLE_READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"}
TABLE_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:TransactWrite",
}

# -------------------------------------------------------------------------------------------------- template -> grants
# SAM policy template -> (the actions the code uses it for, the parameter naming its resource). Bundled extras (e.g.
# SSMParameterReadPolicy's DescribeParameters) are not listed: nothing here grants them on their own.
SAM_TEMPLATES: dict[str, tuple[tuple[str, ...], str]] = {
    "SQSSendMessagePolicy": (("sqs:SendMessage",), "QueueName"),
    "SQSPollerPolicy": (
        ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"),
        "QueueName",
    ),
    "EventBridgePutEventsPolicy": (("events:PutEvents",), "EventBusName"),
    "AWSSecretsManagerGetSecretValuePolicy": (("secretsmanager:GetSecretValue",), "SecretArn"),
    "SSMParameterReadPolicy": (("ssm:GetParameter",), "ParameterName"),
    "StepFunctionsExecutionPolicy": (("states:StartExecution",), "StateMachineName"),
    "LambdaInvokePolicy": (("lambda:InvokeFunction",), "FunctionName"),
}
# Table grants by access level.
TABLE_TEMPLATES = {"DynamoDBReadPolicy": "read", "DynamoDBCrudPolicy": "crud", "DynamoDBWritePolicy": "write"}
RATE_LIMIT_GRANT = "update RATELIMIT#*"
AUDIT_POLICIES = ("AuditAppendOnlyPolicy", "AuditNoWritePolicy")
# Every audit event is built by AuditItem.new (append puts one so built; transactions put its serialisation).
AUDIT_WRITERS: set[tuple[str, str]] = {
    ("tickerleague.adapters.dynamodb.audit", "AuditItem.new"),
    ("tickerleague.adapters.dynamodb.audit", "append"),
}
# Resource types by the service whose grants name them.
SERVICE_OF_TYPE = {
    "AWS::SQS::Queue": "sqs",
    "AWS::Events::EventBus": "events",
    "AWS::SecretsManager::Secret": "secretsmanager",
    "AWS::Serverless::StateMachine": "states",
    "AWS::StepFunctions::StateMachine": "states",
    "AWS::Serverless::Function": "lambda",
    "AWS::DynamoDB::Table": "dynamodb",
}
CHECKED_SERVICES = ("sqs", "events", "secretsmanager", "ssm", "states", "lambda")


# ---------------------------------------------------------------------------------------------------- the call graph
Node = tuple[str, str]  # (module, top-level name or "Class.member")


@dataclass
class Module:
    name: str
    tree: ast.Module
    imports: dict[str, tuple[str, str | None]]  # local name -> (module, attribute or None for the module itself)
    definitions: dict[str, ast.AST] = field(default_factory=dict)


def _module_files() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(LAYER).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path
    for path in sorted(FUNCTIONS_DIR.rglob("*.py")):
        parts = path.relative_to(FUNCTIONS_DIR).with_suffix("").parts
        if parts[-1] != "__init__":
            yield ".".join(parts), path


def _import_bindings(statements: Iterable[ast.AST], module: str, known: set[str]) -> dict[str, tuple[str, str | None]]:
    """Names bound by the imports among `statements` (walked: those in `if TYPE_CHECKING`/`try` blocks count too)."""
    bound: dict[str, tuple[str, str | None]] = {}
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        bound[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        bound[top] = (top, None)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module.split(".")[: len(module.split(".")) - node.level]
                    base = ".".join([*package, base] if base else package)
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    bound[alias.asname or alias.name] = (target, None) if target in known else (base, alias.name)
            elif isinstance(node, ast.Assign) and _lazy_target(node.value):
                for target_node in node.targets:
                    if isinstance(target_node, ast.Name):
                        bound[target_node.id] = (_lazy_target(node.value) or "", None)
    return bound


def _lazy_target(value: ast.AST) -> str | None:
    """`lazy_module("tickerleague.x")` -> "tickerleague.x"."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "lazy_module"
        and value.args
        and isinstance(value.args[0], ast.Constant)
        and isinstance(value.args[0].value, str)
    ):
        return value.args[0].value
    return None


@cache
def modules() -> dict[str, Module]:
    files = dict(_module_files())
    known = set(files)
    loaded: dict[str, Module] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top_level_imports = [
            s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        module = Module(name, tree, _import_bindings(top_level_imports, name, known))
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                module.definitions[statement.name] = statement
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and not _lazy_target(statement.value or ast.Pass()):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    for name_node in ast.walk(target):
                        if isinstance(name_node, ast.Name):
                            module.definitions[name_node.id] = statement
        loaded[name] = module
    return loaded


def _resolve(module_name: str, attribute: str, seen: frozenset[Node] = frozenset()) -> Node | None:
    """The definition `module.attribute` names, following re-exports (`from x import y` in the module)."""
    table = modules()
    module = table.get(module_name)
    if module is None or (module_name, attribute) in seen:
        return None
    if attribute in module.definitions:
        return module_name, attribute
    if attribute in module.imports:
        target, target_attribute = module.imports[attribute]
        if target_attribute is not None:
            return _resolve(target, target_attribute, seen | {(module_name, attribute)})
    return None


@dataclass
class References:
    found: set[Node] = field(default_factory=set)
    escaped: set[str] = field(default_factory=set)  # modules handed on as values (`return rate_limit`)
    stored: set[tuple[str, Node]] = field(default_factory=set)  # functions passed as `name=function`


def _references(module: Module, node: ast.AST) -> References:
    """The definitions `node` refers to, through its module's and its own imports; the modules it hands on as
    values (the caller's `.take(...)` then names one of their definitions); the functions it passes as keyword
    arguments (`TradingPorts(quotes=_current_quote)`: called only where `.quotes` is used)."""
    scope = dict(module.imports)
    scope.update(_import_bindings([node], module.name, set(modules())))
    found: set[Node] = set()
    escaped: set[str] = set()
    bases = {id(child.value) for child in ast.walk(node) if isinstance(child, ast.Attribute)}
    stored: set[tuple[str, Node]] = set()

    def resolve_expression(expression: ast.AST) -> Node | None:
        if isinstance(expression, ast.Name):
            if expression.id in scope:
                target, attribute = scope[expression.id]
                return _resolve(target, attribute) if attribute is not None else None
            return (module.name, expression.id) if expression.id in module.definitions else None
        dotted = _dotted(expression) if isinstance(expression, ast.Attribute) else None
        if dotted is None or dotted[0] not in scope or scope[dotted[0]][1] is not None:
            return None
        path = scope[dotted[0]][0]
        for part in dotted[1:]:
            if f"{path}.{part}" in modules():
                path = f"{path}.{part}"
                continue
            return _resolve(path, part)
        return None

    def constructs_own_class(call: ast.Call) -> bool:
        """A call of one of the project's classes (a ports dataclass); other callees may call what they are given."""
        callee = resolve_expression(call.func)
        return callee is not None and isinstance(modules()[callee[0]].definitions.get(callee[1]), ast.ClassDef)

    keyword_values = {
        id(keyword.value): str(keyword.arg)
        for child in ast.walk(node)
        if isinstance(child, ast.Call) and constructs_own_class(child)
        for keyword in child.keywords
        if keyword.arg
    }

    def add(child: ast.AST, resolved: Node) -> None:
        definition = modules()[resolved[0]].definitions.get(resolved[1])
        if id(child) in keyword_values and isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stored.add((keyword_values[id(child)], resolved))
        else:
            found.add(resolved)

    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if child.id in scope:
                target, attribute = scope[child.id]
                resolved = _resolve(target, attribute) if attribute is not None else None
                if attribute is None and id(child) not in bases and target in modules():
                    escaped.add(target)
            else:
                resolved = (module.name, child.id) if child.id in module.definitions else None
            if resolved is not None:
                add(child, resolved)
        elif isinstance(child, ast.Attribute):
            dotted = _dotted(child)
            if dotted is None or dotted[0] not in scope:
                continue
            target, attribute = scope[dotted[0]]
            if attribute is not None:
                continue
            path = target
            for part in dotted[1:]:  # a.b.c.f: walk down submodules, then the first non-module names a definition
                if f"{path}.{part}" in modules():
                    path = f"{path}.{part}"
                    continue
                resolved = _resolve(path, part)
                if resolved is not None:
                    add(child, resolved)
                break
    return References(found, escaped, stored)


def _dotted(node: ast.Attribute) -> list[str] | None:
    parts: list[str] = [node.attr]
    value: ast.AST = node.value
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    if not isinstance(value, ast.Name):
        return None
    parts.append(value.id)
    return parts[::-1]


def _methods(definition: ast.ClassDef) -> dict[str, ast.AST]:
    """A class's members reached by name: its methods and its `name = ...` attributes (`commit = staticmethod(...)`)."""
    members: dict[str, ast.AST] = {}
    for statement in definition.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            members[statement.name] = statement
        elif (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            members[statement.targets[0].id] = statement
    return members


def _class_body(definition: ast.ClassDef) -> ast.AST:
    """A class without its members (bases, decorators, annotations); `__dunder__` methods stay: they run implicitly."""
    members = _methods(definition)
    body = [
        s
        for s in definition.body
        if not any(s is member for member in members.values())
        or (
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name.startswith("__") and s.name.endswith("__")
        )
    ]
    return ast.ClassDef(
        name=definition.name,
        bases=definition.bases,
        keywords=definition.keywords,
        body=body,
        decorator_list=definition.decorator_list,
        type_params=[],
    )


def node_body(node: Node) -> ast.AST | None:
    """The code of a node: a function, a class without its methods, a method, a module-level assignment."""
    module = modules()[node[0]]
    name, _, method = node[1].partition(".")
    definition = module.definitions.get(name)
    if isinstance(definition, ast.ClassDef):
        return _methods(definition).get(method) if method else _class_body(definition)
    return None if method else definition


def reachable(handler: str, pruned: frozenset[Node] = frozenset()) -> dict[Node, Node | None]:
    """Every definition the handler can reach (with the node it was reached from), starting at the handler and its
    module's top level (it runs at import). `pruned` nodes are not entered (branches the route never takes).

    A reached class's method is reached when its name is accessed as an attribute anywhere in the reached code
    (`lifecycle.stop(...)` reaches `LifecycleWorkflows.stop` once `LifecycleWorkflows` is reached, not `.start`);
    the same holds for the definitions of a module handed on as a value.
    """
    module_name, attribute = module_and_attribute(handler)
    table = modules()
    top = table[module_name]
    toplevel = ast.Module(
        body=[
            s
            for s in top.tree.body
            if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))
        ],
        type_ignores=[],
    )
    initial = _references(top, toplevel)
    escaped = set(initial.escaped)
    stored: set[tuple[str, Node, Node | None]] = {(name, node, None) for name, node in initial.stored}
    pending: list[tuple[Node, Node | None]] = [((module_name, attribute), None)]
    pending.extend((node, None) for node in initial.found)
    attributes = {child.attr for child in ast.walk(toplevel) if isinstance(child, ast.Attribute)}
    seen: dict[Node, Node | None] = {}
    classes: set[Node] = set()
    while pending:
        while pending:
            current, parent = pending.pop()
            if current in seen or current in pruned:
                continue
            seen[current] = parent
            body = node_body(current)
            if body is None:
                continue
            if isinstance(body, ast.ClassDef) and "." not in current[1]:
                classes.add(current)
            references = references_of(current)
            pending.extend((node, current) for node in references.found)
            escaped |= references.escaped
            stored |= {(name, node, current) for name, node in references.stored}
            attributes |= {child.attr for child in ast.walk(body) if isinstance(child, ast.Attribute)}
        for module_name, class_name in classes:
            definition = table[module_name].definitions[class_name]
            assert isinstance(definition, ast.ClassDef)
            for method in _methods(definition):
                node = (module_name, f"{class_name}.{method}")
                if method in attributes and node not in seen:
                    pending.append((node, (module_name, class_name)))
        for name, node, parent in stored:
            if name in attributes and node not in seen:
                pending.append((node, parent))
        for module_name in escaped:
            for name in table[module_name].definitions:
                node = (module_name, name)
                if name in attributes and node not in seen:
                    pending.append((node, (module_name, "<handed on>")))
    return seen


@cache
def references_of(node: Node) -> References:
    """`_references` of one node's code (computed once: every function's graph walks the same layer)."""
    body = node_body(node)
    return References() if body is None else _references(modules()[node[0]], body)


def path_to(handler: str, target: Node, pruned: frozenset[Node] = frozenset()) -> list[Node]:
    """How the handler reaches `target` (for failure messages and debugging)."""
    parents = reachable(handler, pruned)
    chain: list[Node] = []
    node: Node | None = target
    while node is not None and node in parents:
        chain.append(node)
        node = parents[node]
    return chain[::-1]


# ---------------------------------------------------------------------------------------------------- what code uses
@cache
def _pynamodb_models() -> frozenset[str]:
    """Class names of the PynamoDB models (subclasses of BaseItem / Model, by name, across the layer)."""
    bases_of: dict[str, set[str]] = {}
    for module in modules().values():
        for definition in module.definitions.values():
            if isinstance(definition, ast.ClassDef):
                bases_of.setdefault(definition.name, set()).update(
                    base.id if isinstance(base, ast.Name) else base.attr
                    for base in definition.bases
                    if isinstance(base, (ast.Name, ast.Attribute))
                )
    models = {"Model", "BaseItem"}
    changed = True
    while changed:
        changed = False
        for name, bases in bases_of.items():
            if name not in models and bases & models:
                models.add(name)
                changed = True
    return frozenset(models)


def _receiver_name(call: ast.Call) -> str | None:
    assert isinstance(call.func, ast.Attribute)
    value = call.func.value
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Attribute):
        return value.attr
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):  # ContestItem(pk, sk).update(...)
        return value.func.id
    return None


def actions_in(node: ast.AST) -> set[str]:
    """The IAM actions of the AWS calls written in `node`."""
    models = _pynamodb_models()
    found: set[str] = set()
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        if isinstance(call.func, ast.Name) and call.func.id in PYNAMODB_CONSTRUCTORS:
            found.add(PYNAMODB_CONSTRUCTORS[call.func.id])
        if not isinstance(call.func, ast.Attribute):
            continue
        name = call.func.attr
        keywords = {keyword.arg for keyword in call.keywords}
        if name in CLIENT_OPERATIONS:
            found.add(CLIENT_OPERATIONS[name])
        elif name in PYNAMODB_WRITES:
            found.add(PYNAMODB_WRITES[name])
        elif name in PYNAMODB_READS:
            found.add(PYNAMODB_READS[name])
        elif name == "update" and ("actions" in keywords or (call.args and isinstance(call.args[0], ast.List))):
            found.add("dynamodb:UpdateItem")  # PynamoDB's update(actions=...), not dict.update
        elif name == "get" and _receiver_name(call) in models:
            found.add("dynamodb:GetItem")  # Model.get(hash, range), not dict.get
    return found


@cache
def setting_variables() -> dict[str, tuple[str, ...]]:
    """Settings field -> the environment variable it reads, or the suffixes (`*_QUEUE_URL`) of those it collects."""
    tree = ast.parse(CONFIG.read_text(encoding="utf-8"))
    fields: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Settings"):
            continue
        for keyword in node.keywords:
            calls = [c for c in ast.walk(keyword.value) if isinstance(c, ast.Call)]
            names = [
                a.value for c in calls[:1] for a in c.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if calls and isinstance(calls[0].func, ast.Name) and calls[0].func.id == "_named_values":
                fields[str(keyword.arg)] = tuple("*" + suffix for suffix in names)
            elif names:
                fields[str(keyword.arg)] = (names[0],)
    return fields


def settings_read(node: ast.AST) -> set[str]:
    """The Settings fields `node` reads (`settings().x`, `config.x`: the field names are distinctive)."""
    known = setting_variables()
    return {child.attr for child in ast.walk(node) if isinstance(child, ast.Attribute) and child.attr in known}


# ---------------------------------------------------------------------------------------------------- resources
def _resources() -> dict[str, Any]:
    return dict(template().document["Resources"])


def _logical_id(value: Any) -> str | None:
    """`!Ref X`, `!GetAtt X.Attr` -> X, when X is a resource of the template."""
    resources = _resources()
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and argument in resources:
            return str(argument)
        if key == "Fn::GetAtt":
            target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
            return str(target) if target in resources else None
        if key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            names = [part.split("}", 1)[0].split(".", 1)[0] for part in str(text).split("${")[1:]]
            named = [name for name in names if name in resources]
            return named[0] if len(named) == 1 else None
    return None


def _ssm_name(value: Any) -> str | None:
    """`!Sub "/tickerleague/${Stage}/x"` (an environment value or ParameterName) -> "tickerleague/${Stage}/x"."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"].lstrip("/")
    if isinstance(value, str) and value:
        return value.lstrip("/")
    return None


def _resource_of(value: Any) -> tuple[str, str] | None:
    """(service, resource) an environment value or policy parameter designates."""
    logical_id = _logical_id(value)
    if logical_id is not None:
        service = SERVICE_OF_TYPE.get(str(_resources()[logical_id].get("Type")))
        return (service, logical_id) if service else None
    return None


def environment(logical_id: str) -> dict[str, Any]:
    """The function's Environment.Variables as written (Globals merged, intrinsics unresolved)."""
    document = template().document
    variables = copy.deepcopy(
        ((document.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables") or {}
    )
    own = ((document["Resources"][logical_id].get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
    variables.update(own)
    return dict(variables)


def _variables_of(field_name: str, env: dict[str, Any]) -> list[str]:
    names = setting_variables()[field_name]
    chosen = []
    for name in names:
        if name.startswith("*"):
            chosen.extend(variable for variable in env if variable.endswith(name[1:]))
        elif name in env:
            chosen.append(name)
    return chosen


@dataclass(frozen=True)
class Usage:
    actions: frozenset[str]
    resources: frozenset[tuple[str, str]]  # (service, resource)
    scoped_table_writes: frozenset[str]  # key prefixes
    writes_audit: bool = False


# Branches of the API middleware (http/api.py) that depend on the route, and the node each one enters. Whether a
# route takes one is decided by the middleware's own predicates, called with the route's spec.
IDEMPOTENCY_STORE: Node = ("tickerleague.services.retry_safety", "idempotency_records")
RATE_LIMIT_STORE: Node = ("tickerleague.services.retry_safety", "rate_limit_buckets")
BEARER_VERIFICATION: Node = ("tickerleague.services.principals", "principal_from_bearer")


def route_pruning(logical_id: str) -> frozenset[Node]:
    """The middleware branches this function's route never takes (nothing for functions that are not routes)."""
    from tickerleague.http import idempotency, rate_limit
    from tickerleague.http.api import RouteHandler
    from tickerleague.http.principal import Access

    handler = import_handler(functions()[logical_id].handler)
    if not isinstance(handler, RouteHandler):
        return frozenset()
    spec = handler.spec
    pruned = set()
    if not idempotency.applies(spec.method, spec.path):
        pruned.add(IDEMPOTENCY_STORE)
    if not rate_limit.is_limited(spec.path):
        pruned.add(RATE_LIMIT_STORE)
    if spec.access is not Access.OPTIONAL:  # USER and ADMIN routes read the authorizer's context, PUBLIC none
        pruned.add(BEARER_VERIFICATION)
    return frozenset(pruned)


@cache
def usage(logical_id: str) -> Usage:
    function = functions()[logical_id]
    actions: set[str] = set()
    scoped: set[str] = set()
    fields: set[str] = set()
    reached = reachable(function.handler, route_pruning(logical_id))
    for node in reached:
        definition = node_body(node)
        if definition is None:
            continue
        module_name = node[0]
        found = actions_in(definition)
        if module_name in SCOPED_TABLE_MODULES and found & TABLE_WRITES:
            scoped.add(SCOPED_TABLE_MODULES[module_name])
            found -= TABLE_WRITES
        actions |= found
        fields |= settings_read(definition)
    fields |= {RESOURCE_OF_STORED_ARN[action] for action in actions if action in RESOURCE_OF_STORED_ARN}
    env = environment(logical_id)
    resources: set[tuple[str, str]] = set()
    for field_name in fields:
        for variable in _variables_of(field_name, env):
            resource = _resource_of(env[variable])
            if resource is not None:
                resources.add(resource)
            elif variable.endswith("_PARAMETER") and _ssm_name(env[variable]):
                resources.add(("ssm", str(_ssm_name(env[variable]))))
    return Usage(frozenset(actions), frozenset(resources), frozenset(scoped), bool(AUDIT_WRITERS & set(reached)))


def needed(logical_id: str) -> tuple[set[Permission], set[str], list[str]]:
    """(service permissions, table access levels, problems) the code of `logical_id` needs."""
    use = usage(logical_id)
    permissions: set[Permission] = set()
    problems: list[str] = []
    for service in CHECKED_SERVICES:
        service_actions = {a for a in use.actions if a.startswith(service + ":")}
        service_resources = {resource for s, resource in use.resources if s == service}
        if service_actions and not service_resources:
            problems.append(f"calls {sorted(service_actions)} but reads no setting naming its {service} resource")
        permissions |= {(action, resource) for action in service_actions for resource in service_resources}
    levels = set()
    if use.actions & TABLE_WRITES:
        levels.add("write")
    if use.actions & TABLE_READS:
        levels.add("read")
    if use.scoped_table_writes:
        levels.add(RATE_LIMIT_GRANT)
    return permissions, levels, problems


# ---------------------------------------------------------------------------------------------------- what is granted
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_grants(statement: dict[str, Any]) -> tuple[set[Permission], list[str]]:
    """An Allow statement's (action, resource) pairs; table grants as ("table", level)."""
    if statement.get("Effect", "Allow") != "Allow":
        return set(), []
    grants: set[Permission] = set()
    table_grants: list[str] = []
    actions = [str(a) for a in _as_list(statement.get("Action", []))]
    resources = _as_list(statement.get("Resource", []))
    condition = statement.get("Condition") or {}
    leading = [
        prefix
        for test in condition.values()
        if isinstance(test, dict)
        for prefix in _as_list(test.get("dynamodb:LeadingKeys", []))
    ]
    table_actions = [a for a in actions if a.startswith("dynamodb:")]
    if table_actions:
        if set(table_actions) == {"dynamodb:UpdateItem"} and leading == ["RATELIMIT#*"]:
            table_grants.append(RATE_LIMIT_GRANT)
        else:
            writes = set(table_actions) & TABLE_WRITES
            table_grants.append(
                "crud" if writes and set(table_actions) & TABLE_READS else "write" if writes else "read"
            )
    for action in actions:
        if action.startswith("dynamodb:"):
            continue
        for resource in resources:
            found = _resource_of(resource)
            grants.add((action, found[1] if found else f"unknown resource {resource!r}"))
    return grants, table_grants


def granted(logical_id: str) -> tuple[set[Permission], list[str], list[str]]:
    """(service permissions, table grants, managed policies by name) of the function's Policies."""
    policies = (template().document["Resources"][logical_id].get("Properties") or {}).get("Policies") or []
    grants: set[Permission] = set()
    table_grants: list[str] = []
    managed: list[str] = []
    for policy in _as_list(policies):
        if isinstance(policy, dict) and "Statement" in policy:
            statements = _as_list(policy["Statement"])
        elif isinstance(policy, dict) and set(policy) == {"Ref"}:
            managed.append(str(policy["Ref"]))
            resource = _resources()[policy["Ref"]]
            statements = _as_list(resource["Properties"]["PolicyDocument"]["Statement"])
        elif isinstance(policy, dict) and len(policy) == 1:
            ((name, parameters),) = policy.items()
            if name in TABLE_TEMPLATES:
                table_grants.append(TABLE_TEMPLATES[name])
                continue
            if name not in SAM_TEMPLATES:
                raise AssertionError(f"{logical_id}: policy template {name} is not in this test's table")
            template_actions, parameter = SAM_TEMPLATES[name]
            value = parameters[parameter]
            resource = _resource_of(value)
            target = resource[1] if resource else (_ssm_name(value) if name == "SSMParameterReadPolicy" else None)
            grants |= {(action, target or f"unknown resource {value!r}") for action in template_actions}
            continue
        else:
            raise AssertionError(f"{logical_id}: policy {policy!r} is not understood by this test")
        for statement in statements:
            statement_grants, statement_tables = _statement_grants(statement)
            grants |= statement_grants
            table_grants.extend(statement_tables)
    return grants, table_grants, managed


def expected_table_grants(levels: set[str]) -> list[str]:
    if "write" in levels:
        return ["crud"]
    expected = ["read"] if "read" in levels else []
    if RATE_LIMIT_GRANT in levels:
        expected.append(RATE_LIMIT_GRANT)
    return sorted(expected)


def privilege_problems(logical_id: str) -> list[str]:
    permissions, levels, problems = needed(logical_id)
    grants, table_grants, managed = granted(logical_id)
    problems = list(problems)
    for action, resource in sorted(permissions - grants):
        problems.append(f"missing: {action} on {resource}")
    for action, resource in sorted(grants - permissions):
        problems.append(f"not used by its code: {action} on {resource}")
    expected = expected_table_grants(levels)
    if sorted(table_grants) != expected:
        problems.append(f"table grants {sorted(table_grants)}, its code needs {expected} (uses: {sorted(levels)})")
    if "write" in levels and "AuditAppendOnlyPolicy" not in managed:
        problems.append("writes the table without AuditAppendOnlyPolicy")
    if "write" in levels and usage(logical_id).writes_audit and "AuditNoWritePolicy" in managed:
        problems.append("records audit events but carries AuditNoWritePolicy")
    if "write" in levels and not usage(logical_id).writes_audit and "AuditNoWritePolicy" not in managed:
        problems.append("writes the table but no audit event, without AuditNoWritePolicy")
    if "write" not in levels and set(managed) & set(AUDIT_POLICIES):
        problems.append(f"writes nothing but carries {sorted(set(managed) & set(AUDIT_POLICIES))}")
    return problems


# ---------------------------------------------------------------------------------------------------- the tests
FUNCTION_IDS = sorted(functions())


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_function_is_granted_exactly_what_its_code_uses(logical_id: str) -> None:
    problems = privilege_problems(logical_id)
    assert not problems, f"{logical_id} ({functions()[logical_id].handler}):\n  " + "\n  ".join(problems)


def test_the_call_graph_reaches_through_services_into_adapters() -> None:
    """The analysis itself: a handler reaches the adapters its service calls, and not its module-mates' ones."""
    create = reachable("contests.create")
    listing = reachable("contests.list_contests")
    assert ("tickerleague.adapters.stepfunctions", "LifecycleWorkflows") not in create  # create starts no workflow
    assert ("tickerleague.services.contests", "create_contest_once") in create
    assert any(module == "tickerleague.adapters.dynamodb.contests" for module, _ in create)
    assert ("tickerleague.services.contests", "publish_contest") not in listing
    publish = usage("PublishContestFunction")
    assert "states:StartExecution" in publish.actions
    assert ("states", "ContestLifecycle") in publish.resources
    webhook = usage("StripeWebhookFunction")
    assert "sqs:SendMessage" in webhook.actions and ("sqs", "StripeEventsQueue") in webhook.resources
    assert not webhook.actions & (TABLE_READS | TABLE_WRITES)


def _with_policies(logical_id: str, policies: list[Any]) -> list[str]:
    """The problems `logical_id` would have with `policies` in place of its own."""
    resource = template().document["Resources"][logical_id]
    original = resource["Properties"]["Policies"]
    resource["Properties"]["Policies"] = policies
    try:
        return privilege_problems(logical_id)
    finally:
        resource["Properties"]["Policies"] = original


def _policies(logical_id: str) -> list[Any]:
    return list(template().document["Resources"][logical_id]["Properties"]["Policies"])


def test_crud_on_a_read_only_function_fails() -> None:
    readers = [lid for lid in FUNCTION_IDS if expected_table_grants(needed(lid)[1])[:1] == ["read"]]
    assert readers, "no read-only function to try"
    reader = readers[0]
    policies = [p for p in _policies(reader) if not (isinstance(p, dict) and "DynamoDBReadPolicy" in p)]
    problems = _with_policies(reader, [*policies, {"DynamoDBCrudPolicy": {"TableName": {"Ref": "Table"}}}])
    assert any("table grants" in problem for problem in problems), problems


def test_a_dropped_permission_fails() -> None:
    policies = [
        p for p in _policies("StripeWebhookFunction") if not (isinstance(p, dict) and "SQSSendMessagePolicy" in p)
    ]
    problems = _with_policies("StripeWebhookFunction", policies)
    assert "missing: sqs:SendMessage on StripeEventsQueue" in problems


def test_an_unused_secret_fails() -> None:
    policies = [
        *_policies("StripeWebhookFunction"),
        {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "SendGridApiKey"}}},
    ]
    problems = _with_policies("StripeWebhookFunction", policies)
    assert "not used by its code: secretsmanager:GetSecretValue on SendGridApiKey" in problems


def test_pynamodb_and_client_calls_are_told_apart_from_dicts() -> None:
    source = ast.parse(
        "def f(d, tx):\n"
        "    d.get('x'); d.update({'a': 1}); request.update(IndexName='GSI1')\n"
        "def g(item, tx):\n"
        "    UserItem.get('pk', 'sk'); item.update(actions=[1]); tx.save(item)\n"
    )
    reads_dicts, writes = source.body
    assert actions_in(reads_dicts) == set()
    assert actions_in(writes) == {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"}


def test_an_audit_deny_that_contradicts_the_code_fails() -> None:
    recorder = [*_policies("SuspendUserFunction"), {"Ref": "AuditNoWritePolicy"}]
    assert "records audit events but carries AuditNoWritePolicy" in _with_policies("SuspendUserFunction", recorder)
    silent = [p for p in _policies("CancelOrderFunction") if p != {"Ref": "AuditNoWritePolicy"}]
    assert "writes the table but no audit event, without AuditNoWritePolicy" in _with_policies(
        "CancelOrderFunction", silent
    )
