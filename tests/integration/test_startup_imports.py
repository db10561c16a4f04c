"""What the CLI loads, and when: heavy libraries only where they are used (every import costs the user
start-up time). Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("sqlalchemy", "alembic", "plotly", "kaleido", "fastapi", "starlette", "uvicorn", "httpx", "optuna", "ray")


def _loaded(code: str, cwd: Path) -> list[str]:
    """The HEAVY packages loaded once ``code`` has run (to the interpreter's exit)."""
    probe = ("import atexit, json, sys\n"
             f"atexit.register(lambda: print('LOADED=' + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}}"
             f" & set({HEAVY!r})))))\n" + code)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=600)
    line = next((x for x in res.stdout.splitlines() if x.startswith("LOADED=")), None)
    assert line is not None, res.stdout + res.stderr
    return json.loads(line.removeprefix("LOADED="))


def test_cli_start_up_loads_no_heavy_library(tmp_path):
    assert _loaded("import basiskit.cli.main", tmp_path) == []


def test_a_no_record_backtest_loads_neither_the_database_layer_nor_plotly(catalog, tmp_path):
    """The backtest, its files and report.html: no SQLAlchemy, Alembic, plotly (the page inlines plotly.js
    from the package data), FastAPI or uvicorn."""
    out = tmp_path / "out"
    code = ("import sys\nfrom basiskit.cli.main import app\n"
            f"sys.argv = ['basiskit', 'backtest', 'btc_basis', '--start', '2024-03-01', '--end', '2024-03-08', "
            f"'--out', {str(out)!r}, '--data-dir', {str(catalog.data_dir)!r}, '--no-record']\n"
            "try:\n    app()\nexcept SystemExit as e:\n    assert not e.code, e.code\n")
    assert _loaded(code, tmp_path) == []
    assert (out / "report.html").stat().st_size > 1_000_000 and (out / "run.json").is_file()


def test_a_recorded_backtest_loads_alembic_only_to_create_the_database(catalog, tmp_path):
    """The CLI records through SqlRunStore (SQLAlchemy, loaded when the store opens); Alembic loads only
    to create or migrate the database (the first run here), not for a current one."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog").symlink_to(catalog.data_dir / "catalog")  # the session's imported catalog

    def code(out: str) -> str:
        return ("import sys\nfrom basiskit.cli.main import app\n"
                f"sys.argv = ['basiskit', 'backtest', 'btc_basis', '--start', '2024-03-01', '--end', '2024-03-03', "
                f"'--out', {str(tmp_path / out)!r}, '--data-dir', {str(home)!r}]\n"
                "try:\n    app()\nexcept SystemExit as e:\n    assert not e.code, e.code\n")

    assert _loaded(code("first"), tmp_path) == ["alembic", "sqlalchemy"]  # a new database: migrated
    assert _loaded(code("second"), tmp_path) == ["sqlalchemy"]
    from basiskit import service

    store = service.open_store(home)
    try:
        assert [r.status.value for r in service.list_runs(store).items] == ["finished", "finished"]
    finally:
        store.close()


def test_opening_a_current_database_does_not_load_alembic(tmp_path):
    code = f"from basiskit import service\nservice.open_store({str(tmp_path / 'home')!r}).close()\n"
    assert _loaded(code, tmp_path) == ["alembic", "sqlalchemy"]  # a new database: migrated
    assert _loaded(code, tmp_path) == ["sqlalchemy"]  # at the head revision: one read, no Alembic
