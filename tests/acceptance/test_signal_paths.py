"""One signal engine, two paths: on the real LUNC book tickers and on hourly BTC spot vs perp bars, the
engine path (each event through the kernel, fills by the venues) and the vectorised path (the same
compiled rules over arrays, the same fill rule) give identical signals and identical trades; the engine
runs reconcile (attribution sums to the equity change) through ``basiskit``'s own backtest entry point."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from basiskit.data.book_frame import align_books
from basiskit.domain.time import to_ns
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.tick_backtest import load_streams
from basiskit.strategies.registry import load_mode_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from signal_paths import MODES, both_paths, compare  # noqa: E402

LUNC = ("2025-10-11T04:18:00", "2025-10-11T05:52:00")  # the MEXC / Gate.io overlap
BTC = ("2024-01-01", "2024-12-31")
BTC_COMMON = {"base": "BTC", "spot_venue": "binance", "perp_venue": "binance", "spot_dataset": "spot.binance.BTCUSDT",
              "perp_dataset": "perp.binance.BTCUSDT", "latency_ms": 0, "warmup_events": 50, "ewm_alpha": 0.05}
BTC_OVERRIDES = {  # the hourly BTC basis: -6..+11 bps (1st-99th pct), rolling sd 0.6..5 bps
    "signal_reverse_delta_neutral": {"entry_bps": -1.0, "entry_z": 1.5, "exit_bps": -3.0, "max_holding_s": 172800,
                                     "stop_loss_bps": 10.0, "profit_target_bps": 6.0, "notional_usd": 10000},
    "signal_inventory_arbitrage": {"inventory_usd": 20000, "clip_usd": 2000, "min_edge_bps": 3.0,
                                   "rebalance_band_bps": 4.0},
    "signal_volatility_harvesting": {"vol_low_bps": 1.0, "vol_high_bps": 2.5, "tier_notional_usd": 5000},
}


@pytest.fixture(scope="module")
def lunc_frame(catalog):
    cfg = load_mode_config(MODES[0])
    return align_books(load_streams(cfg, catalog, to_ns(LUNC[0]), to_ns(LUNC[1])))


@pytest.mark.parametrize("mode", MODES)
def test_lunc_ticks_same_signals_and_trades(mode, lunc_frame):
    eng, sim, vec = both_paths(mode, lunc_frame)
    res = compare(eng, sim, vec)
    assert len(vec.signals) >= 20 and len(vec.trades) >= 40, "the test must exercise trades"
    assert res == {"signals": 0, "trades": 0, "refused": 0, "sizing_capped": 0, "expired": 0,
                   "failed_orders": 0}
    # every fill is at the opposite side of the venue's latest book at the fill time (>= 50 ms after its
    # decision), read from the file's rows -- never a crossed or invented price
    for ts, account, side, q, price, fee in vec.trades:
        series = lunc_frame.series["ticks.mexc.spot.LUNCUSDT" if account == "mexc.spot" else "ticks.gateio.perp.LUNCUSDT"]
        k = int(series.ts.searchsorted(ts, "right")) - 1
        assert price == (series.ask[k] if side == "buy" else series.bid[k])
    # the engine's orders: accepted at the decision, filled at the first event >= 50 ms later
    accepted = {e.client_order_id: e.timestamp for e in sim.loop.events
                if getattr(e, "kind", "") == "order_status" and e.status == "accepted"}
    fills = [t for t in sim.loop.trades if t.ok]
    assert fills and all(t.timestamp - accepted[t.order.client_order_id] >= 50_000_000 for t in fills)
    ts = lunc_frame.ts
    for t in fills:  # and not later than that first event
        k = int(ts.searchsorted(accepted[t.order.client_order_id] + 50_000_000, "left"))
        assert t.timestamp == ts[k]


@pytest.mark.parametrize("mode", MODES)
def test_hourly_btc_same_signals_and_trades(mode, catalog):
    cfg = load_mode_config(mode, {**BTC_COMMON, **BTC_OVERRIDES[mode]})
    frame = align_books(load_streams(cfg, catalog, to_ns(BTC[0]), to_ns(BTC[1])))
    assert len(frame) > 17_000  # two hourly series, traded bars only (Binance's gap hours are not books)
    eng, sim, vec = both_paths(mode, frame, {**BTC_COMMON, **BTC_OVERRIDES[mode]})
    res = compare(eng, sim, vec)
    assert len(vec.signals) >= 10, "the test must exercise trades"
    assert res == {"signals": 0, "trades": 0, "refused": 0, "sizing_capped": 0, "expired": 0,
                   "failed_orders": 0}


@pytest.mark.parametrize("mode", MODES)
def test_backtest_on_ticks_reconciles(mode, catalog):
    out = run_backtest(BacktestRequest(mode, *LUNC, 100_000.0), catalog)
    s = out.summary
    rec = s["reconciliation"]
    assert abs(rec["difference"]) <= rec["tolerance"]
    assert abs(sum(s["attribution"].values()) - (s["final_equity"] - s["initial_equity"])) < 0.01
    assert s["trades"] > 0 and s["failed_orders"] == 0
    assert s["book_tickers"]["events"] == 15_038  # the overlap's MEXC and Gate.io updates, each a step
    assert s["attribution"]["fees"] < 0 and s["attribution"].get("funding", 0.0) == 0.0  # no funding in tick files


def test_bad_input_on_tick_runs_is_named(catalog):
    from basiskit.config.loader import ConfigError
    from basiskit.data.errors import DataError
    from basiskit.engine.backtest import BacktestInputError

    mode = MODES[0]
    with pytest.raises(BacktestInputError, match="deposits and withdrawals are not supported"):
        run_backtest(BacktestRequest(mode, *LUNC, 1e5, deposits=(("2025-10-11T05:00:00", 10.0),)), catalog)
    with pytest.raises(DataError, match="no book in the period") as err:  # the tick files cover 2025-10-11 only
        run_backtest(BacktestRequest(mode, "2025-10-12", "2025-10-13", 1e5), catalog)
    assert err.value.key == "ticks.mexc.spot.LUNCUSDT"
    with pytest.raises(ConfigError, match="entry_bpss"):
        run_backtest(BacktestRequest(mode, *LUNC, 1e5, overrides={"entry_bpss": 1.0}), catalog)
    with pytest.raises(DataError, match="ticks.nowhere"):
        run_backtest(BacktestRequest(mode, *LUNC, 1e5, overrides={"spot_dataset": "ticks.nowhere"}), catalog)
