"""Scheduled every minute (LOCAL_SCHEDULE_RATE_SECONDS shortens it locally): release the seats of unpaid entries
whose PAYMENT_HOLD_SECONDS ran out (services.payments.expire_holds)."""

from __future__ import annotations

from typing import Any

from tickerleague.services import payments


def expire(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return payments.expire_holds()
