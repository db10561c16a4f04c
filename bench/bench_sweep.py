"""Sweep throughput: the issue's sweep -- usdt_market_neutral over target_ltv (0.70..0.85, 4 values) x the
Binance share of the hedge (0.2..0.7, 6 values) = 24 trials, whole data period (2024-05-13 .. 2025-09-18,
~11,800 hourly steps) -- serially in the driver, on a local process pool of 1 and of 2 workers, and on a
local Ray cluster of 2 CPUs. Each run records into a fresh SQLite run store (the driver records every
trial: summary, equity points, orders, trades, and the Optuna trial), so the numbers include that.

Measured: trials per second (wall time of ``run_sweep`` without writing the results folder), the ratio 2
workers / 1 worker (pool against pool, the workers already started by a warm-up sweep of 2 trials, and
from cold: spawn and imports included), the peak resident memory of each worker process (``ru_maxrss``
reported by the worker) and of the driver, Ray's start-up (``ray.init`` of a local cluster) -- and that
every executor gives the same 24 trials (parameters, objective, every summary number but timings).

Run once on a quiet machine: ``.venv/bin/python bench/bench_sweep.py`` (~2 min); results in bench/RESULTS.md
(``--only pool`` measures the warm pools of 1 and 2 workers only, ~30 s; written to sweep_results_pool.json).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ["target_ltv=0.7:0.85:0.05", "hedge_allocation.binance=0.2:0.7:0.1"]
TIMING = {"loop_seconds", "steps_per_second", "run_id"}


def main() -> None:
    from basiskit import service
    from basiskit.persistence.sql import SqlRunStore
    from basiskit.sweeps import run_sweep
    from basiskit.sweeps.executors import PoolExecutor, RayExecutor, SerialExecutor

    load_start = os.getloadavg()
    only_pool = "--only" in sys.argv and sys.argv[sys.argv.index("--only") + 1] == "pool"
    catalog = service.open_catalog()
    catalog.ensure_imported()
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    spec = service.sweep_spec("usdt_market_neutral", "2024-05-13", "2025-09-18", 100_000, PARAMS, objective="apy",
                              sampler="grid")
    warm_spec = service.sweep_spec("usdt_market_neutral", "2024-05-13", "2025-09-18", 100_000, PARAMS, objective="apy",
                                   sampler="grid", trials=2, seed=99)
    assert spec.n_trials == 24
    out: dict[str, dict] = {}
    tables: dict[str, list] = {}

    def measure(name: str, executor, warm: bool) -> None:
        if warm:  # start the workers and load their data first: the steady state of a long sweep
            store = SqlRunStore(f"sqlite:///{tmp / (name + '-warm')}.db")
            run_sweep(warm_spec, catalog, store, executor, write=False)
            store.close()
        store = SqlRunStore(f"sqlite:///{tmp / name}.db")
        t0 = time.perf_counter()
        res = run_sweep(spec, catalog, store, executor, write=False)
        wall = time.perf_counter() - t0
        tables[name] = [(r["index"], r["params"], r["value"], {k: v for k, v in store.summary(r["run_id"]).items()
                                                                  if k not in TIMING}) for r in res.rows]
        store.close()
        out[name] = {"workers": executor.workers, "trials": len(res.ran), "seconds": round(wall, 3),
                     "trials_per_second": round(len(res.ran) / wall, 3),
                     "mean_trial_seconds": round(sum(r["seconds"] or 0 for r in res.rows) / len(res.rows), 3),
                     "worker_peak_rss_mb": {str(pid): round(v, 1) for pid, v in sorted(res.peak_rss_mb.items())},
                     "warm": warm}
        print(name, json.dumps(out[name]), flush=True)

    if only_pool:
        for n in (1, 2, 1, 2):  # alternated: a change of the machine's load hits both
            ex = PoolExecutor(n)
            measure(f"pool {n} warm" + (" again" if f"pool {n} warm" in out else ""), ex, warm=True)
            ex.close()
        first = next(iter(tables.values()))
        result = {"runs": out, "identical_trials_across_executors": all(t == first for t in tables.values()),
                  "load_start": load_start, "load_end": os.getloadavg()}
        print(json.dumps(result, indent=1))
        (ROOT / "bench" / "sweep_results_pool.json").write_text(json.dumps(result, indent=1) + "\n")
        return
    ex = SerialExecutor()
    measure("serial (in the driver)", ex, warm=True)
    for n in (1, 2):
        ex = PoolExecutor(n)
        measure(f"pool {n} cold", ex, warm=False)
        ex.close()
        ex = PoolExecutor(n)
        measure(f"pool {n} warm", ex, warm=True)
        ex.close()
    t0 = time.perf_counter()
    ex = RayExecutor("local", 2)
    ray_start = time.perf_counter() - t0
    measure("ray local 2 warm", ex, warm=True)
    ex.close()
    first = next(iter(tables.values()))
    same = all(t == first for t in tables.values())
    result = {"runs": out, "ray_start_seconds": round(ray_start, 2),
              "ratio_warm_2_over_1": round(out["pool 2 warm"]["trials_per_second"] / out["pool 1 warm"]["trials_per_second"], 2),
              "ratio_cold_2_over_1": round(out["pool 2 cold"]["trials_per_second"] / out["pool 1 cold"]["trials_per_second"], 2),
              "identical_trials_across_executors": same,
              "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "load_start": load_start, "load_end": os.getloadavg(), "python": platform.python_version(), "cpus": os.cpu_count()}
    print(json.dumps(result, indent=1))
    (ROOT / "bench" / "sweep_results.json").write_text(json.dumps(result, indent=1) + "\n")
    if not same:
        sys.exit("executors disagree on the trials")


if __name__ == "__main__":
    main()
