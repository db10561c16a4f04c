"""``MemoryRunStore``: the ``RunStore`` interface in memory (unit tests, throw-away runs).

Thread-safe (one lock); same ordering and errors as ``SqlRunStore``: runs newest first
(``created_at``, then id, descending), results in ``seq``/``step`` order.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import replace
from typing import Any, Callable

from basiskit.errors.exceptions import RunCancelled, RunConflict, RunNotFound
from basiskit.persistence.records import (ACTIVE, NewRun, Page, PositionRecord, RunRecord, RunResults, RunStatus,
                                          TransferRecord, cancelled_error, clean_json, interrupted_error, utcnow)


def _page(rows: list, limit: int, offset: int) -> Page:
    return Page(rows[offset:offset + limit], len(rows), limit, offset)


class MemoryRunStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, RunRecord] = {}
        self._summaries: dict[str, dict[str, Any]] = {}
        self._results: dict[str, RunResults] = {}
        self._positions: dict[str, list[PositionRecord]] = {}
        self._transfers: list[TransferRecord] = []
        self._state: dict[str, dict[str, Any]] = {}

    # -- runs -----------------------------------------------------------------------------------
    def create_run(self, run: NewRun) -> RunRecord:
        with self._lock:
            if run.id in self._runs:
                raise RunConflict(f"run {run.id} already exists", code="RUN-006")
            started = utcnow() if run.status is RunStatus.RUNNING else None
            rec = RunRecord(run.id, run.kind, run.mode, run.status, run.origin, clean_json(run.request), None,
                            utcnow(), started, None, None, 0, None, None, run.out_dir, run.owner)
            self._runs[run.id] = rec
            return rec

    def _update(self, run_id: str, **changes: Any) -> RunRecord:
        rec = self._runs.get(run_id)
        if rec is None:
            raise RunNotFound(f"run {run_id} not found")
        rec = replace(rec, **changes)
        self._runs[run_id] = rec
        return rec

    def start_run(self, run_id: str, owner: str | None = None, progress_total: int | None = None) -> None:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is not None and rec.status is RunStatus.CANCELLED:
                raise RunCancelled(f"run {run_id} was cancelled before it started")
            self._update(run_id, status=RunStatus.RUNNING, started_at=(rec.started_at if rec and rec.started_at else utcnow()),
                         owner=owner if owner is not None else (rec.owner if rec else None), progress_total=progress_total)

    def update_progress(self, run_id: str, done: int, total: int | None) -> None:
        with self._lock:
            self._update(run_id, progress_done=int(done), progress_total=None if total is None else int(total))

    def finish_run(self, run_id: str, summary: dict[str, Any], config: dict[str, Any] | None, results: RunResults,
                   duration_seconds: float | None = None) -> None:
        with self._lock:
            rec = self._update(run_id, status=RunStatus.FINISHED, finished_at=utcnow(), config=clean_json(config),
                               duration_seconds=duration_seconds)
            self._update(run_id, progress_done=rec.progress_total or rec.progress_done)
            self._summaries[run_id] = clean_json(summary)
            self._results[run_id] = replace(results, events=[replace(e, data=clean_json(e.data)) for e in results.events])
            self._transfers.extend(results.transfers)
            if results.strategy_state is not None:
                self._state[run_id] = clean_json(results.strategy_state)

    def fail_run(self, run_id: str, error: dict[str, Any], status: RunStatus = RunStatus.FAILED,
                 config: dict[str, Any] | None = None) -> None:
        with self._lock:
            rec = self._runs.get(run_id)
            self._update(run_id, status=status, finished_at=utcnow(), error=clean_json(error),
                         config=clean_json(config) if config is not None else (rec.config if rec else None))

    def mark_interrupted(self, is_alive: Callable[[str | None], bool]) -> list[str]:
        with self._lock:
            ids = [r.id for r in self._runs.values() if r.status in ACTIVE and not is_alive(r.owner)]
            for rid in ids:
                self._update(rid, status=RunStatus.INTERRUPTED, finished_at=utcnow(), error=interrupted_error())
            return sorted(ids)

    def request_cancel(self, run_id: str) -> RunRecord:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is not None and rec.status is RunStatus.QUEUED:
                now = utcnow()
                return self._update(run_id, status=RunStatus.CANCELLED, finished_at=now, cancel_requested_at=now,
                                    error=cancelled_error())
            if rec is not None and rec.status is RunStatus.RUNNING and rec.cancel_requested_at is None:
                return self._update(run_id, cancel_requested_at=utcnow())
            return self._update(run_id)  # RunNotFound, or unchanged

    def cancel_requested(self, run_id: str) -> bool:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None:
                raise RunNotFound(f"run {run_id} not found")
            return rec.cancel_requested_at is not None

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            return self._runs.get(run_id)

    def list_runs(self, status: RunStatus | None = None, mode: str | None = None, limit: int = 50,
                  offset: int = 0, exclude_kinds: tuple[str, ...] = ()) -> Page:
        with self._lock:
            rows = [r for r in self._runs.values() if (status is None or r.status == status) and (mode is None or r.mode == mode)
                    and r.kind not in exclude_kinds]
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return _page([replace(r, config=None) for r in rows], limit, offset)  # listings leave the config out

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None:
                raise RunNotFound(f"run {run_id} not found")
            if rec.status is RunStatus.RUNNING:
                raise RunConflict(f"run {run_id} is running; delete it once it has ended", code="RUN-006")
            del self._runs[run_id]
            self._summaries.pop(run_id, None)
            self._results.pop(run_id, None)
            self._transfers = [t for t in self._transfers if t.run_id != run_id]
            self._state.pop(run_id, None)

    # -- results --------------------------------------------------------------------------------
    def _finished(self, run_id: str) -> RunResults:
        rec = self._runs.get(run_id)
        if rec is None:
            raise RunNotFound(f"run {run_id} not found")
        return self._results.get(run_id, RunResults())

    def summary(self, run_id: str) -> dict[str, Any]:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None:
                raise RunNotFound(f"run {run_id} not found")
            if run_id not in self._summaries:
                raise RunConflict(f"run {run_id} is {rec.status.value}: it has no summary", code="RUN-005")
            return copy.deepcopy(self._summaries[run_id])

    def summaries(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {rid: copy.deepcopy(self._summaries[rid]) for rid in run_ids if rid in self._summaries}

    def equity(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        with self._lock:
            return _page(self._finished(run_id).equity, limit, offset)

    def orders(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        with self._lock:
            return _page(self._finished(run_id).orders, limit, offset)

    def trades(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        with self._lock:
            return _page(self._finished(run_id).trades, limit, offset)

    def events(self, run_id: str, component: str | None = None, kind: str | None = None, limit: int = 1000,
               offset: int = 0) -> Page:
        with self._lock:
            rows = [e for e in self._finished(run_id).events
                    if (component is None or e.component == component) and (kind is None or e.kind == kind)]
        return _page(rows, limit, offset)

    # -- strategy tables ------------------------------------------------------------------------
    def save_positions(self, strategy_id: str, positions: list[PositionRecord], run_id: str | None = None) -> None:
        with self._lock:
            self._positions[strategy_id] = sorted(positions, key=lambda p: (p.venue, p.instrument))

    def positions(self, strategy_id: str) -> list[PositionRecord]:
        with self._lock:
            return list(self._positions.get(strategy_id, []))

    def add_transfers(self, transfers: list[TransferRecord]) -> None:
        with self._lock:
            self._transfers.extend(transfers)

    def transfers(self, strategy_id: str | None = None, run_id: str | None = None) -> list[TransferRecord]:
        with self._lock:
            rows = [t for t in self._transfers if (strategy_id is None or t.strategy_id == strategy_id)
                    and (run_id is None or t.run_id == run_id)]
        return sorted(rows, key=lambda t: t.timestamp)  # stable: insertion order within a timestamp

    def save_state(self, strategy_id: str, state: dict[str, Any], run_id: str | None = None) -> None:
        with self._lock:
            self._state[strategy_id] = clean_json(state)

    def load_state(self, strategy_id: str) -> dict[str, Any] | None:
        with self._lock:
            st = self._state.get(strategy_id)
            return copy.deepcopy(st) if st is not None else None

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
