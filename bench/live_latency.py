"""Latency of the live path: from a market event's receipt to the orders handed to the venue adapter.

A paper session replays btc_basis over a recorded period through the whole live path (LiveFeed,
LiveDriver on an accelerated clock, watchdog, journal, recovery hooks, per-step persistence). The
journal measures, for every order, ``perf_counter_ns`` from the moment the step took the step's market
events in (the feed's fold starts inside ``kernel.step``) to the moment the order is handed to the
adapter (after its write-ahead ``intent`` record); the driver measures each whole step (the spec's
ceiling: 50 ms a cycle). Both in wall time (``perf_counter``: what a venue would see, including the
waits of a loaded machine's scheduler) and in the thread's CPU time (``thread_time``: the code's own
cost). Stores: in memory (the kernel's own cost), SQLite and PostgreSQL (the journal's ``intent``
write is inside the measured path: it must be committed before the venue sees the order).
``session_ms``: the session's wall time per step, the per-step persistence included (its throughput).

PostgreSQL: a database ``basiskit_bench_<random>`` is created on ``--pg`` (a server URL; trust auth on
127.0.0.1 here) and dropped at the end.

    python bench/live_latency.py [--start 2024-01-01] [--end 2025-09-01] [--stores memory,sqlite,postgresql]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--json out.json]
    python bench/live_latency.py --ab BEFORE_SRC [--rounds 3] ...   # before/after side by side, alternating
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from basiskit.data.catalog import Catalog, resolve_source_dir
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import BacktestRequest, prepare
from basiskit.engine.live.driver import FastClock
from basiskit.engine.live.runner import LiveOptions, run_live
from basiskit.engine.live.session import replay_feed
from basiskit.persistence.live_store import MemoryLiveStore
from basiskit.strategies.registry import build_strategy


def one(catalog, start: str, end: str, store) -> dict:
    config, clock = prepare(BacktestRequest("btc_basis", start, end, 100_000.0))
    grid = clock.grid()
    strategy = build_strategy(config)
    specs = series_specs(strategy.requirements(), set(catalog.dataset_ids()))
    frame = catalog.frame(grid, specs)
    fast = FastClock(int(grid[0]) - 3_600_000_000_000)
    feed = replay_feed(frame, config.step_seconds, specs, fast.now_ns, config.venues)
    steps: list[int] = []
    opts = LiveOptions("paper", 5400.0, 15.0, 3600.0, 900.0, 1.0)
    t0 = time.perf_counter()
    out = run_live(config, strategy, feed, 100_000.0, store, "bench", "bench-run", opts, now_ns=fast.now_ns,
                   sleep=fast.sleep)
    wall = time.perf_counter() - t0
    lat = np.asarray(out.journal.latencies_ns, dtype=np.float64) / 1e3  # microseconds, wall
    cpu = np.asarray(out.journal.cpu_latencies_ns, dtype=np.float64) / 1e3  # microseconds, CPU time
    busy = out.sim.elapsed
    n = out.driver.steps_done
    del steps
    return {"steps": n, "orders": int(lat.size), "p50_us": float(np.percentile(lat, 50)),
            "p99_us": float(np.percentile(lat, 99)), "max_us": float(lat.max()),
            "cpu_p50_us": float(np.percentile(cpu, 50)), "cpu_p99_us": float(np.percentile(cpu, 99)),
            "step_mean_ms": busy / n * 1e3, "wall_s": wall}


def _pg_database(server: str):
    """(SQLAlchemy URL of a new database on ``server``, a function dropping it)."""
    import uuid

    import psycopg

    name = f"basiskit_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(server, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return url, drop


def _table(res: dict, label: str = "") -> None:
    print(f"{'run':<8} {'store':<11} {'steps':>6} {'orders':>6} {'p50 µs':>8} {'p99 µs':>8} {'max µs':>8} "
          f"{'cpu p50':>8} {'cpu p99':>8} {'step ms':>8} {'session ms':>10} {'wall s':>7}")
    for k, r in res.items():
        print(f"{label:<8} {k:<11} {r['steps']:>6} {r['orders']:>6} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f} "
              f"{r['max_us']:>8.1f} {r['cpu_p50_us']:>8.1f} {r['cpu_p99_us']:>8.1f} {r['step_mean_ms']:>8.3f} "
              f"{r['wall_s'] / r['steps'] * 1e3:>10.3f} {r['wall_s']:>7.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", default="2024-01-01")
    ap.add_argument("--end", default="2025-09-01")
    ap.add_argument("--stores", default="memory,sqlite,postgresql")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--json")
    ap.add_argument("--ab", help="the src directory of the code before: run both, alternating")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if a.ab:
        from ab import alternate

        args = ["--start", a.start, "--end", a.end, "--stores", a.stores, "--pg", a.pg]
        runs = alternate(__file__, args, a.ab, str(Path(__file__).resolve().parents[1] / "src"), a.rounds)
        print(f"btc_basis paper replay {a.start} .. {a.end}, {a.rounds} rounds alternating")
        for k in range(a.rounds):
            for label in ("before", "after"):
                _table(runs[label][k], f"{label}{k + 1}")
        if a.json:
            Path(a.json).write_text(json.dumps(runs, indent=1))
        return
    home = Path(tempfile.gettempdir()) / "basiskit-bench-home"
    catalog = Catalog(home, resolve_source_dir(None))
    catalog.ensure_imported()
    res = {}
    for kind in a.stores.split(","):
        if kind == "memory":
            res[kind] = one(catalog, a.start, a.end, MemoryLiveStore())
            continue
        from basiskit.persistence.live_sql import SqlLiveStore

        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as d:
                store = SqlLiveStore(f"sqlite:///{Path(d) / 'bench.db'}")
                res[kind] = one(catalog, a.start, a.end, store)
                store.close()
        elif kind == "postgresql":
            url, drop = _pg_database(a.pg)
            try:
                store = SqlLiveStore(url)
                res[kind] = one(catalog, a.start, a.end, store)
                store.close()
            finally:
                drop()
        else:
            raise SystemExit(f"--stores: unknown store {kind!r} (memory, sqlite, postgresql)")
    print(f"btc_basis paper replay {a.start} .. {a.end}")
    _table(res)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
