import numpy as np
import pytest

from basiskit.engine.clock import Clock, ns_to_iso, to_ns
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
    m = compute_metrics(times, eq, np.zeros(hours + 1), 100.0)
    assert m["max_drawdown"] == pytest.approx(-0.10)
    assert m["total_return"] == pytest.approx(0.10)
    assert m["apr"] == pytest.approx(0.10)  # exactly one 365-day year
    assert m["apy"] == pytest.approx(0.10)
