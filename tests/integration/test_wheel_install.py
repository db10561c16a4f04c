"""The package as a user gets it: build the wheel from a copy of the sources, install it (dependencies
from the package index, pip's cache makes repeats fast) into a fresh venv in a temporary directory,
and use it from a working directory outside the checkout, with the raw data given by
``BASISKIT_DATA_SOURCE`` and a temporary ``BASISKIT_HOME``.

Fails when a file of the package (mode/venue config, migration, dashboard file) is left out of the
wheel: every file under ``src/basiskit`` must be installed, and the installed package must list the
modes, run a backtest that writes its files and is recorded in SQLite (migrations), and serve the
dashboard's files.

Cost: about 30 s with a warm pip cache (build ~4 s, install ~9 s, modes + backtest with its first data
import + runs ~13 s, dashboard and no-data checks ~5 s); the first run on a machine downloads the
dependencies once.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "basiskit"
# What a source distribution of the project holds: enough to build the wheel, nothing else.
BUILD_INPUTS = ("pyproject.toml", "README.md", "MANIFEST.in", "setup.cfg", "setup.py")


def _run(cmd: list, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _package_files(root: Path) -> set[str]:
    """Files of the package below ``root`` (``basiskit/...``), caches and build leftovers excluded."""
    return {p.relative_to(root.parent).as_posix() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel from a clean copy of the sources (a ``build/`` folder in the checkout could hold
    stale copies of files the package no longer declares) and install it into a new venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src-copy"
    src.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    timings = {}
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", src], cwd=tmp)
    timings["build"] = time.perf_counter() - t0
    wheels = list((tmp / "dist").glob("basiskit-*.whl"))
    assert len(wheels) == 1, wheels

    t0 = time.perf_counter()
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    python = venv / "bin" / "python"
    # This venv's pip installs into the new one (--python): no pip bootstrap in the new venv.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile", wheels[0]], cwd=tmp)
    timings["install"] = time.perf_counter() - t0
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).stdout.strip())
    return {"tmp": tmp, "venv": venv, "python": python, "bin": venv / "bin", "site": site, "src": src,
            "timings": timings}


@pytest.fixture(scope="module")
def outside(installed, source_dir) -> dict:
    """Environment and working directory outside the checkout: only the installed package can be used."""
    work = installed["tmp"] / "work"
    work.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BASISKIT_", "PYTHON")) and k not in ("VIRTUAL_ENV", "COLUMNS")}
    env.update(PATH=f"{installed['bin']}{os.pathsep}{env.get('PATH', '')}", COLUMNS="80",
               BASISKIT_HOME=str(installed["tmp"] / "home"), BASISKIT_DATA_SOURCE=str(source_dir))
    assert not work.resolve().is_relative_to(ROOT.resolve())
    return {"work": work, "env": env, "home": installed["tmp"] / "home"}


def test_wheel_ships_every_package_file(installed):
    wanted = _package_files(installed["src"] / "src" / "basiskit")
    got = _package_files(installed["site"] / "basiskit")
    assert not wanted - got, f"left out of the wheel (add them to [tool.setuptools.package-data]): {sorted(wanted - got)}"
    for needed in ("basiskit/configs/modes/btc_basis.yaml", "basiskit/configs/venues/aave_v3_ethereum.yaml",
                   "basiskit/persistence/migrations/script.py.mako", "basiskit/persistence/migrations/env.py",
                   "basiskit/persistence/migrations/versions/0001_initial_schema.py",
                   "basiskit/api/static/index.html", "basiskit/api/static/app.js", "basiskit/api/static/app.css"):
        assert needed in got


def test_installed_package_runs_a_backtest_outside_the_checkout(installed, outside):
    work, env, bin_ = outside["work"], outside["env"], installed["bin"]
    where = _run([installed["python"], "-c", "import basiskit; print(basiskit.__file__)"], work, env).stdout.strip()
    assert Path(where).is_relative_to(installed["site"]), where

    t0 = time.perf_counter()
    modes = _run([bin_ / "basiskit", "modes"], work, env).stdout
    shipped = sorted(p.stem for p in (PACKAGE / "configs" / "modes").glob("*.yaml"))
    assert len(shipped) >= 8 and all(m in modes for m in shipped), modes

    out = _run([bin_ / "basiskit", "backtest", "pure_lending", "--start", "2024-03-01", "--end", "2024-03-15",
                "--capital", "100000"], work, env).stdout
    assert max(len(line) for line in out.splitlines()) <= 80, out
    run_id = next(line.split()[2] for line in out.splitlines() if line.startswith("run id "))
    folder = work / "results" / run_id  # default output folder, relative to the working directory
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["mode"] == "pure_lending" and summary["share_class"] == "USDT"
    assert summary["steps"] == 14 * 24 + 1 and summary["initial_equity"] == 100_000
    assert 100_000 < summary["final_equity"] < 101_000  # two weeks of AAVE USDT supply (~5-15 % a year)
    assert summary["attribution"]["lending_interest"] > 0
    assert abs(summary["reconciliation"]["difference"]) <= summary["reconciliation"]["tolerance"]
    html = (folder / "report.html").read_text()
    assert "Plotly.newPlot" in html or "plotly" in html.lower()
    assert len(html) > 1_000_000  # plotly.js inlined: the report opens offline
    assert (outside["home"] / "catalog" / "manifest.json").is_file()  # imported from BASISKIT_DATA_SOURCE

    with sqlite3.connect(outside["home"] / "basiskit.db") as db:  # recorded: the migrations shipped
        status, origin = db.execute("SELECT status, origin FROM runs WHERE id = ?", (run_id,)).fetchone()
    assert (status, origin) == ("finished", "cli")
    listing = _run([bin_ / "basiskit", "runs"], work, env).stdout
    assert run_id in listing and "finished" in listing
    installed["timings"]["commands"] = time.perf_counter() - t0
    print("wheel test timings (s):", {k: round(v, 1) for k, v in installed["timings"].items()})


def test_installed_api_serves_the_dashboard(installed, outside):
    script = """
import sys
from pathlib import Path
from fastapi.testclient import TestClient
from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings
client = TestClient(create_app(ApiSettings.from_env(Path(sys.argv[1]))))
for path in ("/", "/static/app.js", "/static/app.css", "/static/plotly.min.js", "/api/v1/strategies"):
    r = client.get(path)
    print(path, r.status_code, len(r.content))
"""
    out = _run([installed["python"], "-c", script, outside["home"]], outside["work"], outside["env"]).stdout
    sizes = {line.split()[0]: (int(line.split()[1]), int(line.split()[2])) for line in out.splitlines()}
    for name in ("index.html", "app.js", "app.css"):
        path = "/" if name == "index.html" else f"/static/{name}"
        assert sizes[path] == (200, (PACKAGE / "api" / "static" / name).stat().st_size), out
    assert sizes["/static/plotly.min.js"][0] == 200 and sizes["/api/v1/strategies"][0] == 200, out


def test_installed_package_without_data_source_says_how_to_set_it(installed, outside):
    env = {k: v for k, v in outside["env"].items() if k != "BASISKIT_DATA_SOURCE"}
    env["BASISKIT_HOME"] = str(installed["tmp"] / "home-empty")
    proc = subprocess.run([installed["bin"] / "basiskit", "backtest", "pure_lending", "--start", "2024-03-01",
                           "--end", "2024-03-02"], cwd=outside["work"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = " ".join(proc.stderr.split())
    assert "DATA-001" in err and "BASISKIT_DATA_SOURCE" in err and "--source" in err, proc.stderr
