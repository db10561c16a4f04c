"""The Alembic migrations build exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from basiskit.persistence.migrate import alembic_config, upgrade
from basiskit.persistence.models import Base
from basiskit.persistence.sql import make_engine

TABLES = {"runs", "orders", "trades", "equity_points", "events", "strategy_positions", "fund_transfers",
          "strategy_state", "alembic_version"}


def test_upgrade_builds_the_models_schema_and_is_idempotent(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        upgrade(engine)  # a second start-up changes nothing
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        cols = {c["name"] for c in inspect(engine).get_columns("runs")}
        assert {"status", "progress_done", "progress_total", "summary", "config", "started_at", "finished_at",
                "duration_seconds", "error"} <= cols
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_the_tables(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()


def test_0002_adds_cancelled_and_the_database_refuses_unknown_statuses(db_url):
    engine = make_engine(db_url)
    cfg = alembic_config()
    row = ("INSERT INTO runs (id, kind, mode, status, origin, request, created_at, progress_done) "
           "VALUES (:id, 'backtest', 'btc_basis', :status, 'cli', '{}', CURRENT_TIMESTAMP, 0)")
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text(row), {"id": "old", "status": "running"})
        upgrade(engine)  # 0001 -> 0002 with a row in place
        assert "cancel_requested_at" in {c["name"] for c in inspect(engine).get_columns("runs")}
        with engine.begin() as conn:
            conn.execute(text(row), {"id": "c", "status": "cancelled"})
            assert conn.execute(text("SELECT status FROM runs WHERE id = 'old'")).scalar_one() == "running"
        with pytest.raises(IntegrityError):
            with engine.begin() as conn:
                conn.execute(text(row), {"id": "bad", "status": "canceled"})
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        with engine.begin() as conn:  # the older code knows no "cancelled"
            assert conn.execute(text("SELECT status FROM runs WHERE id = 'c'")).scalar_one() == "interrupted"
        assert "cancel_requested_at" not in {c["name"] for c in inspect(engine).get_columns("runs")}
    finally:
        engine.dispose()


def test_head_revision_read_from_the_files_is_alembics_head():
    from alembic.script import ScriptDirectory

    from basiskit.persistence.migrate import head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_database_behind_the_head_is_upgraded_and_one_at_the_head_is_recognised(db_url):
    from basiskit.persistence.migrate import is_current

    engine = make_engine(db_url)
    try:
        assert not is_current(engine)  # no tables yet
        upgrade(engine, "0001")
        assert not is_current(engine)
        upgrade(engine)
        assert is_current(engine) and "cancel_requested_at" in {c["name"] for c in inspect(engine).get_columns("runs")}
    finally:
        engine.dispose()
