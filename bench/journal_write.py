"""Cost of one write-ahead journal record: ``SqlLiveStore.put_order`` alone, and the floor under it.

Per store, ``--n`` orders of a session as the journal writes them (an ``intent`` upsert, then the
same client order id's ``filled`` upsert: two commits per order), each timed in wall time
(``perf_counter``) and in the thread's CPU time (``thread_time``); after ``--warm`` warm-up orders.
``intent``: the intents alone (the write on the path to the venue).

Stores: ``sqlite`` (WAL, ``synchronous=NORMAL``: ``persistence.sql.make_engine``), ``sqlite_full``
(the same with ``synchronous=FULL``: every commit fsynced; only where the store has a dedicated
writer connection to set it on), ``postgresql`` (a database created on ``--pg`` for the run,
dropped after; the server's ``synchronous_commit`` as configured, reported). ``raw_*``: the floor --
the same upsert text through the driver on a held connection (sqlite3 in autocommit mode; psycopg in
autocommit mode, prepared), no SQLAlchemy.

    python bench/journal_write.py [--n 2000] [--json out.json]
    python bench/journal_write.py --ab BEFORE_SRC [--rounds 3]     # before/after, alternating
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from basiskit.persistence.live_sql import SqlLiveStore
from basiskit.persistence.live_store import LiveOrderRecord


def _records(n: int, tag: str):
    for k in range(n):
        cid = f"{tag}-{k:06d}"
        yield LiveOrderRecord(cid, "bench-run", k, 1_700_000_000_000_000_000 + k, "binance.perp", "perp_trade", "BTC",
                              "sell", 0.5, "intent", data={"reason": "rebalance"})
        yield LiveOrderRecord(cid, "bench-run", k, 1_700_000_000_000_000_000 + k, "binance.perp", "perp_trade", "BTC",
                              "sell", 0.5, "filled", filled=0.5, price=60_000.0,
                              data={"fee": 1.5, "fee_currency": "USDT", "error_code": None, "error": None})


def _time(write, items, warm: int) -> dict:
    wall, cpu = [], []
    for k, item in enumerate(items):
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        write(item)
        t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
        if k >= warm:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
    w, c = np.asarray(wall) / 1e3, np.asarray(cpu) / 1e3
    wi = w[::2]  # the intents (warm is even: the records alternate intent, filled)
    return {"writes": int(w.size), "p50_us": float(np.percentile(w, 50)), "p99_us": float(np.percentile(w, 99)),
            "max_us": float(w.max()), "cpu_p50_us": float(np.percentile(c, 50)),
            "cpu_p99_us": float(np.percentile(c, 99)), "intent_p50_us": float(np.percentile(wi, 50)),
            "intent_p99_us": float(np.percentile(wi, 99))}


def _store(url: str, n: int, warm: int, full: bool = False) -> dict | None:
    store = SqlLiveStore(url)
    try:
        if full:
            direct = getattr(store, "_direct", None)
            if direct is None:
                return None
            direct._connection().execute("PRAGMA synchronous=FULL")
        return _time(lambda rec: store.put_order("bench", rec), _records(n + warm, "o"), 2 * warm)
    finally:
        store.close()


_UPSERT = ("INSERT INTO live_orders (strategy_id, client_order_id, run_id, seq, timestamp, venue, operation, token, "
           "side, amount, to_venue, status, filled, price, data, updated_at) VALUES ({p}) ON CONFLICT "
           "(strategy_id, client_order_id) DO UPDATE SET status = excluded.status, filled = excluded.filled, "
           "price = excluded.price, data = excluded.data, updated_at = excluded.updated_at")


def _raw_row(rec: LiveOrderRecord) -> tuple:
    return ("bench", rec.client_order_id, rec.run_id, rec.seq, rec.timestamp, rec.venue, rec.operation, rec.token,
            rec.side, rec.amount, rec.to_venue, rec.status, rec.filled, rec.price, json.dumps(rec.data),
            time.strftime("%Y-%m-%d %H:%M:%S.000000"))


def _raw_sqlite(path: Path, n: int, warm: int) -> dict:
    SqlLiveStore(f"sqlite:///{path}").close()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    sql = _UPSERT.format(p=", ".join("?" * 16))
    try:
        return _time(lambda rec: conn.execute(sql, _raw_row(rec)), _records(n + warm, "r"), 2 * warm)
    finally:
        conn.close()


def _raw_pg(url: str, n: int, warm: int) -> dict:
    import psycopg

    SqlLiveStore(url).close()
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    sql = _UPSERT.format(p=", ".join(["%s"] * 16))
    try:
        return _time(lambda rec: conn.execute(sql, _raw_row(rec), prepare=True), _records(n + warm, "r"), 2 * warm)
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="orders per store (two writes each)")
    ap.add_argument("--warm", type=int, default=50)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--json")
    ap.add_argument("--ab", help="the src directory of the code before: run both, alternating")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if a.ab:
        from ab import alternate

        runs = alternate(__file__, ["--n", str(a.n), "--warm", str(a.warm), "--pg", a.pg], a.ab,
                         str(Path(__file__).resolve().parents[1] / "src"), a.rounds)
        for k in range(a.rounds):
            for label in ("before", "after"):
                _print(runs[label][k], f"{label}{k + 1}")
        if a.json:
            Path(a.json).write_text(json.dumps(runs, indent=1))
        return
    from live_latency import _pg_database

    res: dict = {}
    with tempfile.TemporaryDirectory() as d:
        res["sqlite"] = _store(f"sqlite:///{Path(d) / 'a.db'}", a.n, a.warm)
        res["sqlite_full"] = _store(f"sqlite:///{Path(d) / 'b.db'}", a.n, a.warm, full=True)
        res["raw_sqlite"] = _raw_sqlite(Path(d) / "c.db", a.n, a.warm)
    for kind in ("postgresql", "raw_postgresql"):
        url, drop = _pg_database(a.pg)
        try:
            res[kind] = _store(url, a.n, a.warm) if kind == "postgresql" else _raw_pg(url, a.n, a.warm)
        finally:
            drop()
    import psycopg

    with psycopg.connect(a.pg) as c:
        res["pg_settings"] = {k: c.execute(f"SHOW {k}").fetchone()[0]
                              for k in ("synchronous_commit", "fsync", "wal_sync_method")}
    _print(res)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


def _print(res: dict, label: str = "") -> None:
    print(f"{'run':<8} {'store':<15} {'writes':>6} {'p50 µs':>8} {'p99 µs':>8} {'max µs':>9} {'cpu p50':>8} {'cpu p99':>8} "
          f"{'intent p50':>10} {'intent p99':>10}")
    for k, r in res.items():
        if k == "pg_settings" or r is None:
            continue
        print(f"{label:<8} {k:<15} {r['writes']:>6} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f} {r['max_us']:>9.1f} "
              f"{r['cpu_p50_us']:>8.1f} {r['cpu_p99_us']:>8.1f} {r['intent_p50_us']:>10.1f} {r['intent_p99_us']:>10.1f}")
    if "pg_settings" in res:
        print("PostgreSQL:", res["pg_settings"])


if __name__ == "__main__":
    main()
