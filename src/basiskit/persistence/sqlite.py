"""``SqliteRunStore``: the ``RunStore`` of a CLI backtest recording into a SQLite file, on the standard
``sqlite3`` module.

Why: a recorded ``basiskit backtest`` spent ~0.3 s importing SQLAlchemy for a handful of statements
(create the run, progress, finish with its rows). This store runs the run's lifecycle itself
(``create_run``, ``start_run``, ``update_progress``, ``cancel_requested``, ``get_run``, ``finish_run``,
``fail_run``, ``mark_interrupted``) and hands every other method (listings, pages of results, deletes,
cancel requests, strategy tables) to a ``SqlRunStore`` on the same file, opened on first use.

The rows are the ones ``SqlRunStore`` writes (it reads them, the API serves them): wall times as
SQLAlchemy's SQLite ``DATETIME`` stores them (UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), JSON columns as
``json.dumps`` text with NaN/inf as null (None as SQL NULL); the same SQLite
settings (WAL, 30 s busy timeout, foreign keys, ``synchronous=NORMAL``, writes in ``BEGIN IMMEDIATE``).
The contract tests run against it, and a test reads its rows back through ``SqlRunStore``.

Schema: opening checks ``alembic_version`` against the migrations' head (one read); a database that is
new or behind is migrated through ``SqlRunStore`` (SQLAlchemy and Alembic load only then).

Errors as ``SqlRunStore``: StoreUnavailable (STORE-001) when the file cannot be opened or stays
locked, RunNotFound / RunConflict / RunCancelled on the transitions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from basiskit.errors.exceptions import RunCancelled, RunConflict, RunNotFound, StoreUnavailable
from basiskit.persistence.migrate import head_revision
from basiskit.persistence.records import (ACTIVE, NewRun, Page, PositionRecord, RunRecord, RunResults, RunStatus,
                                          TransferRecord, interrupted_error, json_text, result_rows, utcnow)

if TYPE_CHECKING:
    from basiskit.persistence.sql import SqlRunStore

_PRAGMAS = ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL")  # = sql.make_engine
_COLUMNS = ("id", "kind", "mode", "status", "origin", "request", "config", "created_at", "started_at", "finished_at",
            "duration_seconds", "progress_done", "progress_total", "error", "out_dir", "owner", "cancel_requested_at")
_ACTIVE = tuple(s.value for s in ACTIVE)


def _when(dt: datetime | None) -> str | None:
    """A wall time as SQLAlchemy's SQLite DATETIME stores it: UTC, naive, microseconds always."""
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc)
    return f"{dt:%Y-%m-%d %H:%M:%S}.{dt.microsecond:06d}"


def _parse_when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _json(obj: Any) -> str | None:
    """A JSON column's value as SqlRunStore writes it: JSON text, SQL NULL for None."""
    return None if obj is None else json_text(obj)


def _parse_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _record(row: tuple) -> RunRecord:
    r = dict(zip(_COLUMNS, row))
    return RunRecord(r["id"], r["kind"], r["mode"], RunStatus(r["status"]), r["origin"], _parse_json(r["request"]),
                     _parse_json(r["config"]), _parse_when(r["created_at"]), _parse_when(r["started_at"]),
                     _parse_when(r["finished_at"]), r["duration_seconds"], r["progress_done"], r["progress_total"],
                     _parse_json(r["error"]), r["out_dir"], r["owner"], _parse_when(r["cancel_requested_at"]))


