"""The round-trip budget of a join (one read, one transaction), counted like benchmarks/contest_roundtrips.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from benchmarks.contest_roundtrips import CallCounter
from tests.unit.contests.helpers import World, join, published


@pytest.fixture
def counter(world: World, monkeypatch: pytest.MonkeyPatch) -> CallCounter:
    import boto3
    import pynamodb.connection.base as pynamodb_base
    from tickerleague.adapters.dynamodb.base import BaseItem, _all_models
    from tickerleague.adapters.dynamodb.entries import _client

    counting = CallCounter()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION._session.register("before-call.dynamodb", counting)  # type: ignore[union-attr]
    original = pynamodb_base.get_session

    def hooked() -> Any:
        session = original()
        session.register("before-call.dynamodb", counting)
        return session

    monkeypatch.setattr(pynamodb_base, "get_session", hooked)
    _client.cache_clear()
    for model in _all_models(BaseItem):
        model._connection = None
    return counting


def test_a_new_join_is_one_read_and_one_transaction(world: World, counter: CallCounter) -> None:
    contest = published(world)
    with counter.measure() as first:
        assert join(world.alice, contest["id"]).status == 201
    with counter.measure() as again:
        assert join(world.alice, contest["id"]).status == 200
    assert first == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    assert again == Counter({"BatchGetItem": 1})
