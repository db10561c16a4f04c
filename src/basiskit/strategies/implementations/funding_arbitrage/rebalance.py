"""Rebalance sub-strategies: pure functions of a :class:`~.models.PairView`, behind one interface.

Each rule is ``rule(view) -> RebalanceSignal | None`` (None: keep the pair). :func:`make_rule` is the
factory from a rule config (``config.RuleConfig``).

* ``profit_erosion``: the spread APR fell below ``fraction`` x the spread APR at entry (entry > 0) -> close;
* ``divergence_flip``: the spread APR fell below ``min_spread_apr`` (default 0: it changed sign) -> switch
  to the reversed pair (opened only if it clears the entry threshold);
* ``better_opportunity``: another pair's spread APR beats the current one by more than the switching
  cost APR plus ``hysteresis_apr`` -> switch to it (the hysteresis keeps two close pairs from being
  swapped back and forth);
* ``time_based``: held for ``max_hold_days`` or longer -> close (and re-evaluate);
* ``combined``: every rule; of those that fire, the one of lowest ``priority`` (ties: list order).
"""

from __future__ import annotations

from typing import Callable

from basiskit.strategies.implementations.funding_arbitrage.config import (BetterOpportunityConfig, CombinedConfig,
                                                                          DivergenceFlipConfig, ProfitErosionConfig,
                                                                          TimeBasedConfig)
from basiskit.strategies.implementations.funding_arbitrage.models import PairView, RebalanceSignal

Rule = Callable[[PairView], "RebalanceSignal | None"]


def profit_erosion(view: PairView, fraction: float) -> RebalanceSignal | None:
    if view.entry_spread_apr > 0 and view.spread_apr < fraction * view.entry_spread_apr:
        return RebalanceSignal("close", "profit_erosion",
                               f"spread {view.spread_apr:.4f} APR below {fraction} x entry {view.entry_spread_apr:.4f}")
    return None


def divergence_flip(view: PairView, min_spread_apr: float = 0.0) -> RebalanceSignal | None:
    if view.spread_apr < min_spread_apr:
        return RebalanceSignal("switch", "divergence_flip",
                               f"spread {view.spread_apr:.4f} APR below {min_spread_apr}: reverse the pair",
                               view.pair.reversed())
    return None


def better_opportunity(view: PairView, hysteresis_apr: float) -> RebalanceSignal | None:
    if view.best_alt is None:
        return None
    alt, alt_apr = view.best_alt
    gain = alt_apr - view.spread_apr
    if gain > view.switch_cost_apr + hysteresis_apr:
        return RebalanceSignal("switch", "better_opportunity",
                               f"{alt} at {alt_apr:.4f} APR beats {view.spread_apr:.4f} by {gain:.4f} > switching "
                               f"cost {view.switch_cost_apr:.4f} + hysteresis {hysteresis_apr}", alt)
    return None


def time_based(view: PairView, max_hold_days: float) -> RebalanceSignal | None:
    if view.held_s >= max_hold_days * 86_400:
        return RebalanceSignal("close", "time_based", f"held {view.held_s / 86_400:.1f} days >= {max_hold_days}")
    return None


def combined(view: PairView, rules: list[tuple[int, Rule]]) -> RebalanceSignal | None:
    fired = [(prio, k, sig) for k, (prio, rule) in enumerate(rules) if (sig := rule(view)) is not None]
    return min(fired, key=lambda x: (x[0], x[1]))[2] if fired else None


def make_rule(cfg) -> Rule:
    """The rule of a config (``ProfitErosionConfig``, ..., ``CombinedConfig``).

    Raises:
        TypeError: an unknown config type.
    """
    if isinstance(cfg, ProfitErosionConfig):
        return lambda v: profit_erosion(v, cfg.fraction)
    if isinstance(cfg, DivergenceFlipConfig):
        return lambda v: divergence_flip(v, cfg.min_spread_apr)
    if isinstance(cfg, BetterOpportunityConfig):
        return lambda v: better_opportunity(v, cfg.hysteresis_apr)
    if isinstance(cfg, TimeBasedConfig):
        return lambda v: time_based(v, cfg.max_hold_days)
    if isinstance(cfg, CombinedConfig):
        parts = [(r.priority, make_rule(r)) for r in cfg.rules]
        return lambda v: combined(v, parts)
    raise TypeError(f"unknown rebalance rule config {type(cfg).__name__}")
