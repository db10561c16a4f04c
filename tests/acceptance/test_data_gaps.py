"""Never trade on a price that did not exist: Binance's 15 missing days against the raw files.

Over the whole btc_basis and eth_basis periods: no order fills at an hour the venue's raw file lacks,
the stale hours the summary reports are exactly the hours the raw files miss, every deferred decision
falls in such an hour, and the drawdown minimum is not inside a gap (the gap is valued from the other
venue, so it leaves no artefact in the equity curve).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.results.metrics import twr_index

from groundtruth import one, parse_ts, read_rows

HOUR = timedelta(hours=1)


def missing_hours(source_dir, pattern: str, start: datetime, end: datetime) -> set[datetime]:
    have = {parse_ts(r["timestamp"]) for r in read_rows(one(source_dir, pattern))}
    out, t = set(), start
    while t <= end:
        if t not in have:
            out.add(t)
        t += HOUR
    return out


@pytest.mark.parametrize("mode,asset,end", [("btc_basis", "BTC", "2025-09-29"), ("eth_basis", "ETH", "2025-09-25")])
def test_no_fill_at_a_price_that_did_not_exist(catalog, source_dir, mode, asset, end):
    out = run_backtest(BacktestRequest(mode, "2024-01-01", end, 100_000.0), catalog)
    s = out.summary
    start, stop = parse_ts("2024-01-01T00:00:00Z"), parse_ts(f"{end}T00:00:00Z")
    gaps = {
        f"{venue}.{kind}": missing_hours(source_dir, f"cex/{kind}/{venue}_{asset}USDT_{kind}_1h_*.csv", start, stop)
        for venue, kind in (("binance", "perp"), ("bybit", "perp"), ("bybit", "spot"))
    }
    assert len(gaps["binance.perp"]) == 345 and not gaps["bybit.perp"] and not gaps["bybit.spot"]
    for account, hours in gaps.items():
        assert s["stale_hours"][account] == pytest.approx(len(hours))
    filled = [tr for tr in out.loop.trades if tr.ok and tr.order.operation.value in ("perp_trade", "spot_trade")]
    assert filled
    for tr in filled:
        when = datetime.fromtimestamp(tr.timestamp / 1e9, tz=start.tzinfo)
        assert when not in gaps[tr.order.venue], f"{tr.order.venue} filled at {when}, an hour its data lacks"
    for e in out.loop.events:
        if e.kind == "decision_deferred":
            when = datetime.fromtimestamp(e.timestamp / 1e9, tz=start.tzinfo)
            assert when in gaps["binance.perp"], e.data
    assert s["decisions_deferred"] == sum(1 for e in out.loop.events if e.kind == "decision_deferred")
    # the drawdown minimum is at an hour with real prices on every venue
    eq = np.asarray(out.view.equity)
    idx = twr_index(eq, np.asarray(out.view.net_deposits), 100_000.0)
    dd = idx / np.maximum.accumulate(np.concatenate(([1.0], idx)))[1:] - 1.0
    worst = datetime.fromtimestamp(out.loop.times[int(np.argmin(dd))] / 1e9, tz=start.tzinfo)
    assert worst not in gaps["binance.perp"] and worst - HOUR not in gaps["binance.perp"]
    assert s["max_drawdown"] == pytest.approx(float(dd.min()), rel=1e-12)
    # every gap of the period was valued from the other venue's perp
    assert {g["reference"] for g in s["gap_valuations"]} == {f"perp.bybit.{asset}USDT"}
    assert sum(g["bars"] for g in s["gap_valuations"]) == 345
