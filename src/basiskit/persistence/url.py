"""Database URL resolution: ``BASISKIT_DATABASE_URL`` if set, else SQLite at
``<data_dir>/basiskit.db``. ``postgres://`` and ``postgresql://`` URLs are given the psycopg (v3)
driver, the one installed."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATABASE_URL = "BASISKIT_DATABASE_URL"


def normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
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
