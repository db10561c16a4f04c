"""The CLI's SqliteRunStore (sqlite3) writes the rows SqlRunStore (SQLAlchemy) writes, and either reads
the other's: the same operations on two databases give the same tables, wall times aside (in the same
format)."""

from __future__ import annotations

import re
import sqlite3
import sys
import subprocess

from basiskit.persistence import NewRun, RunStatus, SqlRunStore
from basiskit.persistence.sqlite import SqliteRunStore
from test_store_contract import _results

WHEN = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")  # SQLAlchemy's SQLite DATETIME text
TIMES = {"created_at", "started_at", "finished_at", "cancel_requested_at"}


def _lifecycle(store) -> None:
    store.create_run(NewRun("a", "btc_basis", {"mode": "btc_basis", "x": (1, 2), "nan": float("nan")},
                            origin="cli", status=RunStatus.RUNNING, owner="h:1", out_dir="/o/a"))
    store.start_run("a", owner="h:2")
    store.update_progress("a", 3, 5)
    store.finish_run("a", {"final_equity": 104.0, "sharpe": float("inf"), 7: "int key"}, None, _results("a"), 1.5)
    store.create_run(NewRun("b", "eth_basis", {}, owner="h:dead"))
    store.create_run(NewRun("c", "eth_basis", {}, owner=None, status=RunStatus.RUNNING))
    store.mark_interrupted(lambda owner: owner != "h:dead")
    store.fail_run("c", {"code": "RUN-007", "message": "boom"}, RunStatus.FAILED, config={"mode": "eth_basis"})


def _tables(path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        out = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            cur = conn.execute(f"SELECT * FROM {table}")
            cols = [d[0] for d in cur.description]
            rows = []
            for row in cur:
                for col, value in zip(cols, row):
                    if col in TIMES and value is not None:
                        assert WHEN.match(value), (table, col, value)
                rows.append(tuple("<time>" if c in TIMES and v is not None else v for c, v in zip(cols, row)))
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def test_same_operations_write_the_same_rows(tmp_path):
    sql, lite = SqlRunStore(f"sqlite:///{tmp_path / 'sql.db'}"), SqliteRunStore(tmp_path / "lite.db")
    try:
        _lifecycle(sql)
        _lifecycle(lite)
    finally:
        sql.close()
        lite.close()
    a, b = _tables(tmp_path / "sql.db"), _tables(tmp_path / "lite.db")
    assert a == b and len(a["equity_points"]) == 5 and len(a["events"]) == 3


def test_each_reads_what_the_other_wrote(tmp_path):
    path = tmp_path / "runs.db"
    lite = SqliteRunStore(path)
    sql = SqlRunStore(f"sqlite:///{path}")
    try:
        _lifecycle(lite)
        for rid in ("a", "b", "c"):
            assert lite.get_run(rid) == sql.get_run(rid)
        assert sql.get_run("b").status is RunStatus.INTERRUPTED and sql.get_run("a").progress_done == 5
        assert sql.summary("a") == {"final_equity": 104.0, "sharpe": None, "7": "int key"}
        sql.create_run(NewRun("d", "btc_basis", {"k": [1.5]}, status=RunStatus.RUNNING, owner="h:3"))
        sql.request_cancel("d")
        assert lite.get_run("d") == sql.get_run("d") and lite.cancel_requested("d")
    finally:
        sql.close()
        lite.close()


def test_opening_a_current_database_loads_no_sqlalchemy(tmp_path):
    SqliteRunStore(tmp_path / "runs.db").close()  # a new database: migrated (through SqlRunStore)
    code = (f"import sys\nfrom basiskit.persistence.sqlite import SqliteRunStore\n"
            f"s = SqliteRunStore({str(tmp_path / 'runs.db')!r})\ns.get_run('x'); s.close()\n"
            "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
