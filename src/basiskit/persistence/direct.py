"""``DirectWriter``: writes on one dedicated DBAPI connection, for the live session's hot path.

A live session's order journal writes its write-ahead ``intent`` record between a market event and
the order handed to the venue: through an ORM session or a pooled Core connection that costs a
pool check-out, a BEGIN, SQLAlchemy's statement execution and a check-in per write (~140 us median,
milliseconds at the tail on SQLite), through the driver on a held connection ~20 us. So the writer
holds one connection taken from the store's engine (``engine.raw_connection()``, detached from the
pool: it is the writer's alone), and runs statements that SQLAlchemy compiled once for the engine's
dialect, with each parameter converted by its column type's bind processor -- the rows stored are
the ones the Core/ORM path would store (JSON as the dialect serialises it, UTC datetimes).

Transactions and durability (each ``run`` is one transaction, committed before it returns):

- SQLite (``make_engine``: WAL, ``synchronous=NORMAL``, the module's autocommit mode): a single
  statement is its own transaction (SQLite takes the write lock when the statement starts, as BEGIN
  IMMEDIATE does); several are wrapped in ``BEGIN IMMEDIATE`` ... ``COMMIT``. A commit has appended
  the transaction to the WAL file through ``write()`` when it returns: the operating system holds
  it, so it survives the process's crash (SIGKILL); with ``synchronous=NORMAL`` the WAL is fsynced
  at checkpoints, not per commit, so an OS crash or a power loss can roll back the last commits
  (never corrupt the database). ``synchronous=FULL`` would fsync every commit (see
  bench/RESULTS.md for its cost).
- PostgreSQL (psycopg 3): the connection is in autocommit mode, so a single statement is one round
  trip and its own transaction; several are wrapped in ``conn.transaction()``. The server's
  ``synchronous_commit`` is left as configured (default ``on``): a commit returns after the server
  flushed its WAL to disk, durable against the client's crash, the server's crash and a power loss.
  Statements are prepared on the server (``prepare=True``). (Committing the orders' answers with
  ``synchronous_commit = off`` was measured and dropped: the WAL writer then flushes in the
  background, and the next intent's commit waits for that flush and then its own -- the intents got
  slower, ~0.4 -> ~1 ms median.)

Connection-level failures (the DBAPI's ``OperationalError`` / ``InterfaceError``: database locked
past the busy timeout, server gone) are raised as ``StoreUnavailable`` (STORE-001); the transaction
is rolled back, and a broken connection is dropped (the next ``run`` takes a new one). Thread-safe:
one lock around each transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql import ClauseElement

from basiskit.errors.exceptions import StoreUnavailable


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect: ``sql`` (the driver's text), ``names`` (its parameters,
    in the order the driver takes them when ``positional``) and per name the bind processor (or None)."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]

    def params(self, row: dict[str, Any]) -> tuple | dict:
        vals = [v if p is None else p(v) for p, v in zip(self.processors, (row[n] for n in self.names))]
        return tuple(vals) if self.positional else dict(zip(self.names, vals))


class DirectWriter:
    """Args: engine: the store's engine (SQLite or PostgreSQL through psycopg)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.sqlite = self.dialect.name == "sqlite"
        dbapi = self.dialect.loaded_dbapi
        self._down = (dbapi.OperationalError, dbapi.InterfaceError)
        self._conn = None  # the DBAPI connection (driver's own), taken on first use
        self._proxy = None
        self._lock = threading.Lock()

    def prepare(self, stmt: ClauseElement) -> Prepared:
        """Compile ``stmt`` (its bind parameters named; values are given per row to ``run``)."""
        compiled = stmt.compile(dialect=self.dialect)
        names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        procs = tuple(compiled.binds[n].type.dialect_impl(self.dialect).bind_processor(self.dialect) for n in names)
        return Prepared(compiled.string, names, bool(compiled.positional), procs)

    def _connection(self):
        if self._conn is None:
            proxy = self.engine.raw_connection()  # runs the engine's connect hooks (SQLite pragmas)
            conn = proxy.driver_connection
            proxy.detach()  # the writer's own: never handed back to the pool
            if not self.sqlite:
                conn.autocommit = True
            self._proxy, self._conn = proxy, conn
        return self._conn

    def _drop(self) -> None:
        conn, self._conn, self._proxy = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already broken; nothing to keep
                pass

    def run(self, batches: Iterable[tuple[Prepared, Sequence[dict[str, Any]]]]) -> None:
        """Execute each ``(statement, rows)`` (a statement once per row; none for no rows) in one
        transaction, committed on return."""
        work = [(p, [p.params(r) for r in rows]) for p, rows in batches]
        work = [(p, ps) for p, ps in work if ps]
        if not work:
            return
        single = len(work) == 1 and len(work[0][1]) == 1
        with self._lock:
            try:
                conn = self._connection()
                if self.sqlite:
                    self._run_sqlite(conn, work, single)
                else:
                    self._run_pg(conn, work, single)
            except self._down as exc:
                if self._conn is not None and not self.sqlite and (self._conn.broken or self._conn.closed):
                    self._drop()
                raise StoreUnavailable(f"database unavailable: {exc}") from exc

    @staticmethod
    def _run_sqlite(conn, work, single: bool) -> None:
        if single:  # autocommit: the statement is its own (write) transaction
            p, ps = work[0]
            conn.execute(p.sql, ps[0])
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for p, ps in work:
                conn.executemany(p.sql, ps) if len(ps) > 1 else conn.execute(p.sql, ps[0])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _run_pg(conn, work, single: bool) -> None:
        with conn.cursor() as cur:
            if single:
                p, ps = work[0]
                cur.execute(p.sql, ps[0], prepare=True)
                return
            with conn.transaction():
                for p, ps in work:
                    if len(ps) > 1:
                        cur.executemany(p.sql, ps)
                    else:
                        cur.execute(p.sql, ps[0], prepare=True)

    def close(self) -> None:
        with self._lock:
            self._drop()


__all__ = ["DirectWriter", "Prepared"]
