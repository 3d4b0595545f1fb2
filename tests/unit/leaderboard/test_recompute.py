"""The recompute job and the final standings, on moto: what gets written, what gets read, what never changes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from tickerleague.adapters.dynamodb import leaderboard as board
from tickerleague.adapters.dynamodb.plumbing import Meter
from tickerleague.domain.contests import ContestStatus
from tickerleague.http.principal import Principal
from tickerleague.services import leaderboard_reads as reads
from tickerleague.services import leaderboard_recompute as recompute

from tests.support.leaderboard import (
    T0,
    FixedContests,
    FixedPrices,
    add_entry,
    make_contest,
    put_quote,
    trade,
)

MINUTE = timedelta(minutes=1)


def _head(contest_id: str) -> board.BoardHead:
    head = board.get_head(contest_id, Meter())
    assert head is not None
    return head


def _me(contest_id: str, user_id: str) -> reads.MyStanding:
    return reads.my_standing(Principal(user_id, "user", "s"), contest_id, T0)


def test_full_recompute_ranks_values_and_publishes_a_run() -> None:
    contest = make_contest()
    rich = add_entry(contest, cash=Decimal("50000.00"), positions={"AAPL": ("300", "45000.00")})  # 50000 + 300x200
    tied_early = add_entry(contest, joined_at=T0 - timedelta(minutes=50))
    tied_late = add_entry(contest, joined_at=T0 - timedelta(minutes=40))
    poor = add_entry(contest, cash=Decimal("1000.00"), positions={"MSFT": ("10", "99000.00")})  # 1000 + 10x100.5
    add_entry(contest, status="pending_payment", cash=Decimal("999999.00"))  # not ranked

    report = recompute.recompute_contest(contest, T0, FixedPrices({"AAPL": "200", "MSFT": "100.50"}))

    assert (report.outcome, report.mode, report.ranked) == ("published", "full", 4)
    head = _head(contest.contest_id)
    assert head.final is False and head.out_of == 4 and head.as_of == "2026-12-01T15:00:00.000Z"
    assert [(row[0], row[1], row[4], row[5]) for row in head.rows] == [
        (1, rich.entry_id, "110000.00", "10.0000"),
        (2, tied_early.entry_id, "100000.00", "0.0000"),
        (2, tied_late.entry_id, "100000.00", "0.0000"),
        (4, poor.entry_id, "2005.00", "-97.9950"),
    ]
    assert _me(contest.contest_id, poor.user_id) == reads.MyStanding(
        4, "2005.00", "-97.9950", 4, "2026-12-01T15:00:00Z"
    )


def test_incremental_recompute_reads_only_changed_entries_and_reprices_the_rest() -> None:
    contest = make_contest()
    holders = [add_entry(contest, cash=Decimal("0.00"), positions={"AAPL": ("500", "100000.00")}) for _ in range(5)]
    idle = [add_entry(contest) for _ in range(20)]
    prices = FixedPrices({"AAPL": "200"})
    first = recompute.recompute_contest(contest, T0, prices)
    assert (first.mode, first.entries_read) == ("full", 25)

    trader = trade(idle[3], T0 + timedelta(seconds=30), cash=Decimal("0.00"), positions={"AAPL": ("500", "100000.00")})
    prices.prices["AAPL"] = Decimal("210")
    second = recompute.recompute_contest(contest, T0 + MINUTE, prices)

    assert (second.mode, second.entries_read, second.outcome) == ("incremental", 1, "published")
    head = _head(contest.contest_id)
    assert head.rows[0][4] == "105000.00"  # every holder re-priced without being read
    assert {row[1] for row in head.rows if row[0] == 1} == {entry.entry_id for entry in [*holders, trader]}
    assert _me(contest.contest_id, trader.user_id).rank == 1
    assert _me(contest.contest_id, idle[0].user_id).rank == 7


def test_status_change_seen_by_the_change_feed_drops_the_entry() -> None:
    contest = make_contest()
    keep, refunded = add_entry(contest), add_entry(contest)
    prices = FixedPrices({})
    recompute.recompute_contest(contest, T0, prices)
    trade(refunded, T0 + timedelta(seconds=10), status="refunded")
    recompute.recompute_contest(contest, T0 + MINUTE, prices)
    head = _head(contest.contest_id)
    assert [row[1] for row in head.rows] == [keep.entry_id] and head.out_of == 1


def test_nothing_changed_redates_the_run_instead_of_writing_one() -> None:
    contest = make_contest()
    add_entry(contest, positions={"AAPL": ("1", "1.00")})
    prices = FixedPrices({"AAPL": "5"})
    first = recompute.recompute_contest(contest, T0, prices)
    second = recompute.recompute_contest(contest, T0 + MINUTE, prices)
    assert second.outcome == "unchanged" and second.run_id == first.run_id
    assert second.meter.items_written == 1  # the head's asOf, nothing else
    head = _head(contest.contest_id)
    assert head.run_id == first.run_id and head.as_of == "2026-12-01T15:01:00.000Z"


def test_a_cold_container_reads_everything_again() -> None:
    contest = make_contest()
    for _ in range(3):
        add_entry(contest)
    recompute.recompute_contest(contest, T0, FixedPrices({}))
    recompute.forget_warm_state()
    report = recompute.recompute_contest(contest, T0 + MINUTE, FixedPrices({}))
    assert (report.mode, report.entries_read, report.outcome) == ("full", 3, "published")


def test_an_older_run_never_replaces_a_newer_one() -> None:
    contest = make_contest()
    add_entry(contest)
    recompute.recompute_contest(contest, T0 + MINUTE, FixedPrices({}))
    newer = _head(contest.contest_id).run_id
    recompute.forget_warm_state()
    late = recompute.recompute_contest(contest, T0, FixedPrices({}))  # a slow run that started earlier
    assert late.outcome == "superseded"
    assert _head(contest.contest_id).run_id == newer


def test_contest_past_its_end_is_left_to_the_end_step() -> None:
    contest = make_contest(ends_at=T0)
    add_entry(contest)
    assert recompute.recompute_contest(contest, T0, FixedPrices({})).outcome == "skipped_ended"
    assert board.get_head(contest.contest_id, Meter()) is None


def test_final_standings_use_prices_at_ends_at_and_never_change() -> None:
    ends = T0 + timedelta(hours=2)
    contest = make_contest(ends_at=ends)
    directory = FixedContests(contest)
    winner = add_entry(contest, cash=Decimal("0.00"), positions={"AAPL": ("1000", "100000.00")})
    loser = add_entry(contest)
    put_quote("AAPL", "99.00", ends - timedelta(minutes=5))  # the last price at or before endsAt
    put_quote("AAPL", "150.00", ends + timedelta(minutes=1))  # after the end: must not count
    recompute.recompute_contest(contest, T0, FixedPrices({"AAPL": "120"}))

    final = recompute.compute_final_standings(contest.contest_id, ends, contests=directory)

    assert final.outcome == "published"
    head = _head(contest.contest_id)
    assert head.final is True and head.as_of == "2026-12-01T17:00:00.000Z"
    assert [(row[1], row[4]) for row in head.rows] == [(loser.entry_id, "100000.00"), (winner.entry_id, "99000.00")]
    frozen = (head, _me(contest.contest_id, winner.user_id))

    # Later quotes, a retried end step, a recompute that was still running: nothing moves.
    trade(winner, ends + timedelta(seconds=1), cash=Decimal("500000.00"))
    again = recompute.compute_final_standings(
        contest.contest_id, ends, prices=FixedPrices({"AAPL": "1"}), contests=directory
    )
    assert again.outcome == "skipped_final"
    late = recompute.recompute_contest(contest, ends - timedelta(seconds=1), FixedPrices({"AAPL": "500"}))
    assert late.outcome == "skipped_final"
    assert (_head(contest.contest_id), _me(contest.contest_id, winner.user_id)) == frozen


def test_final_publish_is_conditional_on_no_final_run() -> None:
    contest = make_contest()
    add_entry(contest)
    recompute.compute_final_standings(
        contest.contest_id, contest.ends_at, prices=FixedPrices({}), contests=FixedContests(contest)
    )
    head = _head(contest.contest_id)
    # Even a run that slipped past the read-first check is refused by the head's condition.
    run = recompute._run(contest, "OTHER", contest.ends_at, [], head, final=True)
    assert board.publish(run, Meter()) is False
    assert _head(contest.contest_id).rows == head.rows


def test_recompute_active_takes_every_active_contest_and_reads_each_quote_once() -> None:
    one, two = make_contest(), make_contest()
    scheduled = make_contest(status=ContestStatus.SCHEDULED)
    for contest in (one, two, scheduled):
        add_entry(contest, positions={"AAPL": ("1", "1.00")})
    prices = FixedPrices({"AAPL": "10"})
    reports = recompute.recompute_active(T0, prices=prices, contests=FixedContests(one, two, scheduled))
    assert sorted(report.contest_id for report in reports) == sorted([one.contest_id, two.contest_id])
    assert prices.latest_calls == [["AAPL"]]
    assert board.get_head(scheduled.contest_id, Meter()) is None


def test_a_failing_contest_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = make_contest(), make_contest()
    add_entry(good)
    real = recompute.recompute_contest

    def flaky(contest, now, prices, **kwargs):  # type: ignore[no-untyped-def]
        if contest.contest_id == bad.contest_id:
            raise RuntimeError("boom")
        return real(contest, now, prices, **kwargs)

    monkeypatch.setattr(recompute, "recompute_contest", flaky)
    with pytest.raises(recompute.RecomputeFailed):
        recompute.recompute_active(T0, prices=FixedPrices({}), contests=FixedContests(good, bad))
    assert board.get_head(good.contest_id, Meter()) is not None


def test_recompute_metrics_time_each_run_and_count_the_entries_it_read_as_changed(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.emf import MetricsCapture

    one, two = make_contest(), make_contest()
    movers = [add_entry(one) for _ in range(3)]
    add_entry(two)
    add_entry(two)
    directory, prices = FixedContests(one, two), FixedPrices({"AAPL": "10"})
    metrics = MetricsCapture(monkeypatch, capsys)

    recompute.recompute_active(T0, prices=prices, contests=directory)
    trade(movers[0], T0 + timedelta(seconds=30), cash=Decimal("90000.00"), positions={"AAPL": ("1000", "10000.00")})
    recompute.recompute_active(T0 + MINUTE, prices=prices, contests=directory)
    written = metrics.take()
    assert sorted(row for row in written if row[0] == "LeaderboardEntriesChanged") == [
        ("LeaderboardEntriesChanged", 0.0, {"mode": "incremental"}),  # two: nothing changed
        ("LeaderboardEntriesChanged", 1.0, {"mode": "incremental"}),  # one: the trader
        ("LeaderboardEntriesChanged", 2.0, {"mode": "full"}),
        ("LeaderboardEntriesChanged", 3.0, {"mode": "full"}),
    ]
    timings = [row for row in written if row[0] == "LeaderboardRecomputeMs"]
    assert [row[2] for row in timings] == [{"mode": "live"}] * 2  # one per run, not per contest
    assert all(row[1] >= 0 for row in timings)

    recompute.compute_final_standings(one.contest_id, one.ends_at, prices=prices, contests=directory)
    recompute.compute_final_standings(one.contest_id, one.ends_at, prices=prices, contests=directory)  # retried
    final = metrics.take()
    assert [row for row in final if row[0] == "LeaderboardEntriesChanged"] == [
        ("LeaderboardEntriesChanged", 3.0, {"mode": "final"})]  # the retry found the final run: nothing read
    assert [row[2] for row in final if row[0] == "LeaderboardRecomputeMs"] == [{"mode": "final"}] * 2


def test_a_failing_recompute_is_still_timed(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.emf import MetricsCapture

    bad = make_contest()

    def broken(contest, now, prices, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(recompute, "recompute_contest", broken)
    metrics = MetricsCapture(monkeypatch, capsys)
    with pytest.raises(recompute.RecomputeFailed):
        recompute.recompute_active(T0, prices=FixedPrices({}), contests=FixedContests(bad))
    assert metrics.units() == {"LeaderboardRecomputeMs": "Milliseconds"}  # the run's time, though it failed
