"""Drivers: what hands the kernel its times. The kernel is the same in every run.

* ``run_backtest_steps``: the historical feed's clock, as fast as possible (a backtest);
* ``RealtimeDriver``: the wall clock -- it waits until each clock time has come, then steps the kernel
  (a paper run: live data, simulated venues; a live run: live data, live venue adapters). The time
  source and the sleep are injected, so a test (or a rehearsal) can run it on an accelerated clock.

A driver is a callable ``driver(kernel, n_steps, progress, every) -> seconds spent stepping``;
``engine.backtest.simulate`` takes one.

Both stop cleanly: ``should_stop()`` is checked between steps (the run's stop signal, a cancel request).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from basiskit.errors.exceptions import RunInterrupted


def run_backtest_steps(kernel, n_steps: int, progress: Callable[[int, int], None] | None = None,
                       every: int = 0, batch: bool = True) -> float:
    """Step ``kernel`` through ``n_steps`` clock times; ``progress(i, n)`` about every ``every`` steps
    (and at the end). With ``batch`` the quiet stretches between steps are passed in one go
    (``Kernel.fast_forward``, ``engine.quiet``: the same results as stepping). Returns the seconds the
    loop took."""
    step = kernel.step
    # The run's inputs (the aligned series, the catalog, imported modules: ~10^5-10^6 objects) live
    # as long as the loop; a full garbage collection re-scans them every time the loop's own objects
    # (events, trades) cross the collector's threshold -- 0.1 s per collection, up to a third of a
    # btc_basis loop. Frozen, they are left out of the scans; unfrozen at the end.
    gc.freeze()
    t0 = time.perf_counter()
    try:
        if not batch:
            if progress is None or not every:
                for i in range(n_steps):
                    step(i)
            else:
                for i in range(n_steps):
                    step(i)
                    if i % every == 0:
                        progress(i, n_steps)
        else:
            forward = kernel.fast_forward
            shown = 0
            i = 0
            while i < n_steps:
                step(i)
                i += 1
                if i < n_steps and i >= kernel._quiet_from:
                    i = forward(i, n_steps)
                if progress is not None and every and i - shown >= every:
                    shown = i
                    progress(i, n_steps)
    finally:
        elapsed = time.perf_counter() - t0
        gc.unfreeze()
    kernel.finish()
    if progress is not None:
        progress(n_steps, n_steps)
    return elapsed


class RealtimeDriver:
    """Steps a kernel at its feed's clock times (``kernel.feed.grid``, ns since the epoch, UTC) as the
    wall clock reaches them: a driver like :func:`run_backtest_steps` (same call, same kernel).

    Args:
        now_ns: the wall clock (default ``time.time_ns``).
        sleep: waits a number of seconds (default ``time.sleep``); called with at most ``poll_s``.
        should_stop: checked before every step and between sleeps; True stops the run
            (``RunInterrupted``).
        max_lag_s: a step whose time is further in the past than this (the process fell behind) is
            still run, and counted in ``late_steps``.
        poll_s: the longest single wait (seconds), so a stop request is seen promptly.
    """

    def __init__(self, now_ns: Callable[[], int] = time.time_ns, sleep: Callable[[float], None] = time.sleep,
                 should_stop: Callable[[], bool] | None = None, max_lag_s: float = 5.0, poll_s: float = 1.0) -> None:
        self.now_ns = now_ns
        self.sleep = sleep
        self.should_stop = should_stop
        self.max_lag_ns = int(max_lag_s * 1e9)
        self.poll_s = poll_s
        self.late_steps = 0
        self.steps_done = 0

    def __call__(self, kernel, n_steps: int, progress: Callable[[int, int], None] | None = None,
                 every: int = 0) -> float:
        """Run ``n_steps`` steps of ``kernel`` in wall-clock time; returns the seconds spent stepping
        (not waiting). Raises RunInterrupted when ``should_stop()`` says so."""
        times = kernel.feed.grid
        busy = 0.0
        for i in range(n_steps):
            t = times[i]
            while True:
                if self.should_stop is not None and self.should_stop():
                    raise RunInterrupted(f"stopped before step {i} of {n_steps}")
                wait = (t - self.now_ns()) / 1e9
                if wait <= 0:
                    break
                self.sleep(min(wait, self.poll_s))
            if self.now_ns() - t > self.max_lag_ns:
                self.late_steps += 1
            t0 = time.perf_counter()
            kernel.step(i)
            busy += time.perf_counter() - t0
            self.steps_done = i + 1
            if progress is not None and every and i % every == 0:
                progress(i, n_steps)
        kernel.finish()
        if progress is not None:
            progress(n_steps, n_steps)
        return busy
