"""The shared ddb_local / ddb_table fixtures (DynamoDB Local, started lazily for the session)."""

from __future__ import annotations

import os

import boto3
import pytest

pytestmark = pytest.mark.integration


def test_ddb_table_is_a_template_table_on_dynamodb_local(ddb_local: str, ddb_table: str) -> None:
    assert os.environ["TABLE_NAME"] == ddb_table
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == ddb_local
    client = boto3.client("dynamodb", region_name="us-east-1")  # the endpoint comes from the environment
    table = client.describe_table(TableName=ddb_table)["Table"]
    assert {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])} >= {"GSI1"}
    client.put_item(TableName=ddb_table, Item={"PK": {"S": "a"}, "SK": {"S": "b"}})
    item = client.get_item(TableName=ddb_table, Key={"PK": {"S": "a"}, "SK": {"S": "b"}}, ConsistentRead=True)
    assert item["Item"]["PK"] == {"S": "a"}
    ttl = client.describe_time_to_live(TableName=ddb_table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiresAt"


def test_each_test_gets_its_own_table(ddb_table: str) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    assert client.scan(TableName=ddb_table)["Count"] == 0
