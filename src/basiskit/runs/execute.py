"""Execute one backtest: run it, write its files, event log and CSV export, and record it in a
``RunStore`` (when given). The CLI and the API's background runner both come through here, so the
same request gives the same ``summary.json`` either way.

Files written to ``out_dir``: ``summary.json``, ``equity.csv``, ``trades.csv``, ``attribution.csv``,
``venues.csv``, ``events.jsonl`` (see ``basiskit.results.export``), ``events/<component>_events.jsonl``
and ``events.csv`` (see ``basiskit.eventlog``), and last ``report.html`` (``basiskit.reports``; the
benchmarks come from the run's catalog).

Store rows: the run goes ``running`` -> ``finished`` (summary, config, equity points, orders,
trades, events, fund transfers) or ``failed`` / ``interrupted`` with the error body
``{"code", "message", "field", "severity", "resolution"}``. Progress (steps done / total) is written
at most every ``progress_every_s`` seconds.

Raises: what the run raised (``BasiskitError`` subclasses; anything else as ``InternalError``
RUN-007); ``RunInterrupted`` (RUN-003) when ``should_stop()`` turned true during the run.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from basiskit.engine.backtest import BacktestOutcome, BacktestRequest, run_backtest
from basiskit.errors.exceptions import BasiskitError, InternalError, RunInterrupted
from basiskit.errors.retry import with_backoff
from basiskit.eventlog import EventLog, export_csv
from basiskit.persistence.protocol import RunStore
from basiskit.persistence.records import NewRun, RunStatus
from basiskit.reports import write_report
from basiskit.results.export import (write_events, write_outcome_attribution, write_outcome_equity, write_outcome_venues,
                                     write_summary, write_trades)
from basiskit.venues.ledger import SOURCES
from basiskit.runs.results import run_results, write_events as write_event_log

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: str
    out_dir: Path
    outcome: BacktestOutcome


def owner_id() -> str:
    """``<host>:<pid>`` of this process (recorded on the run rows it runs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process ``owner`` (``<host>:<pid>``) still runs. Rows of other hosts are
    presumed alive (they are that host's to recover); this process's own pid counts as dead (a row
    with it was left by an earlier process that had the same pid)."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        pid_n = int(pid)
    except ValueError:
        return False
    if pid_n == os.getpid():
        return False
    try:
        os.kill(pid_n, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def request_json(req: BacktestRequest) -> dict[str, Any]:
    """The request as stored and as the API takes it."""
    return {"mode": req.mode, "start": req.start, "end": req.end, "capital": req.capital,
            "share_class": req.share_class, "config": dict(req.overrides),
            "deposits": [{"date": d, "amount": a} for d, a in req.deposits],
            "withdrawals": [{"date": d, "amount": a} for d, a in req.withdrawals]}


def write_outputs(out: Path, run_id: str, outcome: BacktestOutcome, catalog=None) -> list:
    """Write the run's files (the report last, from the files); returns the event records for the store."""
    out.mkdir(parents=True, exist_ok=True)
    loop = outcome.loop
    write_summary(out / "summary.json", outcome.summary)
    write_outcome_equity(out / "equity.csv", outcome)  # share-class units, with ltv/health_factor columns
    write_trades(out / "trades.csv", loop.trades)
    write_outcome_attribution(out / "attribution.csv", outcome, SOURCES)
    write_outcome_venues(out / "venues.csv", outcome)
    write_events(out / "events.jsonl", loop.events, run_id)
    with EventLog(out, run_id, buffered=True) as elog:
        records = write_event_log(elog, outcome)
    export_csv(out / "events", out / "events.csv")
    write_report(out, catalog=catalog, benchmarks=catalog is not None)
    return records


def _progress_writer(store: RunStore | None, run_id: str, progress: Callable[[int, int], None] | None,
                     should_stop: Callable[[], bool] | None, every_s: float) -> Callable[[int, int], None]:
    last = [0.0]

    def cb(i: int, n: int) -> None:
        if progress is not None:
            progress(i, n)
        if should_stop is not None and should_stop():
            raise RunInterrupted(f"run {run_id} stopped at step {i} of {n}: the process is shutting down")
        now = time.monotonic()
        if store is not None and (now - last[0] >= every_s or i >= n):
            last[0] = now
            try:
                store.update_progress(run_id, i, n)
            except BasiskitError as exc:  # progress is best effort; the final write retries
                log.warning("progress of %s not recorded: %s", run_id, exc)
    return cb


def _fail(store: RunStore | None, run_id: str, out: Path, exc: BasiskitError) -> None:
    status = RunStatus.INTERRUPTED if isinstance(exc, RunInterrupted) else RunStatus.FAILED
    body = exc.to_dict()
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
    exist (queued by the API; ``RunNotFound`` if it was deleted meanwhile)."""
    out = Path(out_dir)
    if store is not None:
        if create_row and store.get_run(run_id) is None:
            store.create_run(NewRun(run_id, req.mode, request_json(req), origin=origin, status=RunStatus.RUNNING,
                                    owner=owner_id(), out_dir=str(out)))
        store.start_run(run_id, owner=owner_id())
    t0 = time.perf_counter()
    try:
        outcome = run_backtest(req, catalog, _progress_writer(store, run_id, progress, should_stop, progress_every_s))
        outcome.summary["run_id"] = run_id
        served = catalog.for_policy(outcome.config.data_policy)  # benchmarks from the data the run used
        events = write_outputs(out, run_id, outcome, served)
        results = run_results(outcome, run_id, events) if store is not None else None
    except BasiskitError as exc:
        _fail(store, run_id, out, exc)
        raise
    except Exception as exc:  # noqa: BLE001 - recorded as RUN-007, re-raised with the cause
        log.exception("run %s failed", run_id)
        err = InternalError(f"unexpected {type(exc).__name__}: {exc}")
        _fail(store, run_id, out, err)
        raise err from exc
    if store is not None:
        config = outcome.config.model_dump(mode="json")
        try:
            with_backoff(lambda: store.finish_run(run_id, outcome.summary, config, results, time.perf_counter() - t0))
        except Exception as exc:  # noqa: BLE001 - never leave the row "running"
            log.exception("run %s: results not recorded", run_id)
            err = exc if isinstance(exc, BasiskitError) else InternalError(f"results not recorded: {exc}")
            _fail(store, run_id, out, err)
            raise err from (None if err is exc else exc)
    return RunResult(run_id, out, outcome)
