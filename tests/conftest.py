"""Shared fixtures: a catalog imported once per test session from the real data (../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from basiskit.data.catalog import Catalog, resolve_source_dir
from basiskit.data.errors import DataError


def real_source() -> Path | None:
    try:
        return resolve_source_dir(os.environ.get("BASISKIT_DATA_SOURCE"))
    except DataError:
        return None


@pytest.fixture(scope="session")
def source_dir() -> Path:
    src = real_source()
    if src is None:
        pytest.skip("real data not found: set BASISKIT_DATA_SOURCE or place shared/data beside the checkout")
    return src


@pytest.fixture(scope="session")
def catalog(source_dir: Path, tmp_path_factory) -> Catalog:
    cat = Catalog(tmp_path_factory.mktemp("basiskit_home"), source_dir)
    cat.import_all()
    return cat


from dbfixtures import db_url, pg_database, pg_url  # noqa: E402,F401  (database fixtures, see dbfixtures.py)
