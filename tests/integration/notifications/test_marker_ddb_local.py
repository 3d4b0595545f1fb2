"""The at-most-once marker on DynamoDB Local (a concurrency oracle, unlike moto): the same email claimed by many
messages at once is sent once; duplicated and reordered events give one email per (user, kind, subject)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tickerleague.adapters.dynamodb import notifications as store
from tickerleague.domain.notifications import Kind
from tickerleague.services.notifications import SenderPorts, handle_message

from tests.unit.notifications.conftest import TEMPLATE_IDS
from tests.unit.notifications.support import ReplayServer, make_contest, put_user

pytestmark = pytest.mark.integration


@pytest.fixture
def sender_env(ddb_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    """DynamoDB Local for the table; moto (DynamoDB passed through) only for the API key's secret."""
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws
    from tickerleague.adapters import sendgrid
    from tickerleague.config import settings

    server = ReplayServer()
    config = {"core": {"mock_credentials": False, "passthrough": {"services": ["dynamodb"], "urls": []}}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        import boto3

        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="sg-key", SecretString="SG.local")["ARN"]
        monkeypatch.setenv("SENDGRID_API_KEY_SECRET_ID", arn)
        monkeypatch.setenv("SENDGRID_API_BASE", server.url)
        monkeypatch.setenv("SENDGRID_TEMPLATE_IDS", TEMPLATE_IDS)
        settings.cache_clear()
        sendgrid._client.cache_clear()
        parameters.clear_caches()
        yield server
        parameters.clear_caches()
    server.stop()
    settings.cache_clear()


def test_concurrent_claims_of_one_email_have_one_winner(ddb_table: str) -> None:
    key = store.marker_key("u1", Kind.CONTEST_ENDED, "c1")
    barrier = threading.Barrier(8)

    def claim(i: int) -> bool:
        barrier.wait()
        return store.claim(key, f"m-{i}", "2026-12-01T00:00:00.000Z", 1_800_000_000)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, range(8)))
    assert results.count(True) == 1
    winner = f"m-{results.index(True)}"
    # At most once: the winner's redelivery claims again only after the provider said "not now" (deferred);
    # nobody else ever may, and after `sent` not even the winner.
    assert not store.claim(key, winner, "2026-12-01T00:00:01.000Z", 1_800_000_001)
    store.defer(key, winner)
    assert store.claim(key, winner, "2026-12-01T00:00:01.000Z", 1_800_000_001)
    assert not store.claim(key, "m-late", "2026-12-01T00:00:01.000Z", 1_800_000_001)
    store.mark_sent(key, winner, "2026-12-01T00:00:02.000Z")
    assert not store.claim(key, winner, "2026-12-01T00:00:03.000Z", 1_800_000_003)


def test_a_release_by_another_claim_does_nothing(ddb_table: str) -> None:
    key = store.marker_key("u1", Kind.PASSWORD_RESET, "r1")
    assert store.claim(key, "m-1", "2026-12-01T00:00:00.000Z", 1_800_000_000)
    store.release(key, "m-2")
    assert store.get_marker(key) is not None
    store.release(key, "m-1")
    assert store.get_marker(key) is None


def test_duplicated_and_reordered_events_send_one_email_each(sender_env: ReplayServer) -> None:
    contest_id = make_contest()
    put_user("u1", "ada@example.com")
    confirmed = {"detail-type": "EntryConfirmed", "source": "tickerleague.entries",
                 "detail": {"contestId": contest_id, "entryId": "e1", "userId": "u1"}}
    cancelled_chunk = {"notify": "chunk", "kind": "contest_cancelled", "contestId": contest_id,
                       "recipients": [{"userId": "u1"}]}
    # Delivered out of order and several times over, some of them at the same moment.
    deliveries = [cancelled_chunk, confirmed, confirmed, cancelled_chunk, confirmed, cancelled_chunk] * 2
    barrier = threading.Barrier(len(deliveries))

    def deliver(i: int) -> int:
        barrier.wait()
        return handle_message(deliveries[i], f"m-{i}", SenderPorts(sleep=lambda s: None)).sent

    with ThreadPoolExecutor(len(deliveries)) as pool:
        assert sum(pool.map(deliver, range(len(deliveries)))) == 2
    kinds = sorted(r["body"]["custom_args"]["kind"] for r in sender_env.requests)
    assert kinds == ["contest_cancelled", "entry_confirmed"]
