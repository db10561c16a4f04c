"""The exception tree at run time (errors/exceptions.py): a strategy that raises at some steps has
those decisions skipped and logged (``SkipDecision`` keeps its code, anything else becomes
``DecisionFailed`` STRAT-001) and the run goes on; 100 failures in a row stop it; a ``StopRun`` error
stops it at once. The real btc_basis strategy decides on every other step."""

from __future__ import annotations

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.drivers import run_backtest_steps
from basiskit.errors.exceptions import DecisionFailed, OrderGenerationFailed, StopRun

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
