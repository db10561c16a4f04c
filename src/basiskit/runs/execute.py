"""Execute one backtest: run it, write its files, event log and CSV export, and record it in a
``RunStore`` (when given). The CLI and the API's background runner both come through here, so the
same request gives the same ``summary.json`` either way.

Files written to ``out_dir``: ``summary.json``, ``equity.csv`` (and ``equity.parquet``), ``trades.csv``, ``attribution.csv``,
``venues.csv``, ``events.jsonl`` (see ``basiskit.results.export``), ``events/<component>_events.jsonl``
and ``events.csv`` (see ``basiskit.eventlog``), ``report.html`` (``basiskit.reports``; the
benchmarks come from the run's catalog) and last the completion marker ``run.json``. They are
written to a sibling folder first, moved to ``out_dir`` and marked complete, then the run is recorded
finished (see ``basiskit.runs.folder``): a run recorded finished always has its folder in place, and a
folder without the marker is never a finished run's (when the recording fails the marker says so;
a crash between the two leaves a complete folder of a run the next listing marks interrupted).

Store rows: the run goes ``running`` -> ``finished`` (summary, config, equity points, orders,
trades, events, fund transfers) or ``failed`` / ``interrupted`` / ``cancelled`` with the error body
``{"code", "message", "field", "severity", "resolution"}``. Progress (steps done / total) is written
at most every ``progress_every_s`` seconds; at the same ticks a cancel request (``DELETE`` in the
API, ``RunStore.request_cancel``) is looked for.

Raises: what the run raised (``BasiskitError`` subclasses; anything else as ``InternalError``
RUN-007); ``RunInterrupted`` (RUN-003) when ``should_stop()`` turned true during the run, or on
KeyboardInterrupt / ``StopSignal`` (SIGINT/SIGTERM, see ``basiskit.runs.signals``); ``RunCancelled``
(RUN-010) on a cancel request; ``PathUnusable`` (RUN-012) when ``out_dir`` cannot be written.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from basiskit.engine.backtest import BacktestOutcome, BacktestRequest, prepare, run_backtest
from basiskit.errors.exceptions import BasiskitError, InternalError, RunCancelled, RunInterrupted
from basiskit.errors.retry import with_backoff
from basiskit.eventlog import EventLog, export_csv
from basiskit.persistence.protocol import RunStore
from basiskit.persistence.records import NewRun, RunStatus
from basiskit.results.export import (write_events, write_outcome_attribution, write_outcome_equity, write_outcome_venues,
                                     write_summary, write_trades)
from basiskit.runs import signals
from basiskit.runs.folder import check_out_dir, is_complete, publish, staging_dir, unmark
from basiskit.venues.transfers.store import RunStoreTransferLog
from basiskit.runs.owner import owner_alive, owner_id  # noqa: F401  (re-exported: callers import them from here)
from basiskit.domain.portfolio import SOURCES
from basiskit.runs.event_stream import EventRecorder
from basiskit.runs.results import run_results

log = logging.getLogger(__name__)
EVENT_FLUSH_LINES = 1000  # the event log is written out every that many lines during a run


@dataclass
class RunResult:
    run_id: str
    out_dir: Path
    outcome: BacktestOutcome


def request_json(req: BacktestRequest) -> dict[str, Any]:
    """The request as stored and as the API takes it."""
    return {"mode": req.mode, "start": req.start, "end": req.end, "capital": req.capital,
            "share_class": req.share_class, "config": dict(req.overrides),
            "deposits": [{"date": d, "amount": a} for d, a in req.deposits],
            "withdrawals": [{"date": d, "amount": a} for d, a in req.withdrawals]}


def write_outputs(out: Path, run_id: str, outcome: BacktestOutcome, catalog=None, event_log=None) -> None:
    """Write the run's files into the folder ``out`` (the report last, from the files; files an
    earlier run left there are replaced). The event log (``events/``) was written during the run by the
    kernel's :class:`~basiskit.runs.event_stream.EventRecorder`; ``events.csv`` comes from that
    ``event_log`` (the lines it serialised) or, without it, from the files.
    ``execute_backtest`` calls this on the run's partial folder; :func:`basiskit.runs.folder.publish`
    moves that in place."""
    out.mkdir(parents=True, exist_ok=True)
    loop = outcome.loop
    write_summary(out / "summary.json", outcome.summary)
    equity = write_outcome_equity(out / "equity.csv", outcome, out / "equity.parquet")  # share-class units
    write_trades(out / "trades.csv", loop.trades)
    write_outcome_attribution(out / "attribution.csv", outcome, SOURCES)
    write_outcome_venues(out / "venues.csv", outcome)
    write_events(out / "events.jsonl", loop.events, run_id)
    if event_log is not None:
        event_log.write_csv(out / "events.csv")  # from the lines the run serialised: nothing is read back
    else:
        export_csv(out / "events", out / "events.csv")
    from basiskit.reports import write_report  # the report's modules load when it is written, after the run
    write_report(out, catalog=catalog, benchmarks=catalog is not None, equity=equity)  # equity.csv as it reads back


class _Progress:
    """The loop's progress callback: reports to ``progress``, stops on ``should_stop`` (RunInterrupted)
    and, at most every ``every_s`` seconds, records progress in the store and looks for a cancel
    request (RunCancelled)."""

    def __init__(self, store: RunStore | None, run_id: str, progress: Callable[[int, int], None] | None,
                 should_stop: Callable[[], bool] | None, every_s: float) -> None:
        self.store, self.run_id, self.progress, self.should_stop, self.every_s = store, run_id, progress, should_stop, every_s
        self.last = 0.0
        self.step: tuple[int, int] | None = None
        self.phase: str | None = None  # set once the loop has ended

    def at(self) -> str:
        if self.phase:
            return f" {self.phase}"
        return f" at step {self.step[0]:,} of {self.step[1]:,}" if self.step else " before its first step"

    def __call__(self, i: int, n: int) -> None:
        self.step = (i, n)
        if self.progress is not None:
            self.progress(i, n)
        if self.should_stop is not None and self.should_stop():
            raise RunInterrupted(f"run {self.run_id} stopped{self.at()}: the process is shutting down")
        now = time.monotonic()
        if self.store is not None and (now - self.last >= self.every_s or i >= n):
            self.last = now
            try:
                self.store.update_progress(self.run_id, i, n)
                cancel = self.store.cancel_requested(self.run_id)
            except BasiskitError as exc:  # progress is best effort; the final write retries
                log.warning("progress of %s not recorded: %s", self.run_id, exc)
                return
            if cancel:
                raise RunCancelled(f"run {self.run_id} cancelled on request{self.at()}")


def _fail(store: RunStore | None, run_id: str, out: Path, exc: BasiskitError) -> None:
    """Record the run's end (failed, interrupted or cancelled) in the store and as an ``engine``
    error event in ``out/events`` (unless ``out`` holds an earlier run's complete results)."""
    status = (RunStatus.INTERRUPTED if isinstance(exc, RunInterrupted) else
              RunStatus.CANCELLED if isinstance(exc, RunCancelled) else RunStatus.FAILED)
    body = exc.to_dict()
    with signals.deferred():
        if not is_complete(out):
            try:
                with EventLog(out, run_id, buffered=False, fresh=False) as elog:
                    elog.emit(time.time_ns(), "engine", "error", body)
            except OSError as io_exc:
                log.warning("error event of %s not written: %s", run_id, io_exc)
        if store is not None:
            with_backoff(lambda: store.fail_run(run_id, body, status))


def execute_backtest(req: BacktestRequest, catalog, *, run_id: str, out_dir: str | Path,
                     store: RunStore | None = None, origin: str = "cli",
                     progress: Callable[[int, int], None] | None = None,
                     should_stop: Callable[[], bool] | None = None, progress_every_s: float = 0.5,
                     create_row: bool = True) -> RunResult:
    """Run ``req`` on ``catalog`` as run ``run_id`` (see module docstring). With a store, the run row
    is created (status running) when ``create_row`` and it does not exist yet; otherwise it must
    exist (queued by the API; ``RunNotFound`` if it was deleted meanwhile, ``RunCancelled`` if it was
    cancelled)."""
    out = Path(out_dir)
    queued = store is not None and not create_row  # its row exists: a pre-flight failure is recorded on it
    if not queued:
        check_out_dir(out)  # before anything is recorded
    staging = staging_dir(out, run_id)
    tick = _Progress(store, run_id, progress, should_stop, progress_every_s)
    started = recorded = False
    t0 = time.perf_counter()
    try:
        if store is not None:
            if create_row and store.get_run(run_id) is None:
                store.create_run(NewRun(run_id, req.mode, request_json(req), origin=origin, status=RunStatus.RUNNING,
                                        owner=owner_id(), out_dir=str(out)))
                started = True
            store.start_run(run_id, owner=owner_id())
        started = True
        if queued:
            check_out_dir(out)
        config, _ = prepare(req)
        served = catalog.for_policy(config.data_policy)  # the data the run uses (its own store under a repair policy)
        served.ensure_imported()  # new or changed source files first: run_backtest itself only reads
        if staging.exists():
            shutil.rmtree(staging)
        elog = EventLog(staging, run_id, buffered=True, flush_every=EVENT_FLUSH_LINES)
        recorder = EventRecorder(elog, keep=store is not None)
        try:
            # managed transfers (modes that configure them) are written to fund_transfers as they move
            transfers = RunStoreTransferLog(store, run_id, run_id) if store is not None else None
            outcome = run_backtest(req, catalog, tick, subscribers=[recorder], transfer_store=transfers)
        finally:
            elog.close()  # what the run published so far stays, whole lines only
        tick.phase = "while writing its results"
        outcome.summary["run_id"] = run_id
        write_outputs(staging, run_id, outcome, served, event_log=elog)
        results = run_results(outcome, run_id, recorder.records) if store is not None else None
        config = outcome.config.model_dump(mode="json")
        published = False
        try:
            with signals.deferred():  # a first stop signal waits: the run is moved in place and recorded, or not
                # the folder first, then the row: a run recorded finished always has its results in place
                # (an API client polling the status reads the report at once)
                publish(staging, out, run_id, req.mode)
                if store is not None:
                    try:
                        with_backoff(lambda: store.finish_run(run_id, outcome.summary, config, results,
                                                              time.perf_counter() - t0))
                    except BaseException:
                        unmark(out)  # not recorded finished: the folder is not a finished run's
                        raise
                recorded = published = True
        except signals.StopSignal as stop:
            if not published:
                raise
            log.warning("run %s had finished when %s arrived; its results are complete", run_id, stop.name)
    except BaseException as exc:  # noqa: BLE001 - every way out records the run's end, then re-raises
        err = _ended(exc, run_id, tick, recorded)
        if started and not recorded and err is not None:
            try:
                _fail(store, run_id, out, err)
            except signals.StopSignal:  # another signal while the end is recorded: stopping anyway
                log.warning("run %s: a further stop signal arrived while its end was being recorded", run_id)
        if err is None or err is exc:
            raise
        raise err from (None if isinstance(exc, (KeyboardInterrupt, signals.StopSignal)) else exc)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RunResult(run_id, out, outcome)


def _ended(exc: BaseException, run_id: str, tick: _Progress, recorded: bool) -> BasiskitError | None:
    """The coded error ``exc`` stands for (None: re-raise it as it is, e.g. SystemExit)."""
    if isinstance(exc, BasiskitError):
        return exc
    if isinstance(exc, (KeyboardInterrupt, signals.StopSignal)):
        name = exc.name if isinstance(exc, signals.StopSignal) else "SIGINT (Ctrl-C)"
        if recorded:
            return RunInterrupted(f"run {run_id} finished, but {name} stopped it before it was recorded")
        return RunInterrupted(f"run {run_id} stopped by {name}{tick.at()}")
    if isinstance(exc, Exception):
        log.error("run %s failed", run_id, exc_info=exc)
        if recorded:
            return InternalError(f"run {run_id} finished and was recorded, then failed: {type(exc).__name__}: {exc}")
        return InternalError(f"unexpected {type(exc).__name__}: {exc}")
    return None
