"""The template loader: tags, Globals, Parameters, Conditions, intrinsics and every view the stack uses."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import boto3
import pytest
from moto import mock_aws

from infra.local.cfn_yaml import load_cfn_yaml
from infra.local.intrinsics import TemplateError
from infra.local.template import LocalTemplate, load_template, merge_globals, table_create_kwargs
from tests.support.local_stack import FIXTURE_DIR, TEMPLATE

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return load_template(TEMPLATE, parameters_file=None)


def write_template(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(dedent(body), encoding="utf-8")
    return path


# ---------------------------------------------------------------- YAML tags and Globals


def test_short_form_tags_become_long_form() -> None:
    document = load_cfn_yaml(
        dedent(
            """
            A: !Ref X
            B: !GetAtt Res.Attr.Deep
            C: !Sub "${AWS::Region}-x"
            D: !If [Cond, !Join ["-", [a, b]], !Ref "AWS::NoValue"]
            E: !Condition IsProd
            F: !Select [0, !Split [",", "a,b"]]
            """
        )
    )
    assert document == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["Res", "Attr.Deep"]},
        "C": {"Fn::Sub": "${AWS::Region}-x"},
        "D": {"Fn::If": ["Cond", {"Fn::Join": ["-", ["a", "b"]]}, {"Ref": "AWS::NoValue"}]},
        "E": {"Condition": "IsProd"},
        "F": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
    }


def test_globals_merge_maps_concatenate_lists_and_let_resources_win() -> None:
    merged = merge_globals(
        {"Timeout": 3, "Layers": ["a"], "Environment": {"Variables": {"A": "1", "B": "1"}}, "X": {"Ref": "P"}},
        {"Timeout": 9, "Layers": ["b"], "Environment": {"Variables": {"B": "2"}}, "X": {"Ref": "Q"}},
    )
    assert merged == {
        "Timeout": 9,
        "Layers": ["a", "b"],
        "Environment": {"Variables": {"A": "1", "B": "2"}},
        "X": {"Ref": "Q"},
    }


# ---------------------------------------------------------------- functions and environment


def test_functions_have_handler_module_code_dir_and_globals(template: LocalTemplate) -> None:
    tick = template.functions["TickFunction"]
    assert tick.handler == "lsfx_jobs/tick.handler"
    assert (tick.module_name, tick.function_name) == ("lsfx_jobs.tick", "handler")
    assert tick.code_dir == FIXTURE_DIR / "handlers"
    assert (tick.timeout, tick.memory_size, tick.runtime) == (5, 256, "python3.12")
    assert tick.arn == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:TickFunction"


def test_environment_intrinsics_resolve_to_local_values(template: LocalTemplate) -> None:
    env = template.functions["StoreFunction"].environment
    assert env == {
        "TABLE_NAME": "Table",
        "STAGE": "test",
        "BUS_NAME": "fixture-test",
        "SECRET_ID": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:fixture/test/keys",
        "WORK_QUEUE_URL": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/Work",
        "GREETING": "hello-us-east-1",
        "FIRST_ORIGIN": "https://a.example",
        "JOINED": "test|Work",
        "PARAM_NAME": "/fixture/test/flag",
        "FLOW_ARN": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Flow",
    }
    assert "FLOW_ARN" not in template.functions["EchoFunction"].environment


def test_parameter_overrides_conditions_and_mappings() -> None:
    dev = load_template(TEMPLATE, parameters_file=None, parameter_overrides={"Stage": "dev"})
    assert dev.functions["EchoFunction"].environment["GREETING"] == "hello-dev"
    assert "DevOnlyTopic" in dev.resources
    assert dev.sqs_events[0].batch_size == 10
    test = load_template(TEMPLATE, parameters_file=None)
    assert "DevOnlyTopic" not in test.resources
    assert test.sqs_events[0].batch_size == 5


def test_parameter_values_are_validated() -> None:
    with pytest.raises(TemplateError, match="not one of"):
        load_template(TEMPLATE, parameters_file=None, parameter_overrides={"Stage": "prod"})


def test_physical_names_and_real_attributes_override_predictions() -> None:
    template = load_template(TEMPLATE, parameters_file=None, physical_names={"Table": "fixture-table"})
    real_arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:fixture/test/keys-AbCdEf"
    bound = template.with_attributes({"Keys": {"Ref": real_arn}})
    env = bound.functions["EchoFunction"].environment
    assert env["TABLE_NAME"] == "fixture-table"
    assert env["SECRET_ID"] == real_arn


def test_local_parameters_file_is_applied(tmp_path: Path) -> None:
    parameters = tmp_path / "parameters.json"
    parameters.write_text(
        json.dumps({"StackName": "fx", "Parameters": {"Stage": "dev", "Unknown": "x"}, "PhysicalNames": {"Table": "t"}})
    )
    template = load_template(TEMPLATE, parameters_file=parameters)
    assert template.parameters["Stage"] == "dev"
    assert template.functions["EchoFunction"].environment["TABLE_NAME"] == "t"
    assert template.pseudo["AWS::StackName"] == "fx"


def test_function_lookup_by_name_or_arn(template: LocalTemplate) -> None:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:StepFunction"
    assert template.function_by_name(arn).logical_id == "StepFunction"
    assert template.function_by_name(f"{arn}:$LATEST").logical_id == "StepFunction"
    assert template.function_by_name("StepFunction").logical_id == "StepFunction"
    with pytest.raises(KeyError):
        template.function_by_name("Nope")


# ---------------------------------------------------------------- API


def test_routes_authorizers_and_gateway_responses(template: LocalTemplate) -> None:
    api = template.apis["Api"]
    routes = {(r.method, r.path): r for r in api.routes}
    assert routes[("GET", "/items/{itemId}")].authorizer is None
    assert routes[("POST", "/items")].authorizer == "Tok"
    assert routes[("ANY", "/files/{proxy+}")].function_id == "EchoFunction"
    assert api.stage_name == "v1-stage"
    assert api.default_authorizer == "Tok"
    authorizer = api.authorizers["Tok"]
    assert (authorizer.function_id, authorizer.payload_type, authorizer.identity_header) == (
        "AuthFunction",
        "TOKEN",
        "Authorization",
    )
    assert authorizer.ttl_seconds == 0
    unauthorized = api.gateway_responses["UNAUTHORIZED"]
    assert unauthorized.status_code == 401
    assert unauthorized.headers["Cache-Control"] == "'no-store'"
    assert "$context.requestId" in unauthorized.templates["application/json"]
    assert api.gateway_responses["DEFAULT_5XX"].status_code is None


def test_implicit_api_and_unknown_authorizer(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        """
        Globals:
          Api:
            Auth:
              DefaultAuthorizer: Missing
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Events:
                Get: {Type: Api, Properties: {Path: /x, Method: get}}
        """,
    )
    with pytest.raises(TemplateError, match="unknown authorizer Missing"):
        _ = load_template(path, parameters_file=None).apis


def test_implicit_api_without_auth(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Events:
                Get: {Type: Api, Properties: {Path: /x, Method: get}}
        """,
    )
    api = load_template(path, parameters_file=None).apis["ServerlessRestApi"]
    assert api.stage_name == "Prod"
    assert [(r.method, r.path, r.authorizer) for r in api.routes] == [("GET", "/x", None)]