class SqliteRunStore:
    """Args: path: the SQLite database file (created and migrated if needed)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._lock = threading.RLock()
        self._sql: SqlRunStore | None = None
        try:
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            for pragma in _PRAGMAS:
                self._conn.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"database unavailable: {exc}") from exc
        if not self._is_current():
            self._delegate()  # SqlRunStore migrates on open

    def _is_current(self) -> bool:
        head = head_revision()
        try:
            versions = [v for (v,) in self._conn.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.OperationalError:  # no such table: a new database
            return False
        return head is not None and versions == [head]

    def _delegate(self) -> SqlRunStore:
        """The SqlRunStore on the same file, for everything this store does not do itself."""
        with self._lock:
            if self._sql is None:
                from basiskit.persistence.sql import SqlRunStore  # SQLAlchemy loads here, when it is needed

                self._sql = SqlRunStore(self.url)
            return self._sql

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction (``BEGIN IMMEDIATE`` for writes, as SqlRunStore), committed on success."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except (sqlite3.OperationalError, sqlite3.InterfaceError) as exc:
                raise StoreUnavailable(f"database unavailable: {exc}") from exc

    @staticmethod
    def _get(conn: sqlite3.Connection, run_id: str) -> tuple:
        row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"run {run_id} not found")
        return row

    # -- the run's lifecycle (here) ---------------------------------------------------------------
    def create_run(self, run: NewRun) -> RunRecord:
        now = utcnow()
        with self._tx(write=True) as c:
            if c.execute("SELECT 1 FROM runs WHERE id = ?", (run.id,)).fetchone() is not None:
                raise RunConflict(f"run {run.id} already exists", code="RUN-006")
            started = now if run.status is RunStatus.RUNNING else None
            c.execute("INSERT INTO runs (id, kind, mode, status, origin, request, created_at, started_at, progress_done, "
                      "out_dir, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                      (run.id, run.kind, run.mode, run.status.value, run.origin, _json(run.request), _when(now),
                       _when(started), run.out_dir, run.owner))
            return _record(self._get(c, run.id))

    def start_run(self, run_id: str, owner: str | None = None, progress_total: int | None = None) -> None:
        with self._tx(write=True) as c:
            row = dict(zip(_COLUMNS, self._get(c, run_id)))
            if row["status"] == RunStatus.CANCELLED.value:
                raise RunCancelled(f"run {run_id} was cancelled before it started")
            c.execute("UPDATE runs SET status = ?, started_at = ?, owner = ?, progress_total = ? WHERE id = ?",
                      (RunStatus.RUNNING.value, row["started_at"] or _when(utcnow()),
                       owner if owner is not None else row["owner"], progress_total, run_id))

    def update_progress(self, run_id: str, done: int, total: int | None) -> None:
        with self._tx(write=True) as c:
            n = c.execute("UPDATE runs SET progress_done = ?, progress_total = ? WHERE id = ?",
                          (int(done), None if total is None else int(total), run_id)).rowcount
            if n == 0:
                raise RunNotFound(f"run {run_id} not found")

    def finish_run(self, run_id: str, summary: dict[str, Any], config: dict[str, Any] | None, results: RunResults,
                   duration_seconds: float | None = None) -> None:
        tables = result_rows(run_id, results)  # built before the write lock is taken
        with self._tx(write=True) as c:
            row = dict(zip(_COLUMNS, self._get(c, run_id)))
            c.execute("UPDATE runs SET status = ?, finished_at = ?, summary = ?, config = ?, duration_seconds = ?, "
                      "progress_done = ? WHERE id = ?",
                      (RunStatus.FINISHED.value, _when(utcnow()), _json(summary), _json(config), duration_seconds,
                       row["progress_total"] or row["progress_done"], run_id))
            for table, columns, rows in tables:
                if rows:
                    c.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                  rows)

    def fail_run(self, run_id: str, error: dict[str, Any], status: RunStatus = RunStatus.FAILED,
                 config: dict[str, Any] | None = None) -> None:
        with self._tx(write=True) as c:
            self._get(c, run_id)
            c.execute("UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
                      (status.value, _when(utcnow()), _json(error), run_id))
            if config is not None:
                c.execute("UPDATE runs SET config = ? WHERE id = ?", (_json(config), run_id))

    def mark_interrupted(self, is_alive: Callable[[str | None], bool]) -> list[str]:
        marks = ", ".join("?" * len(_ACTIVE))
        with self._tx() as c:  # read first: a listing takes no write lock unless a row must change
            rows = c.execute(f"SELECT id, owner FROM runs WHERE status IN ({marks})", _ACTIVE).fetchall()
        dead = [(rid, owner) for rid, owner in rows if not is_alive(owner)]
        if not dead:
            return []
        ids = []
        with self._tx(write=True) as c:
            for rid, owner in dead:  # only if still active and still that owner's (it may have moved on)
                n = c.execute(f"UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status IN "
                              f"({marks}) AND owner IS ?",
                              (RunStatus.INTERRUPTED.value, _when(utcnow()), _json(interrupted_error()), rid, *_ACTIVE,
                               owner)).rowcount
                if n:
                    ids.append(rid)
        return sorted(ids)

    def cancel_requested(self, run_id: str) -> bool:
        with self._tx() as c:
            row = c.execute("SELECT cancel_requested_at FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"run {run_id} not found")
        return row[0] is not None

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._tx() as c:
            row = c.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _record(row)

    def ping(self) -> None:
        with self._tx() as c:
            c.execute("SELECT 1")

    def close(self) -> None:
        with self._lock:
            if self._sql is not None:
                self._sql.close()
                self._sql = None
            self._conn.close()

    # -- everything else (SqlRunStore on the same file) ------------------------------------------
    def request_cancel(self, run_id: str) -> RunRecord:
        return self._delegate().request_cancel(run_id)

    def list_runs(self, status: RunStatus | None = None, mode: str | None = None, limit: int = 50,
                  offset: int = 0) -> Page:
        return self._delegate().list_runs(status, mode, limit, offset)

    def delete_run(self, run_id: str) -> None:
        self._delegate().delete_run(run_id)

    def summary(self, run_id: str) -> dict[str, Any]:
        return self._delegate().summary(run_id)

    def summaries(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._delegate().summaries(run_ids)

    def equity(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        return self._delegate().equity(run_id, limit, offset)

    def orders(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        return self._delegate().orders(run_id, limit, offset)

    def trades(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        return self._delegate().trades(run_id, limit, offset)

    def events(self, run_id: str, component: str | None = None, kind: str | None = None, limit: int = 1000,
               offset: int = 0) -> Page:
        return self._delegate().events(run_id, component, kind, limit, offset)

    def save_positions(self, strategy_id: str, positions: list[PositionRecord], run_id: str | None = None) -> None:
        self._delegate().save_positions(strategy_id, positions, run_id)

    def positions(self, strategy_id: str) -> list[PositionRecord]:
        return self._delegate().positions(strategy_id)

    def add_transfers(self, transfers: list[TransferRecord]) -> None:
        self._delegate().add_transfers(transfers)

    def transfers(self, strategy_id: str | None = None, run_id: str | None = None) -> list[TransferRecord]:
        return self._delegate().transfers(strategy_id, run_id)

    def save_state(self, strategy_id: str, state: dict[str, Any], run_id: str | None = None) -> None:
        self._delegate().save_state(strategy_id, state, run_id)

    def load_state(self, strategy_id: str) -> dict[str, Any] | None:
        return self._delegate().load_state(strategy_id)
