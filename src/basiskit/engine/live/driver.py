"""The live driver: steps the kernel at its clock times as the wall clock reaches them, and between
steps keeps the feed pumped, the watchdog checked and the heartbeat beating.

It is a driver like ``engine.drivers.run_backtest_steps`` (``driver(kernel, n_steps, progress,
every) -> seconds spent stepping``), so ``engine.backtest.simulate`` runs a paper or live session
with the backtest's own assembly. Per clock time ``t`` of ``kernel.feed.grid``:

1. until the wall clock reaches ``t + settle_s`` (the bars that close at ``t`` need a moment to
   arrive): take what the source received (``feed.pump``, never past ``t``: no event of the next
   step leaks into this one), check the watchdog, publish a heartbeat every ``heartbeat_s``, check
   ``should_stop`` -- at most ``poll_s`` between rounds;
2. ``kernel.step(i)`` (the feed folds the events up to ``t``; venues, strategy, gate, execution);
3. the circuit breaker, then ``after_step(kernel, i)`` (the session persists its state there).

A feed whose grid **grows** with the events received (``grows``: ``data.tick_live_feed.TickLiveFeed``,
a signal mode's book tickers, each event a step) is not stepped by the clock: step ``i`` runs as soon as
its event is there (``_await_event``: pump, watchdog, heartbeat, ``feed.wait`` up to ``poll_s``);
the first event is awaited before ``on_start``, which reads the session's first time.

The cyclic garbage collector is paused while the loop runs and run between steps (after ``after_step``
and in each waiting round) as often as its thresholds say (``_collect``): its passes never fall
between a market event and an order. ``on_start(kernel)`` runs once before the first step (recovery: reconcile with the venues, restore the
strategy). The time source and the sleep are injected: a test or a rehearsal runs on a fast clock.
``step_started_ns`` (``time.perf_counter_ns`` when the step's market data was taken in) lets the
venue journal measure the latency from a market event's receipt to the orders handed to a venue.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from basiskit.domain.events import Event
from basiskit.errors.exceptions import RunInterrupted


class LiveDriver:
    """Args:
        now_ns: the wall clock (ns since the epoch, UTC).
        sleep: waits that many seconds (called with at most ``poll_s``).
        should_stop: checked every round; True stops the run (``RunInterrupted``).
        poll_s: longest wait between rounds (the watchdog's resolution), seconds.
        settle_s: how long after a clock time the step runs, seconds (of the injected clock).
        settle_wall_s: and at least this many real seconds after the clock reached it (a venue clock
            that jumps -- the emulator's step mode -- still needs the streams' messages to arrive).
        heartbeat_s: seconds between heartbeat events (0: none).
        watchdog: a ``FeedWatchdog`` or None; breaker: a ``CircuitBreaker`` or None.
        on_start / after_step / on_heartbeat: hooks (see module docstring); ``on_heartbeat(info)``
            receives the heartbeat's data (the session writes the status file there).
    """

    def __init__(self, now_ns: Callable[[], int] = time.time_ns, sleep: Callable[[float], None] = time.sleep,
                 should_stop: Callable[[], bool] | None = None, poll_s: float = 0.5, settle_s: float = 0.0,
                 heartbeat_s: float = 60.0, watchdog=None, breaker=None, on_start: Callable | None = None,
                 after_step: Callable | None = None, on_heartbeat: Callable | None = None,
                 settle_wall_s: float = 0.0) -> None:
        self.now_ns = now_ns
        self.sleep = sleep
        self.should_stop = should_stop
        self.poll_s = poll_s
        self.settle_ns = int(settle_s * 1e9)
        self.settle_wall_s = settle_wall_s
        self.heartbeat_ns = int(heartbeat_s * 1e9)
        self.watchdog = watchdog
        self.breaker = breaker
        self.on_start = on_start
        self.after_step = after_step
        self.on_heartbeat = on_heartbeat
        self.steps_done = 0
        self.last_heartbeat_ns = 0
        self.step_started_ns = 0
        self.step_started_cpu_ns = 0  # time.thread_time_ns at the same moment (CPU time: no scheduling waits)
        self.kernel = None
        self._busy = 0

    def heartbeat(self, kernel, now: int) -> None:
        feed = kernel.feed
        ages = feed.ages(now)
        info = {"wall_ns": now, "step": feed.state.step, "steps_done": self.steps_done,
                "feed_age_s": {k: (round(a, 3) if a != float("inf") else None) for k, a in sorted(ages.items())},
                "entries_paused": bool(self.watchdog is not None and self.watchdog.gate.paused),
                "events_received": feed.events_received}
        self.last_heartbeat_ns = now
        kernel.publish(Event(feed.state.t, "engine", "heartbeat", info))
        if self.on_heartbeat is not None:
            self.on_heartbeat(info)

    def _between(self, kernel, t: int) -> None:
        """Wait for clock time ``t`` (+ settle), keeping the feed, the watchdog and the heartbeat."""
        feed = kernel.feed
        reached = None  # real time when the clock reached t (settle_wall_s counts from there)
        while True:
            if self.should_stop is not None and self.should_stop():
                raise RunInterrupted(f"stopped before step {self.steps_done}")
            now = self.now_ns()
            feed.pump(min(now, t))
            if self.watchdog is not None:
                self.watchdog.check(feed.ages(now), now, feed.state.t)
            if self.heartbeat_ns and now - self.last_heartbeat_ns >= self.heartbeat_ns:
                self.heartbeat(kernel, now)
            _collect()  # the collector's turn (paused during steps: see __call__), between rounds
            wait = (t + self.settle_ns - now) / 1e9
            if wait <= 0:
                if not self.settle_wall_s:
                    return
                if reached is None:
                    reached = time.monotonic()
                left = self.settle_wall_s - (time.monotonic() - reached)
                if left <= 0:
                    return
                time.sleep(min(left, self.poll_s))
                continue
            self.sleep(min(wait, self.poll_s))

    def __call__(self, kernel, n_steps: int, progress: Callable[[int, int], None] | None = None,
                 every: int = 0) -> float:
        self.kernel = kernel
        if self.watchdog is not None:  # the kernel's gate, paused while the feed is stale; events to the run
            self.watchdog.gate.inner = kernel.gate
            self.watchdog.gate.perp_names = getattr(kernel.gate, "perp_names", [])
            self.watchdog.publish = kernel.publish
            kernel.gate = self.watchdog.gate
        if getattr(kernel.feed, "grows", False):
            self._await_event(kernel, 0)  # the session's first time is its first event's
        if self.on_start is not None:
            self.on_start(kernel)
        grid = kernel.feed.grid
        busy = 0
        perf = time.perf_counter_ns
        # as the backtest driver does: the session's long-lived objects (market data, catalog, modules)
        # are left out of the collector's full scans, which otherwise stall a step for milliseconds; and
        # the collector runs between steps (``_collect``), not when a step's allocations happen to
        # trigger it (a young-generation pass costs ~0.1-1 ms, inside the market-event-to-order path)
        gc.freeze()
        automatic = gc.isenabled()
        gc.disable()
        try:
            self._loop(kernel, n_steps, grid, perf, progress, every)
        finally:
            if automatic:
                gc.enable()
            gc.unfreeze()
        busy = self._busy
        if self.heartbeat_ns:
            self.heartbeat(kernel, self.now_ns())
        kernel.finish()
        if progress is not None:
            progress(n_steps, n_steps)
        return busy / 1e9

    def _await_event(self, kernel, i: int) -> None:
        """A growing grid (module docstring): wait until event ``i`` has been received, keeping the
        watchdog and the heartbeat."""
        feed = kernel.feed
        while True:
            if self.should_stop is not None and self.should_stop():
                raise RunInterrupted(f"stopped before step {self.steps_done}")
            feed.pump()
            now = self.now_ns()
            if self.watchdog is not None:
                self.watchdog.check(feed.ages(now), now, feed.state.t)
            if self.heartbeat_ns and now - self.last_heartbeat_ns >= self.heartbeat_ns:
                self.heartbeat(kernel, now)
            if len(feed.grid) > i:
                return
            _collect()
            feed.wait(self.poll_s)

    def _loop(self, kernel, n_steps: int, grid, perf, progress, every) -> None:
        busy = 0
        grows = getattr(kernel.feed, "grows", False)
        for i in range(n_steps):
            if grows:
                self._await_event(kernel, i)
            else:
                self._between(kernel, grid[i])
            self.step_started_cpu_ns = time.thread_time_ns()
            t0 = self.step_started_ns = perf()
            kernel.step(i)
            busy += perf() - t0
            self.steps_done = i + 1
            if self.breaker is not None:
                self.breaker.check(kernel)
            if self.after_step is not None:
                self.after_step(kernel, i)
            _collect()
            if progress is not None and every and i % every == 0:
                progress(i, n_steps)
            self._busy = busy


def _collect() -> None:
    """What the automatic collector would do now (CPython's thresholds: a generation is collected once
    the one below it was collected ``threshold`` times; generation 0 after ``threshold0`` net allocations)."""
    c0, c1, c2 = gc.get_count()
    t0, t1, t2 = gc.get_threshold()
    if c0 < t0:
        return
    gc.collect(2 if c2 >= t2 and c1 >= t1 else 1 if c1 >= t1 else 0)


class FastClock:
    """A wall clock for rehearsals and tests: starts at ``start_ns``; ``sleep(s)`` moves it on by ``s``
    seconds at once (an accelerated clock that never waits), ``now_ns()`` reads it."""

    def __init__(self, start_ns: int) -> None:
        self.t = int(start_ns)

    def now_ns(self) -> int:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += max(1, int(s * 1e9))


class ScaledClock:
    """Wall time running ``speed`` times as fast from ``start_ns`` (virtual) at real ``origin_ns``;
    shared by processes that agree on (start_ns, origin_ns, speed) -- a killed and restarted runner
    finds the same virtual time. ``sleep`` really waits (``speed`` times shorter)."""

    def __init__(self, start_ns: int, speed: float, origin_ns: int | None = None) -> None:
        self.start_ns = int(start_ns)
        self.speed = float(speed)
        self.origin_ns = time.time_ns() if origin_ns is None else int(origin_ns)

    def now_ns(self) -> int:
        return self.start_ns + int((time.time_ns() - self.origin_ns) * self.speed)

    def sleep(self, s: float) -> None:
        time.sleep(max(0.0, s / self.speed))


class EmulatorClock:
    """The exchange emulator's replay time as the session's wall clock (``GET /emulator/state``): a
    session on the emulator runs on the venue's time, as a live one runs on the venues' (real) time.
    ``sleep`` waits real seconds."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.rstrip("/") + "/emulator/state"

    def now_ns(self) -> int:
        import json
        from urllib.request import urlopen

        with urlopen(self.url, timeout=10) as r:  # noqa: S310 - the emulator on 127.0.0.1
            return int(json.loads(r.read())["t"]) * 1_000_000

    def sleep(self, s: float) -> None:
        time.sleep(max(0.0, min(s, 0.05)))
