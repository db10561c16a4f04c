"""Loop speed of the grid and of a portfolio run against its strategies run alone, on the real data.

* ``grid`` over the whole BTC hourly period (8 levels) and over the ETH one-minute file: loop steps per
  second (``summary["loop_seconds"]``; catalog import and frame building not timed);
* ``configs/portfolios/grid_and_btc_basis.yaml`` over 2024-01-01 .. 2025-09-29: the portfolio's loop
  seconds against the sum of btc_basis and grid run alone with the same capitals (the overhead of
  stepping them together), best of ``--repeat`` runs each.

Run: ``python bench/bench_grid_portfolio.py [--repeat 3]``; record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from basiskit.config.loader import configs_dir
from basiskit.data.catalog import Catalog, resolve_source_dir
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.portfolio import run_portfolio
from basiskit.strategies.portfolio import load_portfolio

ROOT = Path(__file__).resolve().parents[1]
GRID_1H = BacktestRequest("grid", "2024-01-01", "2025-09-29", 100_000.0,
                          overrides={"levels": 8, "spacing": 0.01, "order_size": 0.05})
GRID_1M = BacktestRequest("grid", "2025-09-27T00:00", "2025-09-27T15:30", 20_000.0,
                          overrides={"bars": "1m", "token": "ETH", "step_seconds": 60, "levels": 5, "spacing": 0.0008,
                                     "order_size": 0.2, "funding": "none"})


def best(fn, repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    catalog = Catalog(Path(os.environ.get("BASISKIT_HOME", ROOT / ".basiskit")), resolve_source_dir(None))
    catalog.ensure_imported()
    for name, req in (("grid hourly", GRID_1H), ("grid 1-minute", GRID_1M)):
        s = run_backtest(req, catalog).summary
        secs = best(lambda: run_backtest(req, catalog).summary["loop_seconds"], args.repeat)
        print(f"{name}: {s['steps']} steps, {s['trades']} trades, loop {secs:.3f} s, {s['steps'] / secs:,.0f} steps/s")
    pf = load_portfolio(configs_dir() / "portfolios" / "grid_and_btc_basis.yaml")
    start, end, capital = "2024-01-01", "2025-09-29", 100_000.0
    together = best(lambda: run_portfolio(pf, start, end, capital, catalog).summary["loop_seconds"], args.repeat)
    alone = 0.0
    for slot in pf.strategies:
        req = BacktestRequest(slot.mode, start, end, capital * slot.allocation, overrides=dict(slot.config))
        alone += best(lambda: run_backtest(req, catalog).summary["loop_seconds"], args.repeat)
    print(f"portfolio grid_and_btc_basis: loop {together:.3f} s together, {alone:.3f} s alone (sum), "
          f"ratio {together / alone:.2f}")


if __name__ == "__main__":
    main()
