"""Funding scanner speed: rank every funding series (Binance/Bybit BTC and ETH, all 344 OKX swaps) at
every hour of the whole history, and at one time.

``python bench/funding_scan.py [--repeat N]`` prints the timings (best of N, seconds) of:

* ``load``: the funding table from the catalog and the OKX Parquet cache (cache warm);
* ``rank_history``: :func:`basiskit.data.funding.opportunities.rank_history` over the hourly grid from
  the first to the last settlement of any series (T x M net APRs and their order);
* ``rank_at``: one time (every candidate, sorted).

Target (issue 14): the whole history ranked in under 1 s. Results: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from basiskit import funding_service
from basiskit.data.catalog import Catalog
from basiskit.data.funding import opportunities as opp


def best(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data-dir", default=os.environ.get("BASISKIT_HOME", ".basiskit"))
    args = ap.parse_args()
    catalog = Catalog(Path(args.data_dir))
    catalog.ensure_imported()
    funding_service.funding_table(catalog)  # warm the OKX cache
    t_load, (table, _) = best(lambda: funding_service.funding_table(catalog), args.repeat)
    costs = funding_service.funding_costs()
    lo, hi = table.span()
    at = np.arange(lo - lo % 3_600_000_000_000, hi + 1, 3_600_000_000_000, dtype=np.int64)
    cands = opp.candidates(table, costs)
    t_hist, (order, net, _) = best(lambda: opp.rank_history(table, costs, at, cands), args.repeat)
    t_one, ranked = best(lambda: opp.rank_at(table, costs, int(at[len(at) // 2])), args.repeat)
    okx = sum(1 for k in table.keys if k[0] == "okx")
    print(f"series {len(table)} (OKX {okx}), settlements {table.times.size:,}, candidates {len(cands.kind)}")
    print(f"load          {t_load:.3f} s")
    print(f"rank_history  {t_hist:.3f} s   ({len(at):,} hours x {len(cands.kind)} candidates = {net.size:,} net APRs)")
    print(f"rank_at       {t_one:.3f} s   ({len(ranked)} ranked)")


if __name__ == "__main__":
    main()
