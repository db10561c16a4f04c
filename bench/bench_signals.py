"""Signal engine benchmark: vectorised book updates per second, its speed-up over the engine path, and the
engine path's per-event latency (event in -> orders executed) on the real LUNC book tickers.

* engine path: ``engine.tick_backtest.simulate_ticks`` over the real MEXC / Gate.io overlap (15,038 events),
  each step timed (``time.perf_counter_ns`` around ``Kernel.step``: feed advance, venues, risk monitor,
  the strategy's rule and decision, gate, execution of its orders, the step's record), and for the steps
  whose decision sends orders the time from the step's start to the orders (event -> orders), wall clock
  and this thread's CPU time (``time.thread_time_ns``: without the time the OS gave other processes);
* vectorised path: ``engine.signal_vector`` over the same events tiled ``--tile`` times (each copy shifted
  by the span of the original: a longer stream of real books, not new prices): align the two streams
  (``data.book_frame.align_books``), run the compiled rule (``kernels.scan``), fill the orders
  (``BookFill.at_many``).

Run: ``.venv/bin/python bench/bench_signals.py [--tile 100] [--repeat 3]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import numpy as np

from basiskit.data.book_frame import align_books
from basiskit.data.catalog import Catalog
from basiskit.data.ticks import BookTickerSeries
from basiskit.domain.time import to_ns
from basiskit.engine.signal_vector import rule_outputs, run_vectorised
from basiskit.engine.tick_backtest import load_streams, simulate_ticks
from basiskit.strategies.registry import build_strategy, load_mode_config

MODES = ("signal_reverse_delta_neutral", "signal_inventory_arbitrage", "signal_volatility_harvesting")
PERIOD = ("2025-10-11T04:18:00", "2025-10-11T05:52:00")


def tiled(s: BookTickerSeries, k: int) -> BookTickerSeries:
    span = int(s.ts[-1] - s.ts[0]) + 1_000_000_000
    ts = np.concatenate([s.ts + i * span for i in range(k)])
    rep = lambda a: np.tile(a, k)  # noqa: E731
    return BookTickerSeries(s.key, ts, rep(s.bid), rep(s.bid_size), rep(s.ask), rep(s.ask_size), rep(s.line))


def timed_driver(samples: list, to_orders: list):
    """Times each step (``samples``, ns) and, for steps whose decision sends orders, the time from the
    step's start (the event) to the strategy's orders (``to_orders``, ns: feed, venues, monitor, decide)."""
    def drive(kernel, n, progress=None, every=0):
        step = kernel.step
        clock, cpu = time.perf_counter_ns, time.thread_time_ns
        started = [0, 0]
        decide = kernel.strategy.decide

        def timed_decide(ctx):
            d = decide(ctx)
            if d.orders:
                to_orders.append((clock() - started[0], cpu() - started[1]))
            return d
        kernel.strategy.decide = timed_decide
        gc.freeze()  # as engine.drivers.run_backtest_steps does: the run's inputs left out of GC scans
        t0 = time.perf_counter()
        try:
            for i in range(n):
                started[1] = cpu()
                a = started[0] = clock()
                step(i)
                samples.append(clock() - a)
        finally:
            gc.unfreeze()
        return time.perf_counter() - t0
    return drive


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tile", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    args = ap.parse_args()
    cat = Catalog(Path("/tmp/basiskit-bench-signals"), Path(args.data))
    cfg0 = load_mode_config(MODES[0])
    streams = load_streams(cfg0, cat, to_ns(PERIOD[0]), to_ns(PERIOD[1]))
    frame = align_books(streams)
    big_streams = [tiled(s, args.tile) for s in streams]
    t = time.perf_counter()
    big = align_books(big_streams)
    align_s = time.perf_counter() - t
    print(f"events: real {len(frame):,}; tiled x{args.tile}: {len(big):,} (align {align_s:.3f} s)\n")
    print("| mode | engine events/s | engine p50 / p99 / max step (us) | event -> orders p50 / p99 (us) | "
          "p99 step with orders (us) | vectorised rule updates/s | vectorised align+rule+fills updates/s | "
          "speed-up (rule / all) |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        cfg = load_mode_config(mode)
        rule_outputs(build_strategy(cfg), frame)  # compile (numba cache) outside the timings
        best_eng, samples_best, strat_best = None, None, None
        for _ in range(args.repeat):
            samples: list[int] = []
            orders: list[int] = []
            strat = build_strategy(cfg)
            sim = simulate_ticks(cfg, strat, frame, 1e6, driver=timed_driver(samples, orders))
            rate = len(frame) / sim.elapsed
            if best_eng is None or rate > best_eng:
                best_eng, samples_best, strat_best, orders_best = rate, samples, strat, orders
        st = np.array(samples_best) / 1e3
        sig_steps = [k for k, *_ in strat_best.signals]
        p99_sig = float(np.percentile(st[sig_steps], 99)) if sig_steps else float("nan")
        e2o = np.array(orders_best, dtype=np.float64).reshape(-1, 2) / 1e3  # (wall, thread CPU) us
        e2o_txt = (f"{np.percentile(e2o[:, 0], 50):.0f} / {np.percentile(e2o[:, 0], 99):.0f} (CPU "
                   f"{np.percentile(e2o[:, 1], 50):.0f} / {np.percentile(e2o[:, 1], 99):.0f})") if e2o.size else "-"
        rule_s = all_s = float("inf")
        for _ in range(args.repeat):
            s = build_strategy(cfg)
            t = time.perf_counter()
            rule_outputs(s, big)
            rule_s = min(rule_s, time.perf_counter() - t)
            t = time.perf_counter()
            run_vectorised(build_strategy(cfg), align_books(big_streams))
            all_s = min(all_s, time.perf_counter() - t)
        v_rule, v_all = len(big) / rule_s, len(big) / all_s
        print(f"| {mode} | {best_eng:,.0f} | {np.percentile(st, 50):.0f} / {np.percentile(st, 99):.0f} / {st.max():.0f} | "
              f"{e2o_txt} | {p99_sig:.0f} | {v_rule:,.0f} | {v_all:,.0f} | {v_rule / best_eng:,.0f}x / {v_all / best_eng:,.0f}x |")


if __name__ == "__main__":
    main()
