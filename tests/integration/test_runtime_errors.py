"""The exception tree at run time (errors/exceptions.py): a strategy that raises at some steps has
those decisions skipped and logged (``SkipDecision`` keeps its code, anything else becomes
``DecisionFailed`` STRAT-001) and the run goes on; 100 failures in a row stop it; a ``StopRun`` error
stops it at once; an unavailable feed or venue (``RetryWithBackoff``) is retried with backoff, each
retry logged, and stops the run when it stays unavailable. The real btc_basis strategy decides on
every other step."""

from __future__ import annotations

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.drivers import run_backtest_steps
from basiskit.errors.exceptions import (DecisionFailed, FeedUnavailable, OrderGenerationFailed, StopRun,
                                       VenueUnavailable)

REQ = BacktestRequest("btc_basis", "2024-03-01", "2024-03-20", 100_000.0)


class Faulty:
    """Raises ``make(step)`` (when not None) at the first decision of a step, else delegates."""

    def __init__(self, inner, make) -> None:
        self.inner, self.make = inner, make

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def decide(self, ctx):
        exc = self.make(ctx.step)
        if exc is not None:
            raise exc
        return self.inner.decide(ctx)


def _with(make):
    def driver(kernel, n, progress=None, every=0):
        kernel.use_strategy(Faulty(kernel.strategy, make))
        return run_backtest_steps(kernel, n, progress, every)
    return driver


def test_failing_decisions_are_skipped_logged_and_counted(catalog):
    def make(step):
        if step in (30, 31):
            return ZeroDivisionError("division by zero in my signal")
        if step == 40:
            return OrderGenerationFailed("no order size")
        return None

    out = run_backtest(REQ, catalog, driver=_with(make))
    errors = [e for e in out.loop.events if e.component == "strategy" and e.kind == "error"]
    assert [e.data["code"] for e in errors] == ["STRAT-001", "STRAT-001", "STRAT-002"]
    assert "ZeroDivisionError: division by zero in my signal" in errors[0].data["error"]
    assert "skip the decision" in errors[0].data["policy"]
    assert out.summary["decisions_failed"] == 3 and out.loop.decisions_failed == 3
    assert [out.loop.times.index(e.timestamp) for e in errors] == [30, 31, 40]
    assert out.summary["trades"] > 0  # the run went on: entered before, rebalanced after


def test_a_hundred_failures_in_a_row_stop_the_run(catalog):
    with pytest.raises(DecisionFailed, match="failed 100 steps in a row") as err:
        run_backtest(REQ, catalog, driver=_with(lambda step: KeyError("perp.nowhere") if step >= 50 else None))
    assert err.value.code == "STRAT-001" and "2024-03-07T05:00" in str(err.value)  # step 149 = 50 + 99: 6 days 5 h in


def test_a_stop_run_error_stops_at_once(catalog):
    class Halt(StopRun):
        code = "RUN-007"

    with pytest.raises(Halt, match="kill switch"):
        run_backtest(REQ, catalog, driver=_with(lambda step: Halt("kill switch") if step == 7 else None))


class Flaky:
    """Makes ``obj.<method>`` raise ``exc`` on ``fails`` calls from the ``after``-th call on."""

    def __init__(self, obj, method: str, exc, after: int, fails: int) -> None:
        self.real, self.exc, self.after, self.fails, self.calls = getattr(obj, method), exc, after, fails, 0
        setattr(obj, method, self)

    def __call__(self, *a, **k):
        self.calls += 1
        if self.calls > self.after and self.fails:
            self.fails -= 1
            raise self.exc
        return self.real(*a, **k)


def _flaky(where, method, exc, after, fails, waits):
    def driver(kernel, n, progress=None, every=0):
        kernel.sleep = waits.append
        target = kernel.feed if where == "feed" else kernel.venues[where]
        Flaky(target, method, exc, after, fails)
        # stepped: the stand-in fails from its n-th call on, and quiet stretches would make fewer calls
        return run_backtest_steps(kernel, n, progress, every, batch=False)
    return driver


@pytest.mark.parametrize("where,method,exc", [
    ("feed", "advance", FeedUnavailable("no bar from the stream")),
    ("binance.perp", "on_market", VenueUnavailable("HTTP 503 from the exchange")),
    ("bybit.spot", "submit", VenueUnavailable("timeout on order submit")),
])
def test_an_unavailable_feed_or_venue_is_retried_with_backoff_and_logged(catalog, where, method, exc):
    """Two failures, then the call answers: the run has the numbers of an undisturbed one; each retry
    is an engine/retry event with the error's code; the waits double."""
    waits: list[float] = []
    after = 0 if method == "submit" else 40
    out = run_backtest(REQ, catalog, driver=_flaky(where, method, exc, after, 2, waits))
    plain = run_backtest(REQ, catalog)
    timing = {"loop_seconds", "steps_per_second"}
    assert {k: v for k, v in out.summary.items() if k not in timing} == \
           {k: v for k, v in plain.summary.items() if k not in timing}
    retries = [e for e in out.loop.events if e.kind == "retry"]
    assert [e.data["attempt"] for e in retries] == [1, 2] and {e.data["code"] for e in retries} == {exc.code}
    assert str(exc) in retries[0].data["error"] and retries[0].data["what"].startswith(where)
    assert waits == [0.05, 0.1]


def test_a_venue_that_stays_unavailable_stops_the_run_after_the_attempts(catalog):
    waits: list[float] = []
    with pytest.raises(VenueUnavailable, match="HTTP 503") as err:
        run_backtest(REQ, catalog, driver=_flaky("bybit.perp", "on_market", VenueUnavailable("HTTP 503"), 10,
                                                 10**6, waits))
    assert err.value.code == "VENUE-001"
    assert waits == [0.05, 0.1, 0.2, 0.4]  # 5 calls in all
