"""The Alembic migrations build exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from basiskit.persistence.migrate import VERSION_TABLE, alembic_config, include_object, upgrade
from basiskit.persistence.models import Base
from basiskit.persistence.sql import make_engine

TABLES = {"runs", "orders", "trades", "equity_points", "events", "strategy_positions", "fund_transfers",
          "strategy_state", "live_orders", "market_events", VERSION_TABLE}
COMPARE = {"compare_type": True, "version_table": VERSION_TABLE, "include_object": include_object}


def test_upgrade_builds_the_models_schema_and_is_idempotent(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        upgrade(engine)  # a second start-up changes nothing
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts=COMPARE), Base.metadata)
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
        assert set(inspect(engine).get_table_names()) == {VERSION_TABLE}
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


def test_a_database_from_before_the_version_table_rename_is_adopted_and_optuna_can_share_it(db_url):
    """basiskit's revision used to live in Alembic's default ``alembic_version``, the table Optuna uses
    for its own schema: an old database gets its revision moved to ``basiskit_alembic_version``; then an
    Optuna storage on the same database creates its tables beside basiskit's, and both open again."""
    import optuna

    from basiskit.persistence.migrate import is_current

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:  # as the store was before the rename
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
            head = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})
            conn.execute(text(f"DROP TABLE {VERSION_TABLE}"))
        assert not is_current(engine)
        upgrade(engine)
        assert is_current(engine) and "alembic_version" not in inspect(engine).get_table_names()
        storage = optuna.storages.RDBStorage(db_url)
        optuna.create_study(storage=storage, study_name="s").add_trial(
            optuna.trial.create_trial(params={}, distributions={}, value=1.0))
        storage.engine.dispose()
        upgrade(engine)  # basiskit opens again: one read, Optuna's tables untouched
        assert is_current(engine) and {"studies", "trials", "alembic_version"} <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts=COMPARE), Base.metadata) == []
        storage = optuna.storages.RDBStorage(db_url)  # and Optuna finds its own schema revision
        assert len(optuna.load_study(study_name="s", storage=storage).trials) == 1
        storage.engine.dispose()
    finally:
        engine.dispose()
