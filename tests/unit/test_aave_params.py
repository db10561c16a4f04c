"""basiskit/configs/venues/aave_v3_ethereum.yaml must carry the reserve parameters of the data's params snapshot."""

from __future__ import annotations

import csv

import pytest

from basiskit.engine.assembly import load_venue_config
from basiskit.config.modes import parse_shock

from groundtruth import one


def _pct(text: str) -> float:
    return float(text.strip().rstrip("%")) / 100


def test_reserve_parameters_match_the_params_snapshot(source_dir):
    with one(source_dir, "aave_v3/params/aave_v3_ethereum_reserve_params_*.csv").open(encoding="utf-8-sig") as fh:
        rows = {r[""]: r for r in csv.DictReader(fh)}
    reserves = load_venue_config("aave_v3").aave.reserves
    assert set(reserves) == {"WETH", "wstETH", "weETH", "USDT"}
    for tok, p in reserves.items():
        assert p.ltv == pytest.approx(_pct(rows["LTV"][tok]))
        assert p.liquidation_threshold == pytest.approx(_pct(rows["Liquidation Threshold"][tok]))
        assert p.liquidation_bonus == pytest.approx(_pct(rows["Liquidation Bonus"][tok]))
        assert p.reserve_factor == pytest.approx(_pct(rows["Reserve Factor"][tok]))


def test_emode_parameters_in_force_in_2025_are_the_documented_ones():
    periods = load_venue_config("aave_v3").aave.emode_categories["eth_correlated"]
    last = max(periods, key=lambda p: p.start)
    assert (last.ltv, last.liquidation_threshold, last.liquidation_bonus) == (0.93, 0.95, 0.01)
    assert all(p.source.startswith("https://") for p in periods)


def test_shock_text_parses_or_names_the_expected_form():
    assert parse_shock("eth_price:-0.3@2024-06-10T00:00") == {"kind": "eth_price", "change": -0.3, "at": "2024-06-10T00:00"}
    assert parse_shock("borrow_rate:x4@2024-06-10/24h") == {"kind": "borrow_rate", "multiplier": 4.0, "at": "2024-06-10",
                                                            "token": "WETH", "hours": 24.0}
    with pytest.raises(ValueError, match="expected eth_price"):
        parse_shock("eth_price@2024")
