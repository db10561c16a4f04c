"""Run the Alembic migrations shipped in ``migrations/`` programmatically (at store start-up).

Start-up cost: a database already at the newest revision is recognised by one ``SELECT`` of
``basiskit_alembic_version`` against the head revision read from the migration files' ``revision`` /
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
# basiskit's Alembic revision lives in its own table: the same database holds the Optuna studies of the
# parameter sweeps (``basiskit.sweeps``), and Optuna keeps *its* schema revision in Alembic's default
# ``alembic_version``. Databases created before sweeps existed have basiskit's revision in
# ``alembic_version``: :func:`upgrade` moves it here first (``_adopt_legacy_version``).
VERSION_TABLE = "basiskit_alembic_version"
LEGACY_VERSION_TABLE = "alembic_version"
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
            versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        except DBAPIError:  # no version table: a new database, or one from before sweeps (legacy table)
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
            _adopt_legacy_version(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
    except DBAPIError as exc:
        raise StopRun(f"database migration failed: {exc.orig}", code="STORE-002") from exc


def _revisions() -> set[str]:
    """Every revision id of ``migrations/versions`` (read from the files)."""
    out = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        rev = _REVISION.search(path.read_text(encoding="utf-8"))
        if rev is not None:
            out.add(rev.group(1))
    return out


def _adopt_legacy_version(conn) -> None:  # noqa: ANN001
    """A database migrated before the version table was renamed keeps basiskit's revision in
    ``alembic_version``: copy it to :data:`VERSION_TABLE` and drop the legacy table (Optuna then
    creates its own ``alembic_version`` for the sweep studies). A legacy table holding other revisions
    (Optuna's) is left alone."""
    from sqlalchemy import inspect, text

    names = set(inspect(conn).get_table_names())
    if LEGACY_VERSION_TABLE not in names or VERSION_TABLE in names:
        return
    versions = conn.execute(text(f"SELECT version_num FROM {LEGACY_VERSION_TABLE}")).scalars().all()
    if not versions or not set(versions) <= _revisions():
        return
    conn.execute(text(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                      f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"))
    for v in versions:
        conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": v})
    conn.execute(text(f"DROP TABLE {LEGACY_VERSION_TABLE}"))


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Alembic autogenerate filter: tables in the database that basiskit's models do not define
    (Optuna's sweep tables: studies, trials, ..., its ``alembic_version``) are not basiskit's to drop."""
    return not (type_ == "table" and reflected and compare_to is None)
