"""Loop throughput on the real data: steps per second of the kernel loop (market step, venue
accounts, risk monitor, strategy decision, execution, recording) for each mode over its whole
available period, hourly clock.

Only the loop is timed (``summary["loop_seconds"]``); catalog import and frame building are not.
Each measurement is a fresh process running the mode ``--repeat`` times in a row (best of them: the
least disturbed by the rest of the machine); with ``--before REF`` the same on commit ``REF``
(``git archive`` of its ``src/`` first on ``PYTHONPATH``, same venv and catalog), alternating
before/after per mode and round so both see the same machine.

Run: ``make bench`` (or ``python bench/bench_loop.py [--rounds 3] [--repeat 3] [--before REF]``).
Record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
CHILD = r"""
import json, sys
from basiskit import service
from basiskit.engine.backtest import BacktestRequest, run_backtest
cat = service.open_catalog()
cat.ensure_imported()
mode, start, end, capital, repeat = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
rates = [run_backtest(BacktestRequest(mode, start, end, capital), cat).summary for _ in range(repeat)]
print(json.dumps({"steps": rates[0]["steps"], "best": max(r["steps_per_second"] for r in rates)}))
"""


def child_json(code: str, mode: str, start: str, end: str, extra: str, src: Path | None) -> dict:
    """Run ``code`` in a fresh Python with ``mode start end capital extra`` as its arguments (``src``
    first on ``PYTHONPATH`` when given) and return the JSON of its last output line."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    args = [sys.executable, "-c", code, mode, start, end, str(CAPITAL.get(mode, 100_000.0)), extra]
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def checkout_src(ref: str, into: str) -> Path:
    """``src/`` of commit ``ref`` extracted into the folder ``into``; returns its path."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return Path(into) / "src"


def _measure(mode: str, start: str, end: str, repeat: int, src: Path | None) -> dict:
    return child_json(CHILD, mode, start, end, str(repeat), src)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3, help="fresh processes per mode (and per side)")
    ap.add_argument("--repeat", type=int, default=3, help="runs in a row in each process (best kept)")
    ap.add_argument("--before", help="a commit to measure side by side (its src/ through PYTHONPATH)")
    ap.add_argument("--modes", help="comma-separated subset of the modes")
    args = ap.parse_args()
    runs = [r for r in RUNS if not args.modes or r[0] in args.modes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        before_src = checkout_src(args.before, tmp) if args.before else None
        print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
              f"{args.rounds} processes x best of {args.repeat} runs per mode and side")
        head = "| mode | steps | " + (f"before ({args.before}) median | before best | " if args.before else "")
        print(head + "after median | after best |" + (" after / before |" if args.before else ""))
        print("|---" * (7 if args.before else 4) + "|")
        for mode, start, end in runs:
            before, after, steps = [], [], 0
            for _ in range(args.rounds):
                if before_src is not None:
                    before.append(_measure(mode, start, end, args.repeat, before_src)["best"])
                r = _measure(mode, start, end, args.repeat, None)
                after.append(r["best"])
                steps = r["steps"]
            cells = [mode, f"{steps:,}"]
            if before:
                cells += [f"{statistics.median(before):,.0f}", f"{max(before):,.0f}"]
            cells += [f"{statistics.median(after):,.0f}", f"{max(after):,.0f}"]
            if before:
                cells.append(f"{statistics.median(after) / statistics.median(before):.2f}")
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
