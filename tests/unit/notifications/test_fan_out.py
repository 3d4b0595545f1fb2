"""The fan-out is bounded: no message loops over a whole contest. A contest event becomes steps and chunks; each
step queues at most FAN_OUT_WIDTH messages (ContestEnded: a tree over the final leaderboard's pages) or one page of
one entry shard and its continuation (ContestStarted/ContestCancelled), each chunk holds at most one page of
recipients, and together the chunks name every recipient exactly once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.domain.ranking import ROWS_PER_PAGE
from tickerleague.services.notifications import FAN_OUT_WIDTH, SenderPorts, handle_message

from tests.unit.notifications.conftest import FakeQueue
from tests.unit.notifications.support import ReplayServer, make_contest, seed_entries

pytestmark = pytest.mark.usefixtures("sendgrid_key")


def _event(detail_type: str, contest_id: str) -> dict[str, Any]:
    return {"version": "0", "id": "ev-1", "detail-type": detail_type, "source": "tickerleague.contests",
            "detail": {"contestId": contest_id}}


def _publish_final_standings(contest_id: str, players: int) -> None:
    """The final run as the end step writes it (pages and head), for `players` ranked players."""
    from tickerleague.adapters.dynamodb import leaderboard as board
    from tickerleague.domain.ranking import ShardEpoch, Standing

    at = datetime(2026, 12, 8, 21, 0, tzinfo=UTC)
    ranked = [Standing(rank=i + 1, entry_id=f"e{i}", user_id=f"p{i:05d}", display_name=f"P{i}",
                       joined_at="2026-12-01T00:00:00.000Z", total_value=Decimal(900_000 - i), return_pct=Decimal(0))
              for i in range(players)]
    run = board.RunToWrite(contest_id=contest_id, run_id=board.FINAL_RUN_ID, at=at, final=True, ranked=ranked,
                           epochs=[ShardEpoch(board.run_key(at, board.FINAL_RUN_ID), 1)], page_expires_at=None,
                           shard_expires_at=None)
    meter = board.Meter()
    board.batch_write(board.page_items(run), meter)
    assert board.publish(run, meter)


def _step(body: dict[str, Any], name: str) -> tuple[Any, list[dict[str, Any]]]:
    queue = FakeQueue()
    outcome = handle_message(json.loads(json.dumps(body)), name, SenderPorts(enqueue=queue, sleep=lambda s: None))
    return outcome, queue.bodies


def test_contest_ended_fans_out_as_a_tree_of_bounded_steps_one_board_page_per_chunk(
        sendgrid_replay: ReplayServer) -> None:
    players = 25_001  # 251 pages: more than FAN_OUT_WIDTH^2, so the tree has three levels of steps
    contest_id = make_contest()
    _publish_final_standings(contest_id, players)
    pages = -(-players // ROWS_PER_PAGE)
    _, pending = _step(_event("ContestEnded", contest_id), "m-event")
    assert len(pending) == 1 and pending[0]["notify"] == "fanout"
    chunks: list[dict[str, Any]] = []
    depth: Counter[int] = Counter()
    level = 0
    while pending:
        level += 1
        following: list[dict[str, Any]] = []
        for index, body in enumerate(pending):
            assert body["notify"] == "fanout"
            _, queued = _step(body, f"m-{level}-{index}")
            assert 1 <= len(queued) <= FAN_OUT_WIDTH
            for item in queued:
                assert "recipients" not in item  # never a list of the contest's players in a message
                (chunks if item["notify"] == "chunk" else following).append(item)
            depth[level] += 1
        pending = following
    assert level == 3
    assert sorted(chunk["boardPage"] for chunk in chunks) == list(range(pages))  # every page once
    # A chunk is one stored page: at most ROWS_PER_PAGE recipients (here nobody has a user item: all skipped,
    # which still shows how many the chunk held). The last page holds the one player left over.
    first, last = (_step(next(c for c in chunks if c["boardPage"] == page), f"m-chunk-{page}")[0]
                   for page in (0, pages - 1))
    assert first.skipped == {"user_gone": ROWS_PER_PAGE} and last.skipped == {"user_gone": 1}
    assert sendgrid_replay.requests == []


def test_contest_started_pages_each_shard_one_bounded_chunk_per_step(sendgrid_replay: ReplayServer,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.config import settings

    monkeypatch.setenv("NOTIFY_CHUNK_SIZE", "3")
    monkeypatch.setenv("ENTRY_SHARDS", "2")
    settings.cache_clear()
    contest_id = make_contest()
    players = [f"q{i:02d}" for i in range(20)]
    seed_entries(contest_id, players)
    _, pending = _step(_event("ContestStarted", contest_id), "m-event")
    assert [body["shard"] for body in pending] == [0, 1]
    named: list[str] = []
    steps = 0
    while pending:
        body = pending.pop(0)
        outcome, queued = _step(body, f"m-{steps}")
        steps += 1
        if body["notify"] == "fanout":
            # One page of one shard: its chunk, and the continuation when the shard has more.
            assert len(queued) <= 2 and sum(1 for item in queued if item["notify"] == "fanout") <= 1
            for item in queued:
                if item["notify"] == "chunk":
                    assert 1 <= len(item["recipients"]) <= 3
                    named.extend(recipient["userId"] for recipient in item["recipients"])
            pending.extend(queued)
        else:
            assert outcome.skipped == {"user_gone": len(body["recipients"])}
    assert sorted(named) == players  # everyone once
    assert steps >= 20 // 3
