"""``SqlRunStore``: the ``RunStore`` interface on SQLAlchemy 2 (SQLite file or PostgreSQL).

Opening a store brings the schema to the newest migration (one read when it is there already; see
``basiskit.persistence.migrate``). SQLite is put in WAL mode (readers never wait for the writer) with a
30 s busy timeout, and write transactions start with ``BEGIN IMMEDIATE`` so a read-then-write
transaction cannot fail on a lock upgrade. Database errors that mean "cannot reach the database" are
raised as ``StoreUnavailable`` (STORE-001, retry with backoff).

A finished run's rows (equity points, orders, trades, events, transfers: tens of thousands) go in as
plain tuples through the driver's ``executemany`` (``_insert_rows``), in the run's transaction: no
per-row SQLAlchemy parameter processing, event data serialised once (NaN/inf as null).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from basiskit.errors.exceptions import RunCancelled, RunConflict, RunNotFound, StoreUnavailable
from basiskit.persistence.migrate import upgrade
from basiskit.persistence.models import (EquityRow, EventRow, FundTransferRow, OrderRow, RunRow, StrategyPositionRow,
                                         StrategyStateRow, TradeRow)
from basiskit.persistence.records import (ACTIVE, EquityPoint, EventRecord, NewRun, OrderRecord, Page, PositionRecord,
                                          RunRecord, RunResults, RunStatus, TradeRecord, TransferRecord, cancelled_error,
                                          clean_json, equity_rows, interrupted_error, result_rows, utcnow)
from basiskit.persistence.url import check_url

_CHUNK = 5000  # rows per INSERT batch


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the SQLite pragmas and write-lock handling described above.
    Raises UnsupportedDatabase (STORE-003) for a URL that is not SQLite or PostgreSQL (psycopg)."""
    url = check_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=10, max_overflow=20)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _record(row: RunRow, with_config: bool = True) -> RunRecord:
    return RunRecord(row.id, row.kind, row.mode, RunStatus(row.status), row.origin, row.request,
                     row.config if with_config else None,
                     row.created_at, row.started_at, row.finished_at, row.duration_seconds, row.progress_done,
                     row.progress_total, row.error, row.out_dir, row.owner, row.cancel_requested_at)


_RUN_COLUMNS = [c for c in RunRow.__table__.columns if c.key != "summary"]
_LIST_COLUMNS = [c for c in _RUN_COLUMNS if c.key != "config"]  # listings leave the resolved config out


