"""LST modes on the real data, reconciled with the raw CSVs (read with the csv module)."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from basiskit.config.loader import configs_dir
from basiskit.engine.backtest import BacktestRequest, run_backtest

from groundtruth import one, parse_ts, read_rows, value_at

LST_MODES = ["eth_staking_only", "eth_leveraged", "eth_leveraged_restaking", "usdt_market_neutral_no_leverage",
             "usdt_market_neutral"]
# whole period the LST modes can run: weETH/wstETH oracles start 2024-05-12 01:00, ETH perps end 2025-09-25 23:00
WHOLE = ("2024-05-13", "2025-09-25")


def _series(source_dir, pattern: str, col: str) -> dict[datetime, float]:
    return {parse_ts(r["timestamp"]): float(r[col]) for r in read_rows(one(source_dir, pattern))}


def _venue_yaml(name: str) -> dict:
    return yaml.safe_load((configs_dir() / "venues" / f"{name}.yaml").read_text())


def test_eth_staking_only_earns_the_weeth_rate_ratio_less_gas(catalog, source_dir):
    start, end = datetime(2024, 5, 13, tzinfo=timezone.utc), datetime(2025, 9, 18, tzinfo=timezone.utc)
    capital = 100.0  # ETH
    s = run_backtest(BacktestRequest("eth_staking_only", "2024-05-13", "2025-09-18", capital), catalog).summary
    rate = _series(source_dir, "aave_v3/oracle/weETH_ETH_oracle_*.csv", "oracle_price_eth")
    gwei = value_at(read_rows(one(source_dir, "ethereum/gas/ethereum_gas_prices_1h_*.csv")), "timestamp", start, "gas_price_gwei")
    gas_eth = _venue_yaml("etherfi")["staking"]["gas_units"]["stake"] * gwei * 1e-9
    reserve = yaml.safe_load((configs_dir() / "modes" / "eth_staking_only.yaml").read_text())["gas_reserve_eth"]
    staked = capital - reserve
    r0, r1 = rate[start], rate[end]
    expected = staked * r1 / r0 + reserve - gas_eth
    assert s["share_class"] == "ETH"
    assert s["final_equity"] == pytest.approx(expected, rel=1e-9)
    assert s["total_return"] == pytest.approx(expected / capital - 1, rel=1e-9)
    assert s["attribution"]["staking"] == pytest.approx(staked / r0 * (r1 - r0), rel=1e-9)
    assert s["attribution"]["gas"] == pytest.approx(-gas_eth, rel=1e-9)
    assert abs(s["attribution"]["price_basis"]) < 1e-9 * capital  # ETH price moves cancel in ETH terms
    assert s["trades"] == 1


def _reward_rows(source_dir):
    with one(source_dir, "staking/restaking_rewards/etherfi_seasonal_rewards_*.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_restaking_rewards_are_credited_per_eeth_held_on_their_payout_dates(catalog, source_dir, tmp_path):
    """weETH held constant (no dust sales): each exact EIGEN/ETHFI row pays per_eeth x the time-weighted eETH
    held over its window, on its payout date; the ETH return is the rate part plus the rewards less gas."""
    req = BacktestRequest("eth_staking_only", "2024-08-01", "2025-03-01", 100.0,
                          overrides={"rewards": "base_and_restaking", "dust_delta": 1.0})
    out = run_backtest(req, catalog)
    s = out.summary
    rate = _series(source_dir, "aave_v3/oracle/weETH_ETH_oracle_*.csv", "oracle_price_eth")
    t0 = datetime(2024, 8, 1, tzinfo=timezone.utc)
    t_end = datetime(2025, 3, 1, tzinfo=timezone.utc)
    reserve = 0.05
    weeth = (100.0 - reserve) / rate[t0]
    credits = [e for e in out.loop.events if e.kind == "restaking_reward"]
    expected = []
    for row in _reward_rows(source_dir):
        kind = row["reward_type"]
        if kind not in ("EIGEN_via_KING", "ETHFI_via_KING"):
            continue  # estimates are off by default
        start = parse_ts(row["period_start"] + "T00:00:00+00:00")
        end = parse_ts(row["period_end"] + "T00:00:00+00:00") + timedelta(days=1)
        payout = parse_ts(row["payout_date"] + "T00:00:00+00:00")
        window_end = min(end, payout) if min(end, payout) > start else end
        credit_at = max(payout, window_end)
        if credit_at > t_end or window_end <= t0:
            continue
        per_eeth = (float(row["eigen_per_eeth_weekly"]) * (end - start).days / 7 if kind == "EIGEN_via_KING"
                    else float(row["ethfi_per_eeth"]))
        hours = int((window_end - start).total_seconds() // 3600)
        held = 0.0  # interval [h-1, h) is held with the rate read at h (the step that accrues it)
        for k in range(1, hours + 1):
            h = start + timedelta(hours=k)
            if h - timedelta(hours=1) >= t0:
                held += weeth * rate[h]
        expected.append((credit_at, "EIGEN" if kind.startswith("EIGEN") else "ETHFI", per_eeth * held / hours))
    expected.sort()
    got = sorted((datetime.fromtimestamp(e.timestamp / 1e9, tz=timezone.utc), e.data["token"], e.data["amount"])
                 for e in credits)
    assert len(got) == len(expected) > 10
    for (t_g, tok_g, a_g), (t_e, tok_e, a_e) in zip(got, expected):
        assert (t_g, tok_g) == (t_e, tok_e)
        assert a_g == pytest.approx(a_e, rel=1e-9)
    # ETH-denominated: rate part + rewards (valued at their pools at the end) - gas
    pools = {t: _series_unix(source_dir, f"dex/uniswapv3_{t}WETH_1h_*.csv") for t in ("EIGEN", "ETHFI")}
    reward_value = sum(a * pools[tok][t_end] for _, tok, a in got)
    gas_eth = -s["attribution"]["gas"]
    assert s["final_equity"] == pytest.approx(weeth * rate[t_end] + reserve - gas_eth + reward_value, rel=1e-9)
    credited_eth = sum(e.data["usd"] for e in credits)  # USD at credit ...
    assert s["attribution"]["restaking_rewards"] > 0 and credited_eth > 0


def _series_unix(source_dir, pattern: str) -> dict[datetime, float]:
    return {parse_ts(r["timestamp"]): float(r["open"]) for r in read_rows(one(source_dir, pattern))}


@pytest.mark.parametrize("mode", LST_MODES)
def test_every_lst_mode_runs_over_the_whole_period_and_reconciles(catalog, mode):
    share = "USDT" if mode.startswith("usdt") else "ETH"
    capital = 100_000.0 if share == "USDT" else 50.0
    out = run_backtest(BacktestRequest(mode, *WHOLE, capital), catalog)
    s = out.summary
    assert s["share_class"] == share
    assert s["steps"] == 12001
    tol = s["reconciliation"]["tolerance"]
    assert abs(s["reconciliation"]["difference"]) <= tol
    assert math.isclose(sum(s["attribution"].values()), s["final_equity"] - capital - s["net_deposits"], abs_tol=tol)
    assert s["liquidations"] == 0
    assert s["failed_orders"] == 0
    assert s["total_return"] > 0
    if mode == "eth_leveraged_restaking":
        assert s["attribution"]["restaking_rewards"] > 0
        sold = {tr.order.token for tr in out.loop.trades if tr.ok and tr.order.reason == "sell reward tokens"}
        assert sold == {"EIGEN", "ETHFI"}
        entry = [tr for tr in out.loop.trades if tr.timestamp == out.loop.times[0]]
        assert {tr.order.atomic_group_id for tr in entry} == {entry[0].order.atomic_group_id}  # one flash-loan transaction


def test_usdt_market_neutral_keeps_net_eth_delta_within_its_threshold(catalog, tmp_path):
    from basiskit import service

    run = service.backtest(BacktestRequest("usdt_market_neutral", *WHOLE, 100_000.0), out_dir=tmp_path / "umn",
                           catalog=catalog)
    threshold = run.outcome.config.delta_drift_threshold
    with (tmp_path / "umn" / "equity.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {"ltv", "health_factor", "net_delta", "margin_ratio_binance", "margin_ratio_bybit"} <= set(rows[0])
    drift = [abs(float(r["net_delta"])) / float(r["equity"]) for r in rows]
    above = [k for k, d in enumerate(drift) if d > threshold]
    # a breach is fixed by the rebalance of the step that sees it: never two steps in a row
    assert not any(k + 1 in above for k in above), [rows[k]["timestamp"] for k in above][:5]
    assert len(above) <= len(rows) * 0.01
    ltv = [float(r["ltv"]) for r in rows[1:]]
    target, band = run.outcome.config.target_ltv, run.outcome.config.ltv_band
    assert max(ltv) <= target + band + 0.01
    assert json.loads((tmp_path / "umn" / "summary.json").read_text())["reconciliation"]["difference"] <= 0.01


@pytest.mark.parametrize("mode", ["eth_staking_only", "eth_leveraged"])
def test_eth_share_class_deposits_and_withdrawals_reconcile_in_eth(catalog, mode):
    req = BacktestRequest(mode, "2024-06-01", "2024-09-01", 100.0, deposits=(("2024-07-01", 10.0),),
                          withdrawals=(("2024-08-01", 20.0),))
    s = run_backtest(req, catalog).summary
    assert s["net_deposits"] == pytest.approx(-10.0)  # ETH: paid in full
    assert sum(s["attribution"].values()) == pytest.approx(s["final_equity"] - 100.0 + 10.0, abs=s["reconciliation"]["tolerance"])
    assert 0 < s["total_return"] < 0.05


def test_the_loop_s_venues_come_from_the_config(catalog):
    """The AAVE and staking accounts are config (``lending_venue``, ``staking_venue``), not names in the
    strategy: the same venue file under another account name gives the same run, its trades on that
    account; an unknown venue is a config error naming the missing venue file."""
    from basiskit.config.loader import ConfigError

    req = BacktestRequest("eth_leveraged", "2024-06-01", "2024-07-01", 50.0)
    base = run_backtest(req, catalog)
    renamed = run_backtest(BacktestRequest(req.mode, req.start, req.end, req.capital, overrides={
        "lending_venue": "aave_v3_ethereum", "staking_venue": "etherfi"}), catalog)
    assert renamed.summary["final_equity"] == pytest.approx(base.summary["final_equity"], rel=1e-12)
    venues = {t.order.venue for t in renamed.loop.trades}
    assert "aave_v3_ethereum" in venues and "aave_v3" not in venues
    with pytest.raises(ConfigError, match="aave_v4.yaml"):
        run_backtest(BacktestRequest(req.mode, req.start, req.end, req.capital, overrides={"lending_venue": "aave_v4"}),
                     catalog)
