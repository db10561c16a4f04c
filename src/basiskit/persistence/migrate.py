"""Run the Alembic migrations shipped in ``migrations/`` programmatically (at store start-up).

Raises:
    StoreUnavailable (STORE-001): the database cannot be reached.
    StopRun with STORE-002: a migration failed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from basiskit.errors.exceptions import StopRun, StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6261736B  # "bask": serialises concurrent upgrades of one PostgreSQL database


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (idempotent)."""
    cfg = alembic_config()
    try:
        # write=True: SQLite starts with BEGIN IMMEDIATE (see sql.make_engine), so two processes opening a new
        # database at once queue on the write lock instead of one failing with "database is locked"
        with engine.execution_options(write=True).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
    except DBAPIError as exc:
        raise StopRun(f"database migration failed: {exc.orig}", code="STORE-002") from exc
