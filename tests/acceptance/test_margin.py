"""Margin both ways: excess margin goes back to the yield leg, and transfers cost what they cost.

Idle margin (margin balance above the mode's own target, perp_margin_fraction x notional) is read
back from the run's daily venues.csv -- each perp account's value is its margin balance -- and must
average under 5 % of equity over each mode's whole period.
"""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.assembly import load_venue_config
from basiskit.results.export import write_outcome_venues, write_trades

MODES = [
    ("eth_basis", "2024-01-01", "2025-09-25"),
    ("usdt_market_neutral_no_leverage", "2024-05-13", "2025-09-25"),
    ("usdt_market_neutral", "2024-05-13", "2025-09-25"),
]


@pytest.mark.parametrize("mode,start,end", MODES)
def test_average_idle_margin_is_under_5_percent_of_equity(catalog, tmp_path, mode, start, end):
    out = run_backtest(BacktestRequest(mode, start, end, 100_000.0), catalog)
    k = out.config.perp_margin_fraction
    write_outcome_venues(tmp_path / "venues.csv", out)
    days: dict[str, dict[str, float]] = defaultdict(dict)
    with (tmp_path / "venues.csv").open() as fh:
        for r in csv.DictReader(fh):
            days[r["timestamp"]][r["venue"]] = (float(r["value_usd"]), float(r["perp_notional_usd"] or "nan"))
    shares = []
    for accounts in days.values():
        equity = sum(v for v, _ in accounts.values())
        idle = sum(max(0.0, v - k * abs(n)) for name, (v, n) in accounts.items() if name.endswith(".perp") and n == n)
        shares.append(idle / equity)
    assert len(shares) > 400
    assert sum(shares) / len(shares) < 0.05
    assert out.summary["avg_idle_margin_share"] < 0.05
    assert out.summary["avg_idle_margin_share"] == pytest.approx(sum(shares) / len(shares), abs=0.01)
    assert out.summary["rebalances_by_trigger"].get("margin_ceiling", 0) > 0
    assert out.summary["liquidations"] == 0 and out.summary["failed_orders"] == 0


def test_transfers_pay_the_configured_fee_and_take_their_time(catalog, tmp_path):
    out = run_backtest(BacktestRequest("btc_basis", "2024-03-01", "2024-04-01", 100_000.0), catalog)
    write_trades(tmp_path / "trades.csv", out.loop.trades)
    rows = [r for r in csv.DictReader((tmp_path / "trades.csv").open()) if r["operation"] == "transfer"]
    assert rows
    cfg = {v: load_venue_config(v).transfers["USDT"] for v in ("wallet", "binance", "bybit")}
    for r in rows:
        src, dst = r["venue"].split(".")[0], r["to_venue"].split(".")[0]
        if src == dst:  # between accounts of one exchange: free and instant
            assert float(r["fee"]) == 0.0
            continue
        common = set(cfg[src]) & set(cfg[dst])
        cheapest = min(cfg[src][n].withdrawal_fee for n in common)
        assert float(r["fee"]) == cheapest > 0
    arrivals = [e for e in out.loop.events if e.kind == "transfer_arrived"]
    sent = [r for r in rows if r["venue"].split(".")[0] != r["to_venue"].split(".")[0]]
    assert len(arrivals) == len(sent)  # every cross-venue transfer was in transit before it landed
    fees = sum(float(r["fee"]) for r in rows)
    spot_perp_fees = sum(tr.fee for tr in out.loop.trades if tr.ok and tr.order.side is not None)
    assert out.summary["attribution"]["fees"] == pytest.approx(-(fees + spot_perp_fees), rel=1e-9)
