"""``basiskit portfolio FILE``: the command runs grid + btc_basis side by side, prints each and the
combination, writes the results folder (combined equity per step = sum of the strategies' columns;
every attribution column sums to its equity change) and saves each strategy's final state and positions
in the run database (``strategy_state`` / ``strategy_positions`` through the strategies' components).
The components themselves against SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from typer.testing import CliRunner

from basiskit.cli.main import app as cli
from basiskit.persistence import PositionRecord, SqlRunStore
from basiskit.runs.portfolio import strategy_key
from basiskit.strategies.components import PositionManager, StoreStateManager

PF = """description: test portfolio
strategies:
  - {id: basis, mode: btc_basis, allocation: 0.6}
  - {id: grid, mode: grid, allocation: 0.4, config: {levels: 4, spacing: 0.005, order_size: 0.02}}
"""


@pytest.fixture
def home(catalog, tmp_path, monkeypatch):
    h = tmp_path / "home"
    shutil.copytree(catalog.catalog_dir, h / "catalog")
    monkeypatch.delenv("BASISKIT_DATABASE_URL", raising=False)
    monkeypatch.setenv("BASISKIT_DATA_SOURCE", str(catalog.source_dir))
    return h


def test_the_portfolio_command(home, tmp_path):
    pf = tmp_path / "pf.yaml"
    pf.write_text(PF)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["portfolio", str(pf), "--start", "2024-03-01", "--end", "2024-03-20",
                                   "--capital", "50000", "--out", str(out), "--data-dir", str(home)],
                             env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    assert "combined" in res.output and "basis" in res.output and "grid" in res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["mode"] == "portfolio" and set(s["strategies"]) == {"basis", "grid"}
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    rows = list(csv.DictReader(open(out / "equity.csv")))
    assert len(rows) == s["steps"]
    for r in rows:
        assert float(r["equity"]) == pytest.approx(float(r["equity_basis"]) + float(r["equity_grid"]), abs=1e-6)
    assert float(rows[0]["equity_basis"]) <= 30_000.0 and float(rows[-1]["equity"]) == pytest.approx(s["final_equity"])
    attr = {r["source"]: r for r in csv.DictReader(open(out / "attribution.csv"))}
    for col in ("basis", "grid", "combined"):
        total = sum(float(attr[src][col]) for src in attr if src not in ("total", "equity_change"))
        assert total == pytest.approx(float(attr["equity_change"][col]), abs=1e-6)
    for sid in ("basis", "grid"):
        sub = json.loads((out / "strategies" / sid / "summary.json").read_text())
        assert sub["strategy_id"] == sid and (out / "strategies" / sid / "trades.csv").is_file()

    store = SqlRunStore(f"sqlite:///{home / 'basiskit.db'}")
    try:
        basis_pos = store.positions(strategy_key(s["run_id"], "basis"))
        assert {p.venue for p in basis_pos} >= {"binance.perp"} and all(p.size < 0 for p in basis_pos
                                                                       if p.venue.endswith(".perp"))
        assert store.load_state(strategy_key(s["run_id"], "basis"))["entered"] is True
        assert store.load_state(strategy_key(s["run_id"], "grid")) == {}  # stateless
    finally:
        store.close()


def test_a_bad_portfolio_file_is_a_coded_error(home, tmp_path):
    pf = tmp_path / "pf.yaml"
    pf.write_text(PF.replace("allocation: 0.4", "allocation: 0.5"))
    res = CliRunner().invoke(cli, ["portfolio", str(pf), "--start", "2024-03-01", "--end", "2024-03-20",
                                   "--data-dir", str(home), "--out", str(tmp_path / "o")], env={"COLUMNS": "200"})
    assert res.exit_code == 2 and "CONFIG-001" in res.output and "allocations sum to 1.1" in res.output
    assert not (tmp_path / "o").exists()


def test_components_on_the_sql_store(db_url):
    store = SqlRunStore(db_url)
    try:
        sm = StoreStateManager(store, "fa/1", run_id=None)
        sm.set("pairs", [{"long": "binance.perp", "short": "bybit.perp", "entry_spread_apr": 0.12}])
        sm.save()
        again = StoreStateManager(store, "fa/1")
        assert again.load() and again.get_all() == sm.get_all()
        pm = PositionManager("fa/1", store)
        pm.apply_fill("binance.perp", "BTCUSDT", 0.5)
        pm.apply_fill("bybit.perp", "BTCUSDT", -0.5)
        pm.save()
        assert store.positions("fa/1") == [PositionRecord("binance.perp", "BTCUSDT", 0.5),
                                           PositionRecord("bybit.perp", "BTCUSDT", -0.5)]
        pm.apply_fill("bybit.perp", "BTCUSDT", 0.5)  # closed: its row goes
        pm.save()
        loaded = PositionManager("fa/1", store)
        loaded.load()
        assert loaded.all() == {("binance.perp", "BTCUSDT"): 0.5}
    finally:
        store.close()
