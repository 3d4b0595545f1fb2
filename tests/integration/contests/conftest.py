"""Contest concurrency tests against DynamoDB Local (moto serialises on the GIL: it is no concurrency oracle).

They use the shared `ddb_table` fixture of tests/conftest.py (a fresh template table on the session's DynamoDB
Local, with TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB set).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def contests_ddb(ddb_table: str) -> Iterator[str]:
    """The code pointed at `ddb_table` (fresh clients and model bindings before and after)."""
    from tickerleague.adapters.dynamodb.base import bind_table
    from tickerleague.adapters.dynamodb.plumbing import _client
    from tickerleague.config import settings

    settings.cache_clear()
    _client.cache_clear()
    bind_table()
    yield ddb_table
    _client.cache_clear()
    settings.cache_clear()
