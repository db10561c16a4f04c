"""Helpers of the signal-engine equivalence tests: run a signal mode both ways on one BookFrame."""

from __future__ import annotations

from basiskit.engine.signal_vector import TRADE_RTOL, mismatches, run_vectorised, signals_of, trades_of
from basiskit.engine.tick_backtest import simulate_ticks
from basiskit.strategies.registry import build_strategy, load_mode_config

MODES = ("signal_reverse_delta_neutral", "signal_inventory_arbitrage", "signal_volatility_harvesting")


def both_paths(mode: str, frame, overrides: dict | None = None, capital: float = 1e7):
    """(engine strategy, engine simulation, vectorised result) of ``mode`` on ``frame``."""
    cfg = load_mode_config(mode, overrides or {})
    engine_strategy = build_strategy(cfg)
    sim = simulate_ticks(cfg, engine_strategy, frame, capital)
    vec = run_vectorised(build_strategy(cfg), frame)
    return engine_strategy, sim, vec


def compare(engine_strategy, sim, vec) -> dict:
    """Mismatch counts of signals and trades, with the engine path's refusals and capped sizes."""
    return {"signals": mismatches(signals_of(engine_strategy), vec.signals),
            "trades": mismatches(trades_of(sim.loop.trades), vec.trades, TRADE_RTOL),
            "refused": engine_strategy.refused, "sizing_capped": engine_strategy.sizing_capped,
            "expired": engine_strategy.expired,
            "failed_orders": sum(1 for t in sim.loop.trades if not t.ok)}
