"""The round-trip budget of a join (one read, one transaction), counted like benchmarks/contest_roundtrips.py."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks._support import CallCounter, install
from tests.unit.contests.helpers import World, join, published


@pytest.fixture
def counter(world: World, monkeypatch: pytest.MonkeyPatch) -> CallCounter:
    counting = CallCounter()
    install(counting, monkeypatch.setattr)
    return counting


def test_a_new_join_is_one_read_and_one_transaction(world: World, counter: CallCounter) -> None:
    contest = published(world)
    with counter.measure() as first:
        assert join(world.alice, contest["id"]).status == 201
    with counter.measure() as again:
        assert join(world.alice, contest["id"]).status == 200
    assert first == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    assert again == Counter({"BatchGetItem": 1})
