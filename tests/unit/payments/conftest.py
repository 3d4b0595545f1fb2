"""Payment services in-process: a moto table and event bus (the contests `world`) and the recorded Stripe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from tests.unit.contests.conftest import world  # noqa: F401  (a fixture: the contests' moto world)
from tests.unit.payments.recorded_stripe import BASE, RecordedStripe


@pytest.fixture
def stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedStripe]:
    from tickerleague.adapters import stripe_gateway
    from tickerleague.config import settings

    monkeypatch.setenv("STRIPE_API_BASE", BASE)
    monkeypatch.setenv("STRIPE_SECRET_KEY_SECRET_ID", "")
    settings.cache_clear()
    stripe_gateway._client.cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield RecordedStripe(mocked)
    stripe_gateway._client.cache_clear()
    settings.cache_clear()
