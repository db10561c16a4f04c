"""Where each mode's loop spends its time: a cProfile of the kernel loop per mode, side by side with an
older commit.

For every mode (its whole period, hourly clock) a fresh process runs ``run_backtest`` once to warm the
catalog, then once under cProfile, and prints the loop's steps/s under the profiler and the functions
with the most own time (``tottime``) as a share of the profiled run. With ``--before REF`` the same
runs on commit ``REF`` (``git archive`` of its ``src/`` first on ``PYTHONPATH``, same venv and
catalog). cProfile slows Python-heavy code more than numpy calls, so compare shapes, not speeds (the
speeds are ``bench_loop.py``'s).

Run: ``.venv/bin/python bench/profile_modes.py [--before REF] [--top 6] [--modes btc_basis,...]``;
record results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_loop import RUNS, checkout_src, child_json  # noqa: E402  (the loop benchmark's modes and helpers)

CHILD = r"""
import cProfile, json, pstats, sys
from basiskit import service
from basiskit.engine.backtest import BacktestRequest, run_backtest
mode, start, end, capital, top = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
cat = service.open_catalog()
cat.ensure_imported()
req = BacktestRequest(mode, start, end, capital)
run_backtest(req, cat)
prof = cProfile.Profile()
prof.enable()
summary = run_backtest(req, cat).summary
prof.disable()
stats = pstats.Stats(prof).stats
total = sum(v[2] for v in stats.values())
rows = sorted(((v[2], f"{k[2]} ({k[0].rsplit('/', 1)[-1]})") for k, v in stats.items()), reverse=True)[:top]
print(json.dumps({"steps_per_second": summary["steps_per_second"],
                  "top": [[name, round(100 * t / total, 1)] for t, name in rows]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="commit to profile side by side")
    ap.add_argument("--top", type=int, default=6)
    ap.add_argument("--modes", help="comma-separated modes (default: every mode of bench_loop.py)")
    args = ap.parse_args()
    runs = [r for r in RUNS if not args.modes or r[0] in args.modes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        before_src = checkout_src(args.before, tmp) if args.before else None
        for mode, start, end in runs:
            sides = ([("before", before_src)] if before_src else []) + [("after", None)]
            print(f"### {mode}")
            for side, src in sides:
                r = child_json(CHILD, mode, start, end, str(args.top), src)
                tops = "; ".join(f"{name} {share} %" for name, share in r["top"])
                print(f"- {side}: {r['steps_per_second']:,.0f} steps/s under cProfile; own time: {tops}")


if __name__ == "__main__":
    main()
