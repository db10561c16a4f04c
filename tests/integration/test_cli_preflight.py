"""Unusable folders are coded errors before any work: ``--out`` or the data dir a file, inside a file,
read-only, or a folder of someone else's files; an unsupported database URL; a blank API token."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from basiskit import service
from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings, ApiTokenUnusable
from basiskit.cli.main import app as cli
from basiskit.errors.exceptions import PathUnusable, UnsupportedDatabase
from basiskit.persistence import MemoryRunStore

ARGS = ["backtest", "btc_basis", "--start", "2024-03-01", "--end", "2024-03-15"]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the backtest gets as far as the store, the catalog or the loop."""
    def boom(*_a, **_k):
        raise AssertionError("work started before the pre-flight refused the folders")
    for name in ("open_store", "open_catalog", "execute_backtest"):
        monkeypatch.setattr(service, name, boom)
    monkeypatch.delenv("BASISKIT_DATABASE_URL", raising=False)


def _refused(args: list[str], field: str) -> str:
    res = CliRunner().invoke(cli, args, env={"COLUMNS": "250"})
    assert res.exit_code == 2, res.output
    assert "RUN-012" in res.output and f"(field {field})" in res.output and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return res.output


def test_out_that_is_a_file_or_inside_one_is_refused(no_work, tmp_path):
    f = tmp_path / "results.txt"
    f.write_text("keep")
    home = tmp_path / "home"
    assert "is a file" in _refused([*ARGS, "--out", str(f), "--data-dir", str(home)], "out")
    assert "lies inside" in _refused([*ARGS, "--out", str(f / "run1"), "--data-dir", str(home)], "out")
    assert f.read_text() == "keep" and not home.exists()


def test_out_holding_other_files_is_refused_and_left_alone(no_work, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("keep")
    assert "notes.md" in _refused([*ARGS, "--out", str(mine), "--data-dir", str(tmp_path / "home")], "out")
    assert [p.name for p in mine.iterdir()] == ["notes.md"]


def test_read_only_out_and_data_dir_are_refused(no_work, tmp_path, readonly_dir):
    home = tmp_path / "home"
    assert "not writable" in _refused([*ARGS, "--out", str(readonly_dir / "run"), "--data-dir", str(home)], "out")
    assert "not writable" in _refused([*ARGS, "--out", str(tmp_path / "o"), "--data-dir", str(readonly_dir / "h")],
                                      "data_dir")
    assert not (tmp_path / "o").exists() and not home.exists()


def test_data_dir_that_is_a_file_is_refused(no_work, tmp_path):
    f = tmp_path / "home"
    f.write_text("not a folder")
    assert "is a file" in _refused([*ARGS, "--out", str(tmp_path / "o"), "--data-dir", str(f)], "data_dir")
    assert not (tmp_path / "o").exists()


def test_data_dir_that_is_a_file_is_refused_by_runs_and_api(tmp_path, monkeypatch):
    monkeypatch.delenv("BASISKIT_DATABASE_URL", raising=False)
    f = tmp_path / "home"
    f.write_text("not a folder")
    assert "is a file" in _refused(["runs", "--data-dir", str(f)], "data_dir")
    assert "is a file" in _refused(["api", "--data-dir", str(f)], "data_dir")
    with pytest.raises(PathUnusable):
        create_app(ApiSettings(data_dir=tmp_path / "ok", results_dir=f), store=MemoryRunStore(), catalog=None)


def test_an_unsupported_database_url_is_a_coded_error(tmp_path, monkeypatch):
    for url, shown in (("mysql://u:secret@db/x", "'mysql'"), ("postgresq://u:secret@db/x", "'postgresq'"),
                       ("postgresql+psycopg2://u:secret@db/x", "'postgresql+psycopg2'"), ("runs.db", "no scheme")):
        monkeypatch.setenv("BASISKIT_DATABASE_URL", url)
        res = CliRunner().invoke(cli, ["runs", "--data-dir", str(tmp_path)], env={"COLUMNS": "250"})
        assert res.exit_code == 2 and "STORE-003" in res.output and shown in res.output, res.output
        assert "secret" not in res.output and "Traceback" not in res.output
        with pytest.raises(UnsupportedDatabase):
            service.open_store(tmp_path)
    monkeypatch.delenv("BASISKIT_DATABASE_URL")
    with pytest.raises(UnsupportedDatabase):
        create_app(ApiSettings(data_dir=tmp_path, database_url="mysql://u@db/x"))


@pytest.mark.parametrize("token", ["", " ", "\t\n", " s3cret", "s3cret "])
def test_a_blank_or_padded_api_token_is_refused_at_start_up(tmp_path, monkeypatch, token):
    monkeypatch.setenv("BASISKIT_API_TOKEN", token)
    res = CliRunner().invoke(cli, ["api", "--data-dir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 2 and "API-008" in res.output and "Traceback" not in res.output, res.output
    assert "s3cret" not in res.output
    with pytest.raises(ApiTokenUnusable):
        create_app(ApiSettings(data_dir=tmp_path, token=token), store=MemoryRunStore(), catalog=None)
