"""Perp liquidation as harsh as the market, checked against the raw candles.

A 2x BTC short with rebalancing off (btc_basis, perp_margin_fraction 0.5) is liquidated on the first
hourly bar whose high takes the margin balance below the maintenance margin -- computed here from
the raw perp and funding files with the csv module -- at the price where the two are equal, and the
liquidation line of the attribution is never a gain.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from basiskit.config.loader import configs_dir
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.results.export import write_trades

from groundtruth import one, parse_ts, read_rows

HOUR = timedelta(hours=1)


def raw_bars(source_dir, venue: str, reference: str) -> dict[datetime, tuple[float, float]]:
    """(open, high) per hour from the raw file; hours the file misses are priced by the gap rule
    (data.gap_reference): last close before the gap x the reference venue's open/high / its open at the
    gap's first hour."""
    own = {parse_ts(r["timestamp"]): r for r in read_rows(one(source_dir, f"cex/perp/{venue}_BTCUSDT_perp_1h_*.csv"))}
    ref = {parse_ts(r["timestamp"]): r for r in read_rows(one(source_dir, f"cex/perp/{reference}_BTCUSDT_perp_1h_*.csv"))}
    out = {t: (float(r["open"]), float(r["high"])) for t, r in own.items()}
    t, end = min(own), max(own)
    while t <= end:
        if t not in own:
            first = t
            while first - HOUR not in own:
                first -= HOUR
            scale = float(own[first - HOUR]["close"]) / float(ref[first]["open"])
            out[t] = (float(ref[t]["open"]) * scale, float(ref[t]["high"]) * scale)
        t += HOUR
    return out


@pytest.mark.parametrize("venue,reference", [("binance", "bybit"), ("bybit", "binance")])
def test_short_is_liquidated_on_the_first_bar_whose_high_breaches_maintenance(catalog, source_dir, tmp_path,
                                                                               venue, reference):
    out = run_backtest(BacktestRequest("btc_basis", "2024-01-01", "2024-06-01", 100_000.0,
                                       overrides={"rebalance": False}), catalog)
    write_trades(tmp_path / "trades.csv", out.loop.trades)
    rows = list(csv.DictReader((tmp_path / "trades.csv").open()))
    account = f"{venue}.perp"
    (entry,) = [r for r in rows if r["venue"] == account and r["operation"] == "perp_trade"]
    landed = sum(float(r["amount"]) for r in rows if r["operation"] == "transfer" and r["to_venue"] == account)
    size, price, fee = -float(entry["amount"]), float(entry["price"]), float(entry["fee"])
    t_entry = parse_ts(entry["timestamp"])
    mmr = yaml.safe_load((configs_dir() / "venues" / f"{venue}.yaml").read_text())["perp"]["maintenance_margin_rate"]
    bars = raw_bars(source_dir, venue, reference)
    funding = sorted((parse_ts(r["funding_timestamp"]), float(r["funding_rate"]))
                     for r in read_rows(one(source_dir, f"cex/funding/{venue}_BTCUSDT_funding_rates_*.csv")))

    # walk the bars: before bar b (opened at t) is checked at t + 1h, every settlement up to t is paid
    collateral = landed - fee
    paid = [f for f in funding if f[0] <= t_entry]
    k = len(paid)
    t = t_entry
    expected = None
    while expected is None:
        while k < len(funding) and funding[k][0] <= t:
            ft, rate = funding[k]
            collateral += -size * bars[ft][0] * rate
            k += 1
        high = bars[t][1]
        if collateral + size * (high - price) < mmr * abs(size) * high:
            expected = t
        t += HOUR
    liquidations = [e for e in out.loop.events if e.kind == "liquidation" and e.component == account]
    assert liquidations, f"{account} was never liquidated"
    ev = liquidations[0].data
    assert ev["trigger"] == "intrabar"
    assert parse_ts(ev["bar_open"]) == expected, "liquidated on the first bar whose high breaches, not later"
    # the liquidation price: where margin balance = maintenance margin (a straight path from the open)
    p_liq = ev["liquidation_prices"]["BTC"]
    assert bars[expected][0] < p_liq <= bars[expected][1]
    # at that price the account holds exactly its maintenance margin (the collateral then includes the
    # funding of the settlements before the bar, as the walk above)
    c_at = landed - fee + sum(-size * bars[ft][0] * rate for ft, rate in funding if t_entry < ft <= expected)
    assert c_at + size * (p_liq - price) == pytest.approx(mmr * abs(size) * p_liq, rel=1e-9)
    by_venue = out.summary["attribution_by_venue"][account]
    assert by_venue["liquidation"] <= 0.0
    assert by_venue["liquidation"] == pytest.approx(-ev["fee_charged_usd"])
    assert out.summary["attribution"]["liquidation"] <= 0.0
