"""Cost per step as the run grows: btc_basis over its whole period (2024-01-01 .. 2025-09-29) on a
clock of 3,600 s (~15,000 steps), 360 s (~153,000) and 60 s (~917,000 steps: ``--set
step_seconds=60``), each in a fresh process: loop seconds, microseconds per step, the frame build and
the process's peak resident memory (``ru_maxrss``) after the run.

A flat cost per step means the loop does the same work per step however long the run: no list grows
in the loop's hot path, no per-step cost depends on history (the garbage collector's scans included).

Run: ``.venv/bin/python bench/bench_scaling.py [--repeat 2]``; record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = (3600, 360, 60)
CHILD = r"""
import json, resource, sys, time
from basiskit import service
from basiskit.engine.backtest import BacktestRequest, run_backtest
cat = service.open_catalog()
cat.ensure_imported()
t0 = time.perf_counter()
out = run_backtest(BacktestRequest("btc_basis", "2024-01-01", "2025-09-29", 100_000.0,
                                   overrides={"step_seconds": int(sys.argv[1])}), cat)
total = time.perf_counter() - t0
s = out.summary
print(json.dumps({"steps": s["steps"], "loop_s": s["loop_seconds"], "run_s": total,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}; best of {args.repeat} fresh processes")
    print("| step_seconds | steps | loop s | us / step | run_backtest s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for step in STEPS:
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, "-c", CHILD, str(step)], cwd=ROOT, capture_output=True, text=True,
                                 check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        best = min(runs, key=lambda r: r["loop_s"])
        print(f"| {step} | {best['steps']:,} | {best['loop_s']:.2f} | {best['loop_s'] / best['steps'] * 1e6:.2f} | "
              f"{best['run_s']:.2f} | {max(r['peak_rss_mb'] for r in runs):,.0f} |")


if __name__ == "__main__":
    main()
