"""One kernel, two drivers: the wall-clock driver (paper/live runs) on an accelerated clock gives the
backtest driver's run exactly; it waits for each clock time, counts late steps and stops on request."""

from __future__ import annotations

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.drivers import RealtimeDriver
from basiskit.domain.time import to_ns
from basiskit.errors.exceptions import RunInterrupted

REQ = BacktestRequest("usdt_market_neutral", "2024-06-01", "2024-06-15", 100_000.0,
                      withdrawals=(("2024-06-10", 20_000.0),))
TIMING = {"loop_seconds", "steps_per_second", "run_seconds"}


class AcceleratedClock:
    """A wall clock that only moves when someone sleeps: ``sleep(s)`` moves it ``s`` seconds."""

    def __init__(self, start_ns: int) -> None:
        self.now = start_ns
        self.sleeps = 0

    def now_ns(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps += 1
        self.now += int(seconds * 1e9)


def _numbers(outcome) -> dict:
    return {k: v for k, v in outcome.summary.items() if k not in TIMING}


def test_the_wall_clock_driver_gives_the_backtest_numbers(catalog):
    fast = run_backtest(REQ, catalog)
    clock = AcceleratedClock(to_ns(REQ.start) - 90 * 10**9)  # 90 s before the first clock time
    live = RealtimeDriver(now_ns=clock.now_ns, sleep=clock.sleep, poll_s=600.0)
    paced = run_backtest(REQ, catalog, driver=live)
    assert _numbers(paced) == _numbers(fast)
    assert paced.loop.equity == fast.loop.equity and len(paced.loop.trades) == len(fast.loop.trades) > 0
    n = len(fast.loop.times)
    assert live.steps_done == n and live.late_steps == 0
    # it waited for every clock time: 90 s for the first, then an hour in 600 s polls for each next one
    assert clock.sleeps == 1 + (n - 1) * 6
    assert clock.now == fast.loop.times[-1]


def test_a_late_process_runs_the_missed_steps_and_counts_them(catalog):
    clock = AcceleratedClock(to_ns(REQ.start) + 3 * 3600 * 10**9 + 10**9)  # started 3 h and 1 s late
    live = RealtimeDriver(now_ns=clock.now_ns, sleep=clock.sleep, poll_s=3600.0, max_lag_s=5.0)
    out = run_backtest(REQ, catalog, driver=live)
    assert live.late_steps == 3  # 00:00, 01:00, 02:00 were more than 5 s in the past when they ran
    assert _numbers(out) == _numbers(run_backtest(REQ, catalog))


def test_a_stop_request_stops_between_steps(catalog):
    clock = AcceleratedClock(to_ns(REQ.start))
    live = RealtimeDriver(now_ns=clock.now_ns, sleep=clock.sleep, poll_s=600.0,
                          should_stop=lambda: live.steps_done >= 5)
    with pytest.raises(RunInterrupted, match="before step 5"):
        run_backtest(REQ, catalog, driver=live)
    assert live.steps_done == 5
