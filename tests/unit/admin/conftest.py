"""Fixtures of the admin and account unit tests: a moto table, an admin and two players."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.admin import Crowd, make_crowd


@pytest.fixture
def crowd(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crowd]:
    from tickerleague.adapters import events
    from tickerleague.services.principals import clear_cache

    monkeypatch.setenv("PASSWORD_RESET_MIN_MILLISECONDS", "0")
    from tickerleague.config import settings

    settings.cache_clear()
    events._client.cache_clear()
    clear_cache()
    yield make_crowd()
    clear_cache()
