"""Database URL resolution: ``BASISKIT_DATABASE_URL`` if set, else SQLite at
``<data_dir>/basiskit.db``. ``postgres://`` and ``postgresql://`` URLs are given the psycopg (v3)
driver, the one installed. :func:`check_url` refuses anything else (``UnsupportedDatabase``,
STORE-003) before SQLAlchemy tries to load a driver."""

from __future__ import annotations

import os
import re
from pathlib import Path

from basiskit.errors.exceptions import UnsupportedDatabase

ENV_DATABASE_URL = "BASISKIT_DATABASE_URL"


def normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


SUPPORTED = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}  # backend -> drivers installed with basiskit


def check_url(url: str) -> str:
    """``url`` normalised (see :func:`normalise_url`) if it names SQLite or PostgreSQL with an
    installed driver. Raises UnsupportedDatabase (STORE-003; the message never shows a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = normalise_url(url.strip())
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,40}", scheme):
        scheme = "?"  # never echo what may be a secret
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        shown = f"scheme {scheme!r}" if scheme else "no scheme://"
        raise UnsupportedDatabase(f"database URL cannot be parsed ({shown}); expected sqlite:///PATH or "
                                  "postgresql://USER@HOST:PORT/DB") from None
    backend, _, driver = parsed.drivername.partition("+")  # never loads a dialect (a typo would raise)
    driver = driver or {"sqlite": "pysqlite"}.get(backend, "")
    if backend not in SUPPORTED:
        raise UnsupportedDatabase(f"database URL scheme {scheme!r} is not supported: basiskit stores runs in SQLite "
                                  "(sqlite:///PATH) or PostgreSQL (postgresql://USER@HOST:PORT/DB)")
    if driver not in SUPPORTED[backend]:
        raise UnsupportedDatabase(f"database driver {scheme!r} is not supported: use "
                                  f"{'sqlite:///PATH' if backend == 'sqlite' else 'postgresql:// (psycopg 3)'}")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise UnsupportedDatabase("a SQLite URL needs a file path (sqlite:///PATH); in-memory databases are not "
                                  "shared between connections")
    return url


def database_url(data_dir: str | Path, explicit: str | None = None) -> str:
    """``explicit``, else ``$BASISKIT_DATABASE_URL``, else ``sqlite:///<data_dir>/basiskit.db``."""
    url = explicit or os.environ.get(ENV_DATABASE_URL)
    if url:
        return normalise_url(url)
    return f"sqlite:///{Path(data_dir).resolve() / 'basiskit.db'}"


def redact(url: str) -> str:
    """``url`` without its password (for logs and health output)."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - never fail while describing a URL
        return "<unparseable database url>"
