"""Trading tests run in-process against a moto table built from template.yaml.

The table is made once per module (building it costs seconds on a busy machine) and emptied before each test, so
every test still starts from a clean table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.trading import World, make_world


@pytest.fixture(scope="module")
def trading_table() -> Iterator[str]:
    from moto import mock_aws
    from tickerleague.config import settings

    from tests.support.table import create_table

    name = f"tl-trading-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("TABLE_NAME", name)
        patch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
        settings.cache_clear()
        import boto3
        from tickerleague.adapters.dynamodb.base import bind_table
        from tickerleague.adapters.dynamodb.plumbing import _client

        _client.cache_clear()
        create_table(boto3.client("dynamodb", region_name="us-east-1"), name)
        bind_table()
        yield name
        _client.cache_clear()
    settings.cache_clear()


def _empty(table: str) -> None:
    from tickerleague.adapters.dynamodb.plumbing import client

    dynamodb = client()
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="PK, SK"):
        for item in page.get("Items", []):
            dynamodb.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})


@pytest.fixture
def world(trading_table: str) -> Iterator[World]:
    _empty(trading_table)
    yield make_world()
