"""Where the catalog finds the raw data (an installed package has no checkout to fall back on) and the
progress of an automatic import."""

from __future__ import annotations

import shutil

import pytest

from basiskit.data import catalog as catalog_module
from basiskit.data.catalog import ENV_SOURCE, Catalog, resolve_source_dir
from basiskit.data.errors import DataError, DataSourceMissing


def test_no_data_source_says_where_it_looked_and_how_to_set_it(tmp_path, monkeypatch):
    work = tmp_path / "a" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.delenv(ENV_SOURCE, raising=False)
    monkeypatch.setattr(catalog_module, "_checkout_root", lambda: None)  # as installed from a wheel
    with pytest.raises(DataSourceMissing) as ei:
        resolve_source_dir()
    err = ei.value
    assert isinstance(err, DataError) and err.code == "DATA-001"
    assert str(tmp_path / "a" / "shared" / "data") in str(err)
    assert ENV_SOURCE in str(err) and "--source" in str(err)


@pytest.mark.parametrize("how", ["argument", "env"])
def test_a_missing_explicit_source_names_the_path_and_where_it_came_from(tmp_path, monkeypatch, how):
    missing = tmp_path / "nope"
    monkeypatch.setenv(ENV_SOURCE, str(missing))
    with pytest.raises(DataSourceMissing) as ei:
        resolve_source_dir(missing if how == "argument" else None)
    assert str(missing) in str(ei.value) and ("--source" if how == "argument" else ENV_SOURCE) in str(ei.value)


def test_explicit_source_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_SOURCE, str(tmp_path))
    assert resolve_source_dir() == tmp_path
    other = tmp_path / "other"
    other.mkdir()
    assert resolve_source_dir(other) == other


def test_ensure_imported_reports_each_dataset_it_imports(catalog, tmp_path):
    shutil.copytree(catalog.catalog_dir, tmp_path / "catalog")
    cat = Catalog(tmp_path, catalog.source_dir)
    seen: list[tuple[str, int, int]] = []
    cat.ensure_imported(progress=lambda *a: seen.append(a))
    assert seen == []  # nothing to import: no progress
    gone = ["aave.USDT", "gas.ethereum"]
    for dsid in gone:
        (tmp_path / "catalog" / cat.info(dsid).parquet).unlink()
    cat.ensure_imported(progress=lambda *a: seen.append(a))
    assert seen == [("aave.USDT", 1, 2), ("gas.ethereum", 2, 2)]
    assert len(cat.load("gas.ethereum")) == len(catalog.load("gas.ethereum"))
    cat.ensure_imported()  # still callable without a callback
