"""Messy book-ticker streams (hypothesis): duplicates, rows out of order, gaps and crossed books give the
same signals and the same trades on the engine path and the vectorised path, for the three signal modes.

Streams are built from stated rules, not market data: a spot mid random walk (steps of +-step_bps), a perp
mid that follows it with its own premium walk, half-spreads of 1..20 bps, then defects injected at drawn
rows: an exact duplicate, a row moved earlier in the file, a gap (every row in a window dropped), a
crossed book (bid and ask swapped and pushed apart)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings, strategies as st

from basiskit.data.book_frame import align_books
from basiskit.data.ticks import BookTickerSeries

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from signal_paths import MODES, both_paths, compare  # noqa: E402

SPOT, PERP = "ticks.mexc.spot.LUNCUSDT", "ticks.gateio.perp.LUNCUSDT"
T0 = 1_760_000_000_000_000_000
OVERRIDES = {  # small warm-ups and thresholds the generated spreads cross
    "signal_reverse_delta_neutral": {"warmup_events": 10, "entry_bps": -40.0, "entry_z": 0.5, "exit_bps": 0.0,
                                     "max_holding_s": 30.0, "stop_loss_bps": 30.0, "profit_target_bps": 20.0},
    "signal_inventory_arbitrage": {"warmup_events": 5, "min_edge_bps": 2.0, "rebalance_band_bps": 30.0},
    "signal_volatility_harvesting": {"warmup_events": 10, "vol_low_bps": 5.0, "vol_high_bps": 15.0,
                                     "tier_step_z": 0.5},
}


def _stream(key, rng, n, mid0, drift_bps, half_bps, defects) -> BookTickerSeries:
    ts = T0 + np.cumsum(rng.integers(1, 2_000_000_000, n))
    mid = mid0 * np.exp(np.cumsum(rng.normal(0, drift_bps * 1e-4, n)))
    half = mid * rng.uniform(1, half_bps, n) * 1e-4
    bid, ask = mid - half, mid + half
    size = rng.uniform(1, 1e6, n)
    rows = list(zip(ts.tolist(), bid.tolist(), size.tolist(), ask.tolist(), size.tolist()))
    dup, late, gap, cross = defects
    for i in dup:
        rows.insert(min(i, len(rows)), rows[min(i, len(rows) - 1)])
    for i in cross:
        t, b, bs, a, as_ = rows[i % len(rows)]
        rows[i % len(rows)] = (t, a * 1.001, bs, b, as_)  # bid above ask
    for i in late:
        j = i % len(rows)
        rows.insert(max(0, j - 5), rows.pop(j))  # a row arrives 5 rows early in the file: out of order
    if gap:
        lo = gap % len(rows)
        rows = rows[:lo] + rows[lo + max(1, len(rows) // 10):]
    a = np.array(rows, dtype=np.float64)
    return BookTickerSeries(key, np.array([r[0] for r in rows], dtype=np.int64), a[:, 1], a[:, 2], a[:, 3], a[:, 4],
                            np.zeros(len(rows), dtype=np.int64))


defect_lists = st.lists(st.integers(0, 10_000), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_spot=st.integers(50, 400), n_perp=st.integers(50, 400),
       drift=st.floats(1.0, 30.0), premium=st.floats(-50.0, 50.0),
       dups=defect_lists, lates=defect_lists, crosses=defect_lists, gap=st.integers(0, 10_000),
       latency_ms=st.sampled_from([0.0, 50.0, 1500.0]))
def test_messy_streams_same_signals_and_trades(seed, n_spot, n_perp, drift, premium, dups, lates, crosses, gap,
                                               latency_ms):
    rng = np.random.default_rng(seed)
    spot = _stream(SPOT, rng, n_spot, 3.5e-5, drift, 10, (dups, lates, 0, crosses))
    perp = _stream(PERP, rng, n_perp, 3.5e-5 * (1 + premium * 1e-4), drift, 20, (dups[::-1], lates, gap, crosses[::2]))
    frame = align_books([spot, perp])
    for mode in MODES:
        eng, sim, vec = both_paths(mode, frame, {**OVERRIDES[mode], "latency_ms": latency_ms})
        res = compare(eng, sim, vec)
        assert res["refused"] == res["sizing_capped"] == res["expired"] == 0
        assert (res["signals"], res["trades"]) == (0, 0), (mode, res)
        event(f"{mode}: {'trades' if vec.trades else 'no trades'}")
        if mode == "signal_inventory_arbitrage":
            assert vec.trades, "inventory is bought once both books exist: every stream trades"
        # a fill is never at a crossed book: the price is the ask (buy) or bid (sell) of a valid update
        for ts, account, side, q, price, fee in vec.trades:
            s = spot if account.endswith(".spot") else perp
            ok = s.valid & (s.ask == price if side == "buy" else s.bid == price)
            assert ok.any()


def test_the_generator_makes_the_defects_it_claims():
    rng = np.random.default_rng(1)
    s = _stream(SPOT, rng, 100, 3.5e-5, 5, 10, ([10, 20], [50], 30, [70]))
    from basiskit.data.ticks import inspect
    rep = inspect(s, SPOT, "generated")
    assert rep.duplicates >= 1 and rep.out_of_order >= 1 and rep.crossed >= 1
    assert len(s) < 100  # the gap removed rows
