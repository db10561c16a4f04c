"""Run the Alembic migrations shipped in ``migrations/`` programmatically (at store start-up).

Start-up cost: a database already at the newest revision is recognised by one ``SELECT`` of
``alembic_version`` against the head revision read from the migration files' ``revision`` /
``down_revision`` lines (:func:`head_revision`); Alembic itself (~0.2 s to import) is loaded only when
the schema needs an upgrade (a new database, a newer basiskit), or when asked for another revision.

Raises:
    StoreUnavailable (STORE-001): the database cannot be reached.
    StopRun with STORE-002: a migration failed.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from basiskit.errors.exceptions import StopRun, StoreUnavailable

if TYPE_CHECKING:  # SQLAlchemy is imported by the functions that use it: head_revision needs none of it
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6261736B  # "bask": serialises concurrent upgrades of one PostgreSQL database
_REVISION = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=\n]*)?=\s*(?:["']([^"']*)["']|None)\s*$""", re.M)


def alembic_config() -> Config:
    from alembic.config import Config  # Alembic loads only for an actual migration (see module docstring)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@functools.lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision of ``migrations/versions``, read from its files without Alembic: the one
    ``revision`` no file names as its ``down_revision``. None when that is not a single plain chain
    (a merge or a branch): then Alembic decides."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev = _REVISION.search(source)
        if rev is None:
            continue
        down = _DOWN_REVISION.search(source)
        if down is None:  # e.g. a tuple of parents: not a plain chain
            return None
        revisions.add(rev.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    """True when the database is at :func:`head_revision` (one read; False for a new database)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, OperationalError

    head = head_revision()
    if head is None:
        return False
    try:
        conn = engine.connect()
    except OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
    with conn:
        try:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:  # no alembic_version table: a new database
            return False
    return versions == [head]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (idempotent; at the head already, one read)."""
    if revision == "head" and is_current(engine):
        return
    from alembic import command  # only when the schema changes (see module docstring)
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, OperationalError

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
