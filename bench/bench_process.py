"""Whole-process time of the main job against the peer, side by side: what a user waits for.

Commands (each a fresh process, timed by hyperfine from start to exit):

* ``main``: ``make run``'s command, ``basiskit backtest btc_basis --start 2024-01-01 --end 2025-09-29
  --capital 100000 --out results/main`` in the checkout (the run recorded in SQLite, every output file
  and report.html written);
* ``peer``: ``python bench/peer_backtrader.py`` (backtrader on the same three BTC feeds; it imports them
  from the raw CSVs into a temporary catalog, then runs; ``pip install backtrader`` first);
* ``main@REF`` with ``--before REF``: the main job on an older commit of basiskit (``git archive`` of
  its ``src/`` into a temporary folder, put first on ``PYTHONPATH``; same venv, catalog and database;
  its own output folder ``results/main-before``, since an older version may refuse files a newer one
  writes).

Runs alternate: ``--rounds`` rounds, each one hyperfine call over all commands with ``--runs`` runs
each, after one untimed warm-up run of every command (the first run of a new checkout imports the
catalog; bytecode caches get written). Python writes bytecode caches as it does for a user:
``PYTHONDONTWRITEBYTECODE`` is removed from the commands' environment (this machine's shells set it, so
basiskit's own modules would be compiled from source at every start; ``--keep-env`` keeps it).

Prints a table (mean, median, min, max, user and system CPU, median / peer median) and writes every
run's time to ``--json`` (default ``results/bench_process.json``, outside version control).
Run: ``.venv/bin/python bench/bench_process.py [--rounds 5 --runs 2] [--before COMMIT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN_ARGS = "backtest btc_basis --start 2024-01-01 --end 2025-09-29 --capital 100000 --out results/main"


def _commands(venv: Path, before_src: Path | None, before: str | None) -> dict[str, str]:
    cd = f"cd {shlex.quote(str(ROOT))} && "
    cmds = {"main": cd + f"{shlex.quote(str(venv / 'bin' / 'basiskit'))} {MAIN_ARGS}"}
    if before_src is not None:
        cmds[f"main@{before}"] = (cd + f"PYTHONPATH={shlex.quote(str(before_src))} "
                                  f"{shlex.quote(str(venv / 'bin' / 'basiskit'))} {MAIN_ARGS}-before")
    cmds["peer"] = cd + f"{shlex.quote(str(venv / 'bin' / 'python'))} bench/peer_backtrader.py"
    return cmds


def _export(ref: str, dest: Path) -> Path:
    """``src/`` of commit ``ref`` into ``dest``; returns the folder to put on PYTHONPATH."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def _hyperfine(cmds: dict[str, str], runs: int, env: dict[str, str], export: Path, warmup: int = 0) -> list[dict]:
    args = ["hyperfine", "--style", "basic", "--runs", str(runs), "--warmup", str(warmup), "--export-json", str(export)]
    for name, cmd in cmds.items():
        args += ["--command-name", name, cmd]
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(export.read_text())["results"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    ap.add_argument("--runs", type=int, default=2, help="runs of each command per round (default 2)")
    ap.add_argument("--before", metavar="REF", help="also time the main job on this commit of basiskit")
    ap.add_argument("--venv", type=Path, default=ROOT / ".venv")
    ap.add_argument("--json", type=Path, default=ROOT / "results" / "bench_process.json")
    ap.add_argument("--keep-env", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if it is set")
    args = ap.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is needed: apt-get install hyperfine")
    if subprocess.run([str(args.venv / "bin" / "python"), "-c", "import backtrader"], capture_output=True).returncode:
        sys.exit(f"the peer needs backtrader: {args.venv / 'bin' / 'pip'} install backtrader")
    env = dict(os.environ)
    if not args.keep_env:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="bench_process-") as tmp:
        before_src = _export(args.before, Path(tmp)) if args.before else None
        cmds = _commands(args.venv, before_src, args.before)
        times: dict[str, dict[str, list[float]]] = {n: {"wall": [], "user": [], "system": []} for n in cmds}
        load = [os.getloadavg()[0]]
        for r in range(args.rounds):
            # alternate the order too, so neither command always runs right after the other
            order = dict(reversed(cmds.items())) if r % 2 else cmds
            for res in _hyperfine(order, args.runs, env, Path(tmp) / "round.json", warmup=1 if r == 0 else 0):
                t = times[res["command"]]
                t["wall"] += res["times"]
                t["user"] += [res["user"]] * len(res["times"])  # hyperfine gives CPU time as a mean per round
                t["system"] += [res["system"]] * len(res["times"])
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        load.append(os.getloadavg()[0])
    peer = statistics.median(times["peer"]["wall"])
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} -> {load[1]:.2f}; {args.rounds} rounds x {args.runs} runs, alternating")
    print("| command | runs | mean s | median s | min s | max s | user s | sys s | median / peer |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for name, t in times.items():
        w = t["wall"]
        row = {"runs": len(w), "mean": statistics.fmean(w), "median": statistics.median(w), "min": min(w),
               "max": max(w), "user": statistics.fmean(t["user"]), "system": statistics.fmean(t["system"]),
               "ratio_to_peer": statistics.median(w) / peer, "times": w}
        summary[name] = row
        print(f"| {name} | {row['runs']} | {row['mean']:.3f} | {row['median']:.3f} | {row['min']:.3f} | "
              f"{row['max']:.3f} | {row['user']:.3f} | {row['system']:.3f} | {row['ratio_to_peer']:.2f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"python": platform.python_version(), "cpus": os.cpu_count(), "load": load,
                                     "rounds": args.rounds, "runs": args.runs, "commands": cmds,
                                     "results": summary}, indent=1))
    print(f"every run's time: {args.json}")


if __name__ == "__main__":
    main()
