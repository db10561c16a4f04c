"""The trial function every executor runs (serially in the driver, on a process pool, on Ray): one
backtest through the pure ``run_backtest``, its summary and its store records back to the driver.

Data is read, not shipped: a task carries the catalog as its location (``Catalog`` pickles as its paths);
each worker process opens it once (``_catalog``) and memory-maps nothing it does not need -- a trial
loads the Parquet datasets of its mode and period into that process's cache, so a worker's memory is
the same whatever the number of workers, and the driver holds no market data.

Nothing here imports Optuna or Ray; no database is opened: the driver records every result.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.errors.exceptions import BasiskitError, InternalError
from basiskit.persistence.records import RunResults
from basiskit.runs.results import equity_points, order_records, trade_records, transfer_records

TIMING_KEYS = ("loop_seconds", "steps_per_second", "run_id")  # summary keys that differ between identical runs
EQUITY_EVERY_SECONDS = 86_400  # a trial keeps one equity point per clock day (and the last step): see run_trial


@dataclass(frozen=True)
class TrialTask:
    """One trial to run. ``index``: the trial's number in its sweep (0-based); ``run_id``: its run in the store."""

    index: int
    run_id: str
    params: dict[str, Any]
    request: BacktestRequest
    catalog: Any  # basiskit.data.catalog.Catalog (pickled as its location)


@dataclass
class TrialResult:
    """What a worker sends back: the summary and store records (no event log), or the coded error body.
    ``seconds``: wall time of the backtest; ``pid``/``peak_rss_mb``: the worker process and its peak
    resident memory so far (MiB)."""

    index: int
    run_id: str
    params: dict[str, Any]
    summary: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    results: RunResults | None = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    pid: int = 0
    peak_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


GC_SLACK_MB = 64.0  # a worker collects garbage once its memory grew this much since the last collection
_CATALOGS: dict[tuple, Any] = {}  # per process: one catalog per location, its dataset cache reused by the next trials


def _catalog(catalog):  # noqa: ANN001, ANN202
    key = (str(catalog.data_dir), str(catalog.source_dir), catalog.policy.key())
    return _CATALOGS.setdefault(key, catalog)


def peak_rss_mb() -> float:
    """This process's peak resident set size, MiB: ``VmHWM`` of /proc/self/status on Linux (the peak of this
    program: ``ru_maxrss`` would carry the peak of the driver a spawned worker was forked from), else
    ``ru_maxrss`` (Linux reports KiB, macOS bytes)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def rss_mb() -> float | None:
    """This process's resident memory now (MiB; Linux ``VmRSS``), None where /proc is not there."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


_after_gc: list[float] = []  # this process's memory after its last collection


def _collect_if_grown() -> None:
    """A backtest's outcome is held by reference cycles that only a full collection frees (~15 MB per
    year-long trial; Python's own schedule runs it rarely): collect when memory grew ``GC_SLACK_MB``
    since the last collection (~30 ms, every few trials), so a worker's memory stays flat however many
    trials it runs, at ~1 % of the trials' time."""
    now = rss_mb()
    if now is None:
        return
    if not _after_gc:
        _after_gc.append(now)
    elif now - _after_gc[0] > GC_SLACK_MB:
        gc.collect()
        _after_gc[0] = rss_mb() or now


def run_trial(task: TrialTask) -> TrialResult:
    """Run ``task``'s backtest. Never raises for a failed backtest: the error body (``code``, ``message``,
    ``field``...) comes back in ``error`` (anything unexpected as RUN-007).

    The records are light: the summary (every metric, the attribution), orders, trades and transfers in
    full, the equity curve once per clock day (``EQUITY_EVERY_SECONDS``; first and last step included),
    no event log -- a sweep of thousands of year-long trials stays small in the store and cheap to send
    back. The per-step curve and the event log are one ``basiskit backtest`` away (the trial's request
    is stored with its run)."""
    out = TrialResult(task.index, task.run_id, task.params, pid=os.getpid())
    t0 = time.perf_counter()
    try:
        outcome = run_backtest(task.request, _catalog(task.catalog))
        out.summary = {**outcome.summary, "run_id": task.run_id}
        out.config = outcome.config.model_dump(mode="json")
        every = max(1, EQUITY_EVERY_SECONDS // outcome.config.step_seconds)
        points = equity_points(outcome)
        daily = [p for p in points if p.step % every == 0 or p.step == len(points) - 1]
        out.results = RunResults(equity=daily, orders=order_records(outcome),
                                 trades=trade_records(outcome), transfers=transfer_records(outcome, task.run_id),
                                 strategy_state=None)
        del outcome  # the collection below may then free it
    except BasiskitError as exc:
        out.error = exc.to_dict()
    except Exception as exc:  # noqa: BLE001 - a trial's bug must not stop the sweep: recorded as RUN-007
        out.error = InternalError(f"unexpected {type(exc).__name__}: {exc}").to_dict()
    out.seconds = time.perf_counter() - t0
    out.peak_rss_mb = peak_rss_mb()
    _collect_if_grown()
    return out
