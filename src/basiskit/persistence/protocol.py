"""``RunStore``: the one interface of the run stores (``SqlRunStore`` for SQLite/PostgreSQL,
``MemoryRunStore`` for unit tests). Both pass the same contract tests.

Lifecycle of a run row: ``create_run`` (queued, or running for a synchronous CLI run) ->
``start_run`` (running) -> ``update_progress``* -> ``finish_run`` (finished, with summary and
results) or ``fail_run`` (failed/interrupted/cancelled, with an error body). ``mark_interrupted``
turns rows left queued/running by a dead process into ``interrupted`` (it reads first and writes only
when a row must change, so a listing may call it). ``request_cancel`` ends a queued run at once
(``cancelled``) and flags a running one (``cancel_requested_at``); its runner polls
``cancel_requested`` at its progress ticks and ends it with ``fail_run(..., CANCELLED)``.

Errors:
    RunNotFound (RUN-004): the run id does not exist (transitions, deletes).
    RunConflict (RUN-006): deleting a running run; (RUN-005) summary of an unfinished run.
    RunCancelled (RUN-010): ``start_run`` of a run cancelled while it was queued.
    StoreUnavailable (STORE-001): the database cannot be reached (retry with backoff).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from basiskit.persistence.records import (NewRun, Page, PositionRecord, RunRecord, RunResults, RunStatus,
                                          TransferRecord)


class RunStore(Protocol):
    # -- runs -----------------------------------------------------------------------------------
    def create_run(self, run: NewRun) -> RunRecord: ...

    def start_run(self, run_id: str, owner: str | None = None, progress_total: int | None = None) -> None: ...

    def update_progress(self, run_id: str, done: int, total: int | None) -> None: ...

    def finish_run(self, run_id: str, summary: dict[str, Any], config: dict[str, Any] | None,
                   results: RunResults, duration_seconds: float | None = None) -> None: ...

    def fail_run(self, run_id: str, error: dict[str, Any], status: RunStatus = RunStatus.FAILED,
                 config: dict[str, Any] | None = None) -> None: ...

    def mark_interrupted(self, is_alive: Callable[[str | None], bool]) -> list[str]: ...

    def request_cancel(self, run_id: str) -> RunRecord:
        """queued -> cancelled at once; running -> ``cancel_requested_at`` set (once); an ended run is
        left as it is. Returns the record after the change."""

    def cancel_requested(self, run_id: str) -> bool: ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def list_runs(self, status: RunStatus | None = None, mode: str | None = None, limit: int = 50,
                  offset: int = 0, exclude_kinds: tuple[str, ...] = ()) -> Page:
        """Newest first; the records' ``config`` is None here (``get_run`` has it). Runs whose ``kind``
        is in ``exclude_kinds`` are left out (e.g. ``("trial",)``: the trials of parameter sweeps)."""

    def delete_run(self, run_id: str) -> None: ...

    # -- results --------------------------------------------------------------------------------
    def summary(self, run_id: str) -> dict[str, Any]: ...

    def summaries(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The summaries of those of ``run_ids`` that have one (unknown or unfinished ids are left out)."""

    def equity(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page: ...

    def orders(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page: ...

    def trades(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page: ...

    def events(self, run_id: str, component: str | None = None, kind: str | None = None, limit: int = 1000,
               offset: int = 0) -> Page: ...

    # -- strategy tables ------------------------------------------------------------------------
    def save_positions(self, strategy_id: str, positions: list[PositionRecord], run_id: str | None = None) -> None: ...

    def positions(self, strategy_id: str) -> list[PositionRecord]: ...

    def add_transfers(self, transfers: list[TransferRecord]) -> None: ...

    def transfers(self, strategy_id: str | None = None, run_id: str | None = None) -> list[TransferRecord]: ...

    def save_state(self, strategy_id: str, state: dict[str, Any], run_id: str | None = None) -> None: ...

    def load_state(self, strategy_id: str) -> dict[str, Any] | None: ...

    # -- service --------------------------------------------------------------------------------
    def ping(self) -> None: ...

    def close(self) -> None: ...
