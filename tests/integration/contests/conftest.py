"""Contest concurrency tests against DynamoDB Local (moto serialises on the GIL: it is no concurrency oracle).

They use the shared `ddb_table` fixture of tests/conftest.py (a fresh template table on the session's DynamoDB
Local, with TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB set). Until that fixture exists, the stand-ins below provide
the same names; they switch themselves off as soon as tests/conftest.py defines them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

import tests.conftest as shared

if not hasattr(shared, "ddb_table"):  # stand-ins: delete once tests/conftest.py provides both

    @pytest.fixture(scope="session")
    def ddb_local() -> Iterator[str]:
        from infra.local.dynamodb_local import DynamoDBLocalError, free_port, start_dynamodb_local

        try:
            instance = start_dynamodb_local(free_port())
        except (DynamoDBLocalError, FileNotFoundError) as error:
            pytest.skip(f"DynamoDB Local is not available: {error}")
        try:
            yield instance.endpoint
        finally:
            instance.stop()

    @pytest.fixture
    def ddb_table(ddb_local: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
        from tickerleague.config import settings

        from tests.support.table import create_table

        name = f"tl-int-{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_local)
        monkeypatch.setenv("TABLE_NAME", name)
        settings.cache_clear()
        import boto3

        create_table(boto3.client("dynamodb", region_name="us-east-1", endpoint_url=ddb_local), name)
        yield name
        settings.cache_clear()
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)


@pytest.fixture
def contests_ddb(ddb_table: str) -> Iterator[str]:
    """The code pointed at `ddb_table` (fresh clients and model bindings before and after)."""
    from tickerleague.adapters.dynamodb.base import bind_table
    from tickerleague.adapters.dynamodb.entries import _client
    from tickerleague.config import settings

    settings.cache_clear()
    _client.cache_clear()
    bind_table()
    yield ddb_table
    _client.cache_clear()
    settings.cache_clear()
