"""Loop throughput on the real data: steps per second of the engine loop (accrual, monitors,
strategy decision, execution, equity) for each mode over its whole available period.

Only the loop is timed (``summary["loop_seconds"]``); catalog import and frame building are not.
Run: ``make bench`` (or ``python bench/bench_loop.py [--repeat N]``). Record results in RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
from pathlib import Path

from basiskit.data.catalog import Catalog
from basiskit.engine.backtest import BacktestRequest, run_backtest

RUNS = [
    ("pure_lending", "2024-01-01", "2025-09-29"),
    ("btc_basis", "2024-01-01", "2025-09-29"),
    ("eth_basis", "2024-01-01", "2025-09-25"),
    ("eth_staking_only", "2024-05-13", "2025-09-25"),
    ("eth_leveraged", "2024-05-13", "2025-09-25"),
    ("eth_leveraged_restaking", "2024-05-13", "2025-09-25"),
    ("usdt_market_neutral_no_leverage", "2024-05-13", "2025-09-25"),
    ("usdt_market_neutral", "2024-05-13", "2025-09-25"),
]
CAPITAL = {"eth_staking_only": 50.0, "eth_leveraged": 50.0, "eth_leveraged_restaking": 50.0}  # ETH share class


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        cat = Catalog(Path(home))
        cat.import_all()
        print(f"python {platform.python_version()} on {platform.machine()}, {args.repeat} runs each")
        print(f"{'mode':<32}{'steps':>8}{'median steps/s':>16}{'best steps/s':>14}")
        for mode, start, end in RUNS:
            rates, steps = [], 0
            for _ in range(args.repeat):
                s = run_backtest(BacktestRequest(mode, start, end, CAPITAL.get(mode, 100_000.0)), cat).summary
                rates.append(s["steps_per_second"])
                steps = s["steps"]
            print(f"{mode:<32}{steps:>8}{statistics.median(rates):>16,.0f}{max(rates):>14,.0f}")


if __name__ == "__main__":
    main()
