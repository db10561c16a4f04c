"""Cost per step as the run grows: the whole ``basiskit backtest`` process of btc_basis over its whole
period (2024-01-01 .. 2025-09-29) on a clock of 3,600 s (~15,000 steps), 360 s (~153,000) and 60 s
(~917,000 steps: ``--set step_seconds=60``), each in a fresh process, ``--no-record`` and recorded
(into a fresh SQLite database of its own).

Per run: the process's wall time (spawn to exit, measured by this script), the loop (``loop_seconds``),
the stages around it -- the frame (data aligned to the clock), the summary (metrics), the outputs
(every file: ``equity.csv``/``.parquet``, ``report.html``, ...; ``runs.execute.write_outputs``), the
recording (``run_results`` + ``SqlRunStore.finish_run``) -- the size of ``report.html``, and the
process's peak resident memory (``ru_maxrss``, read at exit). Stage times come from wrappers set in
the child around functions both sides have (``Catalog.frame``, ``engine.backtest._summarise``,
``runs.execute.write_outputs``, ``runs.execute.run_results``), so ``--before REF`` measures REF the
same way: its ``src/`` (``git archive``) first on ``PYTHONPATH``, same venv and catalog, before and
after alternating per size so both see the same machine.

Memory per step: the slope of peak RSS between the two largest runs, in bytes per step.

Run: ``.venv/bin/python bench/bench_scaling.py [--before REF] [--rounds 1] [--sizes 3600,360,60]
[--record both|no|yes]``; record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = (3600, 360, 60)
CHILD = r"""
import atexit, json, os, resource, sys, time
T = {}
def timed(owner, name, label):
    f = getattr(owner, name)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            T[label] = T.get(label, 0.0) + time.perf_counter() - t
    setattr(owner, name, g)
import basiskit.data.catalog as catalog
import basiskit.engine.backtest as backtest
import basiskit.runs.execute as execute
timed(catalog.Catalog, "frame", "frame_s")
timed(backtest, "_summarise", "summary_s")
timed(execute, "write_outputs", "outputs_s")
timed(execute, "run_results", "results_s")
if os.environ.get("BASISKIT_DATABASE_URL"):
    import basiskit.persistence.sql as sql
    timed(sql.SqlRunStore, "finish_run", "store_s")
orig_run = execute.run_backtest
def run(*a, **k):
    out = orig_run(*a, **k)
    T["loop_s"] = out.summary["loop_seconds"]
    T["steps"] = out.summary["steps"]
    return out
execute.run_backtest = run
def report():
    T["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump(T, fh)
atexit.register(report)
from basiskit.cli.main import app
sys.argv[0] = "basiskit"
app()
"""


def _measure(step: int, record: bool, src: Path | None, work: Path) -> dict:
    env = dict(os.environ)
    env.pop("BASISKIT_DATABASE_URL", None)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    stats = work / "stats.json"
    out = work / "out"
    env["BENCH_OUT"] = str(stats)
    if record:
        env["BASISKIT_DATABASE_URL"] = f"sqlite:///{work / 'bench.db'}"
    args = [sys.executable, "-c", CHILD, "backtest", "btc_basis", "--start", "2024-01-01", "--end", "2025-09-29",
            "--capital", "100000", "--set", f"step_seconds={step}", "--out", str(out)]
    if not record:
        args.append("--no-record")
    t0 = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    r = json.loads(stats.read_text())
    r["process_s"] = time.perf_counter() - t0
    r["report_mb"] = (out / "report.html").stat().st_size / 2**20
    return r


def _row(side: str, record: bool, r: dict) -> str:
    return (f"| {side} | {r['steps']:,} | {'yes' if record else 'no'} | {r['process_s']:.2f} | {r['loop_s']:.2f} | "
            f"{r['process_s'] - r['loop_s']:.2f} | {r.get('frame_s', 0):.2f} | {r.get('summary_s', 0):.2f} | "
            f"{r.get('outputs_s', 0):.2f} | {r.get('results_s', 0) + r.get('store_s', 0):.2f} | "
            f"{r['report_mb']:.1f} | {r['peak_rss_mb']:,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="a commit to measure side by side (its src/ through PYTHONPATH)")
    ap.add_argument("--rounds", type=int, default=1, help="fresh processes per size, record mode and side (fastest kept)")
    ap.add_argument("--sizes", default=",".join(map(str, STEPS)), help="step_seconds values")
    ap.add_argument("--record", choices=("both", "no", "yes"), default="both")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    records = {"both": (False, True), "no": (False,), "yes": (True,)}[args.record]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        before_src = None
        if args.before:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "src"], check=True,
                                     capture_output=True).stdout
            (tmp / "before").mkdir()
            subprocess.run(["tar", "-x", "-C", str(tmp / "before")], input=archive, check=True)
            before_src = tmp / "before" / "src"
        load = os.getloadavg()
        print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; load average "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start; fastest of {args.rounds} fresh process(es)")
        print("| side | steps | recorded | process s | loop s | process - loop s | frame s | summary s | outputs s | "
              "recording s | report.html MB | peak RSS MB |")
        print("|---" * 12 + "|")
        peaks: dict[tuple[str, bool], list[tuple[int, float]]] = {}
        for step in sizes:
            for record in records:
                sides = ([("before", before_src)] if before_src is not None else []) + [("after", None)]
                for side, src in sides:
                    runs = []
                    for k in range(args.rounds):
                        work = tmp / f"{side}-{step}-{record}-{k}"
                        work.mkdir()
                        runs.append(_measure(step, record, src, work))
                    best = min(runs, key=lambda r: r["process_s"])
                    peaks.setdefault((side, record), []).append((best["steps"], best["peak_rss_mb"]))
                    print(_row(side, record, best), flush=True)
        for (side, record), pts in sorted(peaks.items()):
            pts.sort()
            if len(pts) >= 2:
                (n0, m0), (n1, m1) = pts[-2], pts[-1]
                print(f"{side}, recorded {'yes' if record else 'no'}: peak RSS grows "
                      f"{(m1 - m0) * 2**20 / (n1 - n0):,.0f} bytes per step between {n0:,} and {n1:,} steps")
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")


if __name__ == "__main__":
    main()
