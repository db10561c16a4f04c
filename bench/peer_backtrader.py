"""Side-by-side reference: backtrader (pure-Python peer) on a comparable basis book.

Same real data as ``bench_loop.py``'s btc_basis run (Bybit BTC spot + Binance and Bybit BTC perp
hourly bars from the catalog, 2024-01-01 .. 2025-09-29): one long spot feed and two short perp feeds,
a strategy that checks the hedge every bar. backtrader models no funding, margin accounts or
transfers, so this measures its loop overhead only: a lower bound on what a peer would cost.
Run with ``pip install backtrader`` (not a project dependency).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import backtrader as bt
import pandas as pd

from basiskit.data.catalog import Catalog


class Hedge(bt.Strategy):
    def next(self):
        spot, p1, p2 = self.datas
        if not self.position:
            self.buy(data=spot, size=1.0)
            self.sell(data=p1, size=0.5)
            self.sell(data=p2, size=0.5)
        drift = self.getposition(spot).size + self.getposition(p1).size + self.getposition(p2).size
        if abs(drift) > 0.02:
            self.sell(data=spot, size=drift)


def feed(cat: Catalog, ds: str, start: str, end: str) -> bt.feeds.PandasData:
    df = cat.load(ds).loc[start:end, ["open", "high", "low", "close", "volume"]].copy()
    df.index = df.index.tz_convert(None)
    return bt.feeds.PandasData(dataname=df)


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        cat = Catalog(Path(home))
        cat.import_all(only=["spot.bybit.BTCUSDT", "perp.binance.BTCUSDT", "perp.bybit.BTCUSDT"])
        start, end = "2024-01-01", "2025-09-29"
        cerebro = bt.Cerebro(stdstats=False)
        for ds in ("spot.bybit.BTCUSDT", "perp.binance.BTCUSDT", "perp.bybit.BTCUSDT"):
            cerebro.adddata(feed(cat, ds, start, end))
        cerebro.addstrategy(Hedge)
        cerebro.broker.setcash(1e7)
        t0 = time.perf_counter()
        cerebro.run()
        dt = time.perf_counter() - t0
        bars = len(cat.load("spot.bybit.BTCUSDT").loc[start:end])
        print(f"backtrader {bt.__version__}: {bars} bars in {dt:.2f} s = {bars / dt:,.0f} bars/s")


if __name__ == "__main__":
    main()
