"""The contest status machine: every (from, to) pair, allowed or not."""

from __future__ import annotations

import itertools

import pytest
from tickerleague.domain.contests import ContestStatus, can_transition, require_transition, sources_of
from tickerleague.errors import Conflict
from tickerleague.http.statuses import status_of

S = ContestStatus
ALLOWED = {
    (S.DRAFT, S.SCHEDULED),
    (S.SCHEDULED, S.ACTIVE),
    (S.ACTIVE, S.ENDED),
    (S.DRAFT, S.CANCELLED),
    (S.SCHEDULED, S.CANCELLED),
    (S.ACTIVE, S.CANCELLED),
}
ALL_PAIRS = list(itertools.product(ContestStatus, repeat=2))


def test_the_table_covers_all_25_pairs() -> None:
    assert len(ALL_PAIRS) == 25
    assert set(ALL_PAIRS) > ALLOWED


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_allowed_transition(source: ContestStatus, target: ContestStatus) -> None:
    assert can_transition(source, target)
    require_transition(source, target)


@pytest.mark.parametrize(("source", "target"), sorted(set(ALL_PAIRS) - ALLOWED))
def test_forbidden_transition(source: ContestStatus, target: ContestStatus) -> None:
    assert not can_transition(source, target)
    with pytest.raises(Conflict) as raised:
        require_transition(source, target)
    assert raised.value.code == "INVALID_STATE_TRANSITION"
    assert status_of(raised.value) == 409


def test_terminal_statuses_go_nowhere() -> None:
    for source in (S.ENDED, S.CANCELLED):
        assert not any(can_transition(source, target) for target in ContestStatus)


def test_sources_of_cancelled_are_the_three_live_statuses() -> None:
    assert sources_of(S.CANCELLED) == {S.DRAFT, S.SCHEDULED, S.ACTIVE}
    assert sources_of(S.ACTIVE) == {S.SCHEDULED}
