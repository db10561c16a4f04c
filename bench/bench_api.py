"""API latency under 50 concurrent clients listing runs and polling a run's status.

Starts ``basiskit api`` as a subprocess on a free loopback port with a temporary data dir (SQLite,
or PostgreSQL with ``--postgres``: a temporary database on 127.0.0.1:5432, dropped afterwards),
records ``--runs`` short backtests, then lets ``--clients`` async clients each make ``--rounds``
pairs of requests (``GET /api/v1/backtests?limit=50`` and ``GET /api/v1/backtests/{id}``), first with
the server idle (after a one-client baseline), then while a long backtest runs in its background thread. Each client connects with
one untimed request first. Prints p50/p95/p99/max latency (ms), throughput and errors per phase.
Bounded: a fixed number of requests, loopback only.

Run: ``.venv/bin/python bench/bench_api.py [--postgres]``; record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

SHORT = {"mode": "btc_basis", "start": "2024-03-01", "end": "2024-03-15"}
LONG = {"mode": "btc_basis", "start": "2024-01-01", "end": "2025-09-29", "config": {"step_seconds": 60}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_status(c: httpx.Client, run_id: str, statuses: set[str], timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = c.get(f"/api/v1/backtests/{run_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.1)
    raise TimeoutError(run_id)


async def load(base: str, ids: list[str], clients: int, rounds: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0

    async def one(n: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            await c.get("/api/v1/backtests", params={"limit": 1})  # connect first: steady state is measured
            for r in range(rounds):
                for path, params in (("/api/v1/backtests", {"limit": 50}), (f"/api/v1/backtests/{ids[(n + r) % len(ids)]}", None)):
                    t0 = time.perf_counter()
                    try:
                        resp = await c.get(path, params=params)
                        ok = resp.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    latencies.append((time.perf_counter() - t0) * 1000)
                    errors += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(clients)))
    return latencies, errors, time.perf_counter() - t0


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def report(name: str, lat: list[float], errors: int, seconds: float) -> str:
    return (f"| {name} | {len(lat):,} | {errors} | {pct(lat, 50):.1f} | {pct(lat, 95):.1f} | {pct(lat, 99):.1f} | "
            f"{max(lat):.1f} | {len(lat) / seconds:,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--runs", type=int, default=20, help="short backtests recorded before the load")
    ap.add_argument("--postgres", action="store_true", help="use a temporary PostgreSQL database")
    args = ap.parse_args()
    env = dict(os.environ)
    pg_db = None
    if args.postgres:
        import psycopg
        pg_db = f"basiskit_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_db}"')
        env["BASISKIT_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_db}"
    else:
        env.pop("BASISKIT_DATABASE_URL", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cli = Path(sys.executable).with_name("basiskit")
    with tempfile.TemporaryDirectory() as home:
        proc = subprocess.Popen([str(cli), "api", "--port", str(port), "--data-dir", home, "--log-level", "warning"],
                                env=env)
        try:
            with httpx.Client(base_url=base, timeout=60) as c:
                for _ in range(600):
                    try:
                        if c.get("/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                ids = [c.post("/api/v1/backtests", json=SHORT).json()["id"] for _ in range(args.runs)]
                for rid in ids:
                    wait_status(c, rid, {"finished"})
                db = "PostgreSQL 15" if args.postgres else "SQLite (WAL)"
                print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; {db}; "
                      f"{args.clients} clients x {args.rounds} rounds x 2 requests; {args.runs} runs recorded")
                print("| phase | requests | errors | p50 ms | p95 ms | p99 ms | max ms | req/s |")
                print("|---|---|---|---|---|---|---|---|")
                lat, err, sec = asyncio.run(load(base, ids, 1, 200))
                print(report("1 client (baseline), idle server", lat, err, sec))
                lat, err, sec = asyncio.run(load(base, ids, args.clients, args.rounds))
                print(report(f"{args.clients} clients, idle server", lat, err, sec))
                long_id = c.post("/api/v1/backtests", json=LONG).json()["id"]
                wait_status(c, long_id, {"running"})
                lat, err, sec = asyncio.run(load(base, ids + [long_id], args.clients, args.rounds))
                running = c.get(f"/api/v1/backtests/{long_id}").json()["status"] == "running"
                print(report(f"{args.clients} clients, during a backtest" + ("" if running else " (it ended before the load did)"),
                             lat, err, sec))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            if pg_db:
                import psycopg
                with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