# ---------------------------------------------------------------- events and other resources


def test_schedules(template: LocalTemplate) -> None:
    schedules = {s.event_name: s for s in template.schedules}
    assert schedules["Every"].expression == "rate(5 minutes)"
    assert schedules["Every"].rule_name == "TickFunctionEvery"
    assert schedules["Nightly"].expression == "cron(30 6 * * ? *)"
    assert not schedules["Paused"].enabled
    assert schedules["Weekly"].kind == "ScheduleV2"
    assert json.loads(str(schedules["Weekly"].input)) == {"kind": "weekly"}


def test_queues_dead_letter_first_with_redrive_policy(template: LocalTemplate) -> None:
    assert list(template.queues) == ["WorkDlq", "Work"]
    work = template.queues["Work"]
    assert work.dead_letter_queue_id == "WorkDlq"
    assert work.max_receive_count == 2
    assert work.attributes["VisibilityTimeout"] == "1"
    assert json.loads(work.attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:WorkDlq",
        "maxReceiveCount": 2,
    }
    (source,) = template.sqs_events
    assert (source.function_id, source.queue_id, source.report_batch_item_failures) == (
        "ConsumeFunction",
        "Work",
        True,
    )


def test_event_rules(template: LocalTemplate) -> None:
    (rule,) = template.event_rules
    assert (rule.function_id, rule.bus_name, rule.pattern) == (
        "NotifyFunction",
        "fixture-test",
        {"source": ["fixture.app"]},
    )


def test_state_machine_definition_has_substitutions_applied(template: LocalTemplate) -> None:
    machine = template.state_machines["Flow"]
    definition = json.loads(machine.definition)
    function_name = definition["States"]["Step"]["Parameters"]["FunctionName"]
    assert function_name == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:StepFunction"
    assert machine.arn == f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Flow"


def test_secrets_parameters_and_buses(template: LocalTemplate) -> None:
    keys = template.secrets["Keys"]
    assert keys.name == "fixture/test/keys"
    assert keys.generate is not None
    assert keys.generate["GenerateStringKey"] == "k1"
    assert template.ssm_parameters["Param"].value == "on"
    assert template.event_buses["Bus"].name == "fixture-test"


# ---------------------------------------------------------------- tables


def test_table_create_kwargs_builds_a_moto_table() -> None:
    kwargs = table_create_kwargs(TEMPLATE, "unit-table")
    assert kwargs["TableName"] == "unit-table"
    assert kwargs["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in kwargs
    assert kwargs["GlobalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**kwargs)
        described = client.describe_table(TableName="unit-table")["Table"]
    assert [k["AttributeName"] for k in described["KeySchema"]] == ["PK", "SK"]


def test_ttl_attribute(template: LocalTemplate) -> None:
    assert template.table_ttl_attribute() == "expiresAt"


def test_provisioned_tables_need_throughput(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          T:
            Type: AWS::DynamoDB::Table
            Properties:
              AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
              KeySchema: [{AttributeName: id, KeyType: HASH}]
              ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
              StreamSpecification: {StreamViewType: NEW_IMAGE}
        """,
    )
    kwargs = table_create_kwargs(path, "p")
    assert kwargs["ProvisionedThroughput"] == {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
