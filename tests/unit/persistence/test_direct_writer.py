"""The live store's dedicated writer connection (``persistence.direct``): rows as the ORM stores
them, committed when ``put_order`` returns (a SIGKILL right after loses nothing), and a connection the
server dropped is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psycopg
import pytest

from basiskit.errors.exceptions import StoreUnavailable
from basiskit.persistence.live_models import LiveOrderRow
from basiskit.persistence.live_sql import SqlLiveStore
from basiskit.persistence.live_store import LiveOrderRecord
from basiskit.persistence.records import utcnow


def _rec(cid: str, status: str = "intent", **kw) -> LiveOrderRecord:
    return LiveOrderRecord(cid, "run-1", 1, 10, "binance.perp", "perp_trade", "BTC", "sell", 0.5, status, **kw)


def test_rows_read_back_as_the_orm_writes_them(db_url):
    """The writer's row and an ORM-written row of the same order read back equal (types, JSON, UTC)."""
    from sqlalchemy.orm import Session

    store = SqlLiveStore(db_url)
    try:
        t0 = utcnow()
        store.put_order("s1", _rec("a-1", "filled", filled=0.5, price=60_000.0, data={"fee": 1.5, "n": [1, None]}))
        with Session(store.engine) as s, s.begin():
            s.add(LiveOrderRow(strategy_id="s2", client_order_id="a-1", run_id="run-1", seq=1, timestamp=10,
                               venue="binance.perp", operation="perp_trade", token="BTC", side="sell", amount=0.5,
                               to_venue=None, status="filled", filled=0.5, price=60_000.0,
                               data={"fee": 1.5, "n": [1, None]}, updated_at=t0))
        with Session(store.engine) as s:
            mine, orm = s.get(LiveOrderRow, ("s1", "a-1")), s.get(LiveOrderRow, ("s2", "a-1"))
            cols = [c.name for c in LiveOrderRow.__table__.columns if c.name not in ("strategy_id", "updated_at")]
            assert {c: getattr(mine, c) for c in cols} == {c: getattr(orm, c) for c in cols}
            assert mine.updated_at.tzinfo is not None and 0 <= (mine.updated_at - t0).total_seconds() < 60
    finally:
        store.close()


def test_a_journal_record_survives_sigkill_right_after_put_order_returns(db_url, tmp_path):
    """A child process writes an intent and SIGKILLs itself as soon as ``put_order`` returned: the
    record is there (committed: WAL + synchronous=NORMAL on SQLite, a commit on PostgreSQL)."""
    code = textwrap.dedent(f"""
        import os, signal
        from basiskit.persistence.live_sql import SqlLiveStore
        from basiskit.persistence.live_store import LiveOrderRecord
        s = SqlLiveStore({db_url!r})
        s.put_order("s1", LiveOrderRecord("k-1", "run-1", 1, 10, "binance.perp", "perp_trade", "BTC", "buy", 1.0,
                                          "intent"))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = SqlLiveStore(db_url)
    try:
        assert [(r.client_order_id, r.status) for r in store.live_orders("s1", open_only=True)] == [("k-1", "intent")]
    finally:
        store.close()


def test_postgresql_writer_reconnects_after_its_connection_was_dropped(pg_url):
    store = SqlLiveStore(pg_url)
    try:
        store.put_order("s1", _rec("a-1"))
        pid = store._direct._conn.info.backend_pid
        url = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        with pytest.raises(StoreUnavailable):
            store.put_order("s1", _rec("a-2"))
        store.put_order("s1", _rec("a-3"))  # a new connection
        assert [r.client_order_id for r in store.live_orders("s1")] == ["a-1", "a-3"]
    finally:
        store.close()
