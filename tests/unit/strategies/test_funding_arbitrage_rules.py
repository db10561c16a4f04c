"""funding_arbitrage's rebalance sub-strategies, estimates and config, against hand-computed numbers."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from basiskit.config.loader import ConfigError
from basiskit.strategies.implementations.funding_arbitrage.config import FundingArbConfig, RuleConfig
from basiskit.strategies.implementations.funding_arbitrage.models import (NS_PER_HOUR, FundingEstimate, Pair, PairView,
                                                                          estimate, spread_apr)
from basiskit.strategies.implementations.funding_arbitrage.rebalance import (better_opportunity, combined,
                                                                             divergence_flip, make_rule,
                                                                             profit_erosion, time_based)
from basiskit.strategies.registry import build_strategy, load_mode_config

P = Pair("binance.perp", "bybit.perp")
ALT = Pair("okx.perp", "bybit.perp")
DAY = 86_400


def view(spread=0.05, entry=0.10, held_days=1.0, alt=None, cost=0.0):
    return PairView(P, held_days * DAY, entry, spread, alt, cost)


def test_profit_erosion_fires_below_the_fraction_of_entry():
    # entry 10 % APR, fraction 0.2: the line is 2 % APR
    assert profit_erosion(view(spread=0.019), 0.2).action == "close"
    assert profit_erosion(view(spread=0.021), 0.2) is None
    assert profit_erosion(view(spread=-0.5, entry=0.0), 0.2) is None  # no positive entry: nothing to erode


def test_divergence_flip_reverses_the_pair_when_the_spread_changes_sign():
    sig = divergence_flip(view(spread=-0.001))
    assert sig.action == "switch" and sig.target == Pair("bybit.perp", "binance.perp")
    assert divergence_flip(view(spread=0.0)) is None
    assert divergence_flip(view(spread=0.01), min_spread_apr=0.02).target == P.reversed()


def test_better_opportunity_needs_the_switching_cost_plus_hysteresis():
    # current 5 %, switching cost 3 %, hysteresis 3 %: an alternative must beat it by more than 6 %
    assert better_opportunity(view(alt=(ALT, 0.12), cost=0.03), 0.03).target == ALT  # gain 7 %
    assert better_opportunity(view(alt=(ALT, 0.11), cost=0.03), 0.03) is None        # gain 6 %: not more
    assert better_opportunity(view(alt=None), 0.0) is None


def test_time_based_closes_after_the_maximum_holding_time():
    assert time_based(view(held_days=60), 60).action == "close"
    assert time_based(view(held_days=59.99), 60) is None


def test_combined_takes_the_fired_rule_of_lowest_priority_then_list_order():
    v = view(spread=-0.01, held_days=90)
    rules = [(40, lambda x: time_based(x, 60)), (10, lambda x: divergence_flip(x))]
    assert combined(v, rules).rule == "divergence_flip"
    tie = [(5, lambda x: time_based(x, 60)), (5, lambda x: divergence_flip(x))]
    assert combined(v, tie).rule == "time_based"
    assert combined(view(), rules) is None


def test_the_factory_builds_each_rule_from_its_config():
    ta = TypeAdapter(RuleConfig)
    rule = make_rule(ta.validate_python({"kind": "combined", "rules": [
        {"kind": "profit_erosion", "fraction": 0.5, "priority": 2},
        {"kind": "better_opportunity", "hysteresis_apr": 0.0, "priority": 1}]}))
    sig = rule(view(spread=0.04, entry=0.10, alt=(ALT, 0.2), cost=0.01))  # both fire: priority 1 wins
    assert sig.rule == "better_opportunity"
    assert make_rule(ta.validate_python({"kind": "time_based", "max_hold_days": 1}))(view(held_days=2)).rule == "time_based"
    assert make_rule(ta.validate_python({"kind": "divergence_flip"}))(view(spread=-1)).rule == "divergence_flip"
    with pytest.raises(ValidationError):
        ta.validate_python({"kind": "profit_erosion", "fraction": 0.3, "typo": 1})
    with pytest.raises(TypeError):
        make_rule(object())


def test_estimates_annualise_with_each_venues_interval():
    # mean of 1e-4 and 3e-4 = 2e-4 per 8 h -> x 1095 = 21.9 % APR; per 4 h -> x 2190
    e8 = estimate("a", [(0, 1e-4), (8 * NS_PER_HOUR, 3e-4)])
    e4 = estimate("b", [(0, 1e-4), (4 * NS_PER_HOUR, 3e-4)])
    assert (e8.apr, e8.interval_h) == (pytest.approx(0.219), 8.0) and e4.apr == pytest.approx(0.438)
    assert estimate("c", []) is None and estimate("c", [(0, 1e-4)]).interval_h == 8.0
    est = {"a": e8, "b": e4}
    assert spread_apr(est, Pair("a", "b")) == pytest.approx(0.219) and spread_apr(est, Pair("a", "x")) is None


def test_mode_config_loads_and_refuses_bad_keys():
    cfg = load_mode_config("funding_arbitrage")
    assert cfg.perp_venues == ["binance", "bybit"] and cfg.rebalance.kind == "combined"
    s = build_strategy(cfg)
    assert s.requirements().perp == {"binance.perp": ["BTC"], "bybit.perp": ["BTC"]} and s.requirements().funding_holes
    with pytest.raises(ConfigError, match="typo"):
        load_mode_config("funding_arbitrage", {"typo": 1})
    with pytest.raises(ConfigError, match="static_pair"):
        load_mode_config("funding_arbitrage", {"static_pair": ["binance", "okx"]})
    with pytest.raises(ConfigError, match="margin_ratio_floor"):
        load_mode_config("funding_arbitrage", {"margin_ratio_floor": 0.6})
    with pytest.raises(ConfigError, match="distinct"):
        load_mode_config("funding_arbitrage", {"perp_venues": ["bybit", "bybit"]})
    with pytest.raises(ValidationError, match="at least 2"):
        FundingArbConfig.model_validate({"mode": "funding_arbitrage", "asset": "BTC", "perp_venues": ["binance"]})


def test_snapshot_and_restore_give_the_same_strategy_state():
    from basiskit.domain.transfer_ops import TransferOperation
    from basiskit.strategies.implementations.funding_arbitrage.models import PositionPair

    s = build_strategy(load_mode_config("funding_arbitrage"))
    s.pair = PositionPair(Pair("binance.perp", "bybit.perp"), 1.5, 10, 0.12, 90_000.0)
    s.target = s.pair.pair
    s.ops["fa-transfer-1"] = TransferOperation("fa-transfer-1", "wallet", "bybit.perp", "USDT", 100.0, "trc20")
    s._cooldown[Pair("bybit.perp", "binance.perp")] = 99
    s._step, s._ids = 42, 1
    s.report["opens"] = 3
    snap = s.snapshot()
    again = build_strategy(load_mode_config("funding_arbitrage"))
    again.restore(snap)
    assert (again.pair, again.target, again.ops, again._cooldown, again._step, again._ids) == \
        (s.pair, s.target, s.ops, s._cooldown, 42, 1)
    assert again.report["opens"] == 3 and again.snapshot() == snap
