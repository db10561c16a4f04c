"""Shared fixtures: a catalog imported once per test session from the real data (../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from basiskit.data.catalog import Catalog, resolve_source_dir
from basiskit.data.errors import DataError

# pytest-xdist's workers start with COLUMNS=80 in their environment, and rich fixes a console's width
# from COLUMNS when the console is made (the CLI's consoles are made at import): the width a test's
# CliRunner sets would be ignored and long lines wrapped at 80 columns.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


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


@pytest.fixture
def readonly_dir(tmp_path):
    """An empty folder this process cannot write to. Not root: mode 0555. Root (which ignores modes):
    a read-only tmpfs mounted on it; where root may not mount either, the test is skipped (say so)."""
    import subprocess

    d = tmp_path / "readonly"
    d.mkdir()
    if os.geteuid() != 0:
        d.chmod(0o555)
        try:
            yield d
        finally:
            d.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "basiskit-ro", str(d)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"running as root without the right to mount: no read-only folder ({mounted.stderr.decode().strip()})")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], capture_output=True)
