import numpy as np
import pytest

from basiskit.engine.clock import Clock
from basiskit.domain.time import ns_to_iso, to_ns
from basiskit.results.metrics import compute_metrics, twr_index


def test_grid_includes_the_end_over_long_ranges_and_any_step():
    g = Clock(to_ns("2024-01-01"), to_ns("2025-09-18")).grid()
    assert ns_to_iso(g[-1]) == "2025-09-18T00:00:00Z"
    assert len(g) == (to_ns("2025-09-18") - to_ns("2024-01-01")) // (3600 * 10**9) + 1
    g15 = Clock(to_ns("2024-01-01"), to_ns("2024-01-02"), 900).grid()
    assert len(g15) == 97 and np.all(np.diff(g15) == 900 * 10**9)


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match="before start"):
        Clock(to_ns("2024-02-01"), to_ns("2024-01-01"))


def test_twr_ignores_deposits_and_withdrawals():
    # rule: equity grows 1 % per step; a deposit of 500 at step 3 and a withdrawal of 200 at step 6
    n, cap = 10, 1000.0
    eq, dep = [], []
    e, d = cap, 0.0
    for i in range(n):
        e *= 1.01
        if i == 3:
            e += 500.0
            d += 500.0
        if i == 6:
            e -= 200.0
            d -= 200.0
        eq.append(e)
        dep.append(d)
    idx = twr_index(np.array(eq), np.array(dep), cap)
    assert idx[-1] == pytest.approx(1.01**n, rel=1e-12)


def test_drawdown_and_annualisation():
    hours = 24 * 365
    times = to_ns("2024-01-01") + np.arange(hours + 1, dtype=np.int64) * 3600 * 10**9
    eq = np.full(hours + 1, 100.0)
    eq[: hours // 2] = 100.0
    eq[hours // 2:] = 90.0  # one 10 % fall, then flat
    eq[-1] = 110.0
    m, reasons = compute_metrics(times, eq, np.zeros(hours + 1), 100.0)
    assert m["max_drawdown"] == pytest.approx(-0.10)
    assert m["total_return"] == pytest.approx(0.10)
    assert m["apr"] == pytest.approx(0.10)  # exactly one 365-day year
    assert m["apy"] == pytest.approx(0.10)
    # under water from the middle of the year (the fall) to the last step (back above the peak)
    assert m["longest_drawdown_days"] == pytest.approx((hours - hours // 2 + 1) / 24)
    assert m["calmar"] == pytest.approx(0.10 / 0.10)


def test_short_runs_are_not_annualised_and_nothing_is_nan():
    # rule: a 10-day run that gains 1 %: a yearly figure from it would be noise
    steps = 24 * 10
    times = to_ns("2024-01-01") + np.arange(steps + 1, dtype=np.int64) * 3600 * 10**9
    eq = np.linspace(100.0, 101.0, steps + 1)
    m, reasons = compute_metrics(times, eq, np.zeros(steps + 1), 100.0)
    assert m["total_return"] == pytest.approx(0.01)
    for k in ("apr", "apy", "sharpe", "sortino", "volatility", "calmar"):
        assert m[k] is None and "shorter than 30" in reasons[k]
    m, reasons = compute_metrics(times, eq, np.zeros(steps + 1), 100.0, annualise_short=True)
    assert m["apr"] == pytest.approx(0.01 * 36.5)
    # a straight line never falls: no drawdown, so no Calmar ratio, said so
    assert m["calmar"] is None and reasons["calmar"] == "no drawdown"
    assert m["sortino"] is None and reasons["sortino"] == "no day with a negative return"
    assert all(v is None or np.isfinite(v) for v in m.values())
