"""The Alembic migrations build exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