class SqlRunStore:
    """Args: url: SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``); migrate: run the
    migrations on open (default True)."""

    def __init__(self, url: str, migrate: bool = True) -> None:
        self.url = check_url(url)
        self.engine = make_engine(self.url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(write=True), expire_on_commit=False)
        if migrate:
            upgrade(self.engine)

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Session]:
        try:
            with (self._write if write else self._read).begin() as s:
                yield s
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        """A read-only Core connection (cheaper than an ORM session; the hot path of the API)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc

    def _row(self, s: Session, run_id: str) -> RunRow:
        row = s.get(RunRow, run_id)
        if row is None:
            raise RunNotFound(f"run {run_id} not found")
        return row

    # -- runs -----------------------------------------------------------------------------------
    def create_run(self, run: NewRun) -> RunRecord:
        now = utcnow()
        with self._tx(write=True) as s:
            if s.get(RunRow, run.id) is not None:
                raise RunConflict(f"run {run.id} already exists", code="RUN-006")
            row = RunRow(id=run.id, kind=run.kind, mode=run.mode, status=run.status.value, origin=run.origin,
                         request=clean_json(run.request), created_at=now,
                         started_at=now if run.status is RunStatus.RUNNING else None, progress_done=0,
                         out_dir=run.out_dir, owner=run.owner)
            s.add(row)
            s.flush()
            return _record(row)

    def start_run(self, run_id: str, owner: str | None = None, progress_total: int | None = None) -> None:
        with self._tx(write=True) as s:
            row = self._row(s, run_id)
            if row.status == RunStatus.CANCELLED.value:
                raise RunCancelled(f"run {run_id} was cancelled before it started")
            row.status = RunStatus.RUNNING.value
            row.started_at = row.started_at or utcnow()
            row.owner = owner if owner is not None else row.owner
            row.progress_total = progress_total

    def update_progress(self, run_id: str, done: int, total: int | None) -> None:
        with self._tx(write=True) as s:
            n = s.execute(update(RunRow).where(RunRow.id == run_id)
                          .values(progress_done=int(done), progress_total=None if total is None else int(total))).rowcount
            if n == 0:
                raise RunNotFound(f"run {run_id} not found")

    def finish_run(self, run_id: str, summary: dict[str, Any], config: dict[str, Any] | None, results: RunResults,
                   duration_seconds: float | None = None) -> None:
        with self._tx(write=True) as s:
            row = self._row(s, run_id)
            row.status = RunStatus.FINISHED.value
            row.finished_at = utcnow()
            row.summary = clean_json(summary)
            row.config = clean_json(config)
            row.duration_seconds = duration_seconds
            row.progress_done = row.progress_total or row.progress_done
            s.flush()
            postgres = s.get_bind().dialect.name == "postgresql"
            if postgres:
                self._copy_equity(s, run_id, results.equity)
            for table, columns, rows in result_rows(run_id, results):
                if not (postgres and table == "equity_points"):
                    self._insert_rows(s, table, columns, rows)
            if results.strategy_state is not None:  # same transaction: only a finished run's state is kept
                s.merge(StrategyStateRow(strategy_id=run_id, state=clean_json(results.strategy_state), run_id=run_id,
                                         updated_at=utcnow()))

    @staticmethod
    def _insert(s: Session, model: type, rows: Iterable[dict[str, Any]]) -> None:
        """Insert ``rows`` in batches of ``_CHUNK`` (rows may be a generator: a long run's equity points
        are never all turned into dicts at once)."""
        conn, stmt = s.connection(), insert(model.__table__)  # Core executemany: no ORM bookkeeping per row
        it = iter(rows)
        while batch := list(islice(it, _CHUNK)):
            conn.execute(stmt, batch)

    @staticmethod
    def _insert_rows(s: Session, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """Insert ``rows`` (tuples in ``columns`` order, a list or an iterator) through the driver's
        executemany, in batches of ``_CHUNK``, in the session's transaction. Values must be what the driver takes as they are
        (numbers, strings, None; JSON columns as text)."""
        it = iter(rows)
        batch = list(islice(it, _CHUNK))
        if not batch:
            return
        conn = s.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        while batch:
            conn.exec_driver_sql(sql, batch)
            batch = list(islice(it, _CHUNK))

    @staticmethod
    def _copy_equity(s: Session, run_id: str, points) -> None:
        """PostgreSQL: equity points through COPY (a minute-step run has ~10^6 of them; COPY is ~10x
        faster than batched INSERTs), in the session's transaction."""
        raw = s.connection().connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy("COPY equity_points (run_id, step, timestamp, equity, net_deposits, net_delta) FROM STDIN") as cp:
                for row in equity_rows(run_id, points):
                    cp.write_row(row)

    def fail_run(self, run_id: str, error: dict[str, Any], status: RunStatus = RunStatus.FAILED,
                 config: dict[str, Any] | None = None) -> None:
        with self._tx(write=True) as s:
            row = self._row(s, run_id)
            row.status = status.value
            row.finished_at = utcnow()
            row.error = clean_json(error)
            if config is not None:
                row.config = clean_json(config)

    def mark_interrupted(self, is_alive: Callable[[str | None], bool]) -> list[str]:
        active = [a.value for a in ACTIVE]
        with self._conn() as c:  # read first: a listing takes no write lock unless a row must change
            rows = c.execute(select(RunRow.id, RunRow.owner).where(RunRow.status.in_(active))).all()
        dead = [(rid, owner) for rid, owner in rows if not is_alive(owner)]
        if not dead:
            return []
        ids = []
        with self._tx(write=True) as s:
            for rid, owner in dead:  # only if still active and still that owner's (it may have moved on)
                owned = RunRow.owner.is_(None) if owner is None else RunRow.owner == owner
                n = s.execute(update(RunRow).where(RunRow.id == rid, RunRow.status.in_(active), owned).values(
                    status=RunStatus.INTERRUPTED.value, finished_at=utcnow(), error=interrupted_error())).rowcount
                if n:
                    ids.append(rid)
        return sorted(ids)

    def request_cancel(self, run_id: str) -> RunRecord:
        with self._tx(write=True) as s:
            row = self._row(s, run_id)
            if row.status == RunStatus.QUEUED.value:
                row.status = RunStatus.CANCELLED.value
                row.finished_at = row.cancel_requested_at = utcnow()
                row.error = cancelled_error()
            elif row.status == RunStatus.RUNNING.value and row.cancel_requested_at is None:
                row.cancel_requested_at = utcnow()
            s.flush()
            return _record(row)

    def cancel_requested(self, run_id: str) -> bool:
        with self._conn() as c:
            row = c.execute(select(RunRow.status, RunRow.cancel_requested_at).where(RunRow.id == run_id)).one_or_none()
        if row is None:
            raise RunNotFound(f"run {run_id} not found")
        return row.cancel_requested_at is not None

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._conn() as c:
            row = c.execute(select(*_RUN_COLUMNS).where(RunRow.id == run_id)).one_or_none()
            return None if row is None else _record(row)

    def list_runs(self, status: RunStatus | None = None, mode: str | None = None, limit: int = 50,
                  offset: int = 0, exclude_kinds: tuple[str, ...] = ()) -> Page:
        q = select(*_LIST_COLUMNS)
        cq = select(func.count()).select_from(RunRow)
        if exclude_kinds:
            q, cq = q.where(RunRow.kind.not_in(exclude_kinds)), cq.where(RunRow.kind.not_in(exclude_kinds))
        if status is not None:
            q, cq = q.where(RunRow.status == status.value), cq.where(RunRow.status == status.value)
        if mode is not None:
            q, cq = q.where(RunRow.mode == mode), cq.where(RunRow.mode == mode)
        with self._conn() as c:
            rows = c.execute(q.order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(limit).offset(offset)).all()
            total = c.execute(cq).scalar_one()
        return Page([_record(r, with_config=False) for r in rows], total, limit, offset)

    def delete_run(self, run_id: str) -> None:
        with self._tx(write=True) as s:
            row = self._row(s, run_id)
            if row.status == RunStatus.RUNNING.value:
                raise RunConflict(f"run {run_id} is running; delete it once it has ended", code="RUN-006")
            for model in (EquityRow, OrderRow, TradeRow, EventRow):  # explicit: no reliance on ON DELETE CASCADE
                s.execute(delete(model).where(model.run_id == run_id))
            s.execute(delete(FundTransferRow).where(FundTransferRow.run_id == run_id))
            s.execute(delete(StrategyStateRow).where(StrategyStateRow.run_id == run_id))
            s.delete(row)

    # -- results --------------------------------------------------------------------------------
    def summary(self, run_id: str) -> dict[str, Any]:
        with self._conn() as c:
            row = c.execute(select(RunRow.status, RunRow.summary).where(RunRow.id == run_id)).one_or_none()
        if row is None:
            raise RunNotFound(f"run {run_id} not found")
        if row.summary is None:
            raise RunConflict(f"run {run_id} is {row.status}: it has no summary", code="RUN-005")
        return row.summary

    def summaries(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        with self._conn() as c:
            rows = c.execute(select(RunRow.id, RunRow.summary)
                             .where(RunRow.id.in_(ids), RunRow.summary.is_not(None))).all()
        return {rid: summary for rid, summary in rows if summary is not None}

    def _page(self, run_id: str, model: type, order: Any, convert: Callable[[Any], Any], limit: int, offset: int,
              where: tuple = ()) -> Page:
        with self._conn() as c:
            if c.execute(select(RunRow.id).where(RunRow.id == run_id)).first() is None:
                raise RunNotFound(f"run {run_id} not found")
            cond = (model.run_id == run_id, *where)
            rows = c.execute(select(model.__table__).where(*cond).order_by(order).limit(limit).offset(offset)).all()
            total = c.execute(select(func.count()).select_from(model).where(*cond)).scalar_one()
        return Page([convert(r) for r in rows], total, limit, offset)

    def equity(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        return self._page(run_id, EquityRow, EquityRow.step, lambda r: EquityPoint(
            r.step, r.timestamp, r.equity, r.net_deposits, r.net_delta), limit, offset)

    def orders(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        return self._page(run_id, OrderRow, OrderRow.seq, lambda r: OrderRecord(
            r.seq, r.timestamp, r.venue, r.operation, r.token, r.side, r.amount, r.to_venue, r.atomic_group_id,
            r.reason), limit, offset)

    def trades(self, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
        return self._page(run_id, TradeRow, TradeRow.seq, lambda r: TradeRecord(
            r.seq, r.timestamp, r.venue, r.operation, r.instrument, r.side, r.amount, r.price, r.fee, r.fee_currency,
            r.gas, r.status, r.error_code, r.to_venue, r.reason), limit, offset)

    def events(self, run_id: str, component: str | None = None, kind: str | None = None, limit: int = 1000,
               offset: int = 0) -> Page:
        where = tuple(c for c in (EventRow.component == component if component is not None else None,
                                  EventRow.kind == kind if kind is not None else None) if c is not None)
        return self._page(run_id, EventRow, EventRow.seq, lambda r: EventRecord(
            r.seq, r.timestamp, r.component, r.kind, r.data), limit, offset, where)

    # -- strategy tables ------------------------------------------------------------------------
    def save_positions(self, strategy_id: str, positions: list[PositionRecord], run_id: str | None = None) -> None:
        now = utcnow()
        with self._tx(write=True) as s:
            s.execute(delete(StrategyPositionRow).where(StrategyPositionRow.strategy_id == strategy_id))
            self._insert(s, StrategyPositionRow, [dict(asdict(p), strategy_id=strategy_id, run_id=run_id, updated_at=now)
                                                  for p in positions])

    def positions(self, strategy_id: str) -> list[PositionRecord]:
        with self._tx() as s:
            rows = s.execute(select(StrategyPositionRow).where(StrategyPositionRow.strategy_id == strategy_id)
                             .order_by(StrategyPositionRow.venue, StrategyPositionRow.instrument)).scalars().all()
        return [PositionRecord(r.venue, r.instrument, r.size) for r in rows]

    def add_transfers(self, transfers: list[TransferRecord]) -> None:
        with self._tx(write=True) as s:
            self._insert(s, FundTransferRow, [asdict(t) for t in transfers])

    def transfers(self, strategy_id: str | None = None, run_id: str | None = None) -> list[TransferRecord]:
        q = select(FundTransferRow)
        if strategy_id is not None:
            q = q.where(FundTransferRow.strategy_id == strategy_id)
        if run_id is not None:
            q = q.where(FundTransferRow.run_id == run_id)
        with self._tx() as s:
            rows = s.execute(q.order_by(FundTransferRow.timestamp, FundTransferRow.id)).scalars().all()
        return [TransferRecord(r.strategy_id, r.timestamp, r.kind, r.token, r.amount, r.from_venue, r.to_venue,
                               r.status, r.run_id) for r in rows]

    def save_state(self, strategy_id: str, state: dict[str, Any], run_id: str | None = None) -> None:
        with self._tx(write=True) as s:
            row = s.get(StrategyStateRow, strategy_id)
            if row is None:
                s.add(StrategyStateRow(strategy_id=strategy_id, state=clean_json(state), run_id=run_id, updated_at=utcnow()))
            else:
                row.state, row.run_id, row.updated_at = clean_json(state), run_id, utcnow()

    def load_state(self, strategy_id: str) -> dict[str, Any] | None:
        with self._tx() as s:
            return s.execute(select(StrategyStateRow.state).where(StrategyStateRow.strategy_id == strategy_id)).scalar()

    # -- service --------------------------------------------------------------------------------
    def ping(self) -> None:
        with self._tx() as s:
            s.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
