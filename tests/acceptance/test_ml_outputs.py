"""The ML directional modes through the user's doors: ``basiskit modes`` lists both, a backtest's
``summary.json`` and ``report.html`` carry the per-fold results (the report's table read back and
compared with the summary), and ``basiskit ml-train`` saves models that reload."""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from basiskit import service
from basiskit.cli.main import app
from basiskit.engine.backtest import BacktestRequest
from basiskit.strategies.implementations.ml_directional.features import FEATURES
from basiskit.strategies.implementations.ml_directional.model_store import (ModelFileError, forecast, load_model,
                                                                            load_models)
from basiskit.strategies.implementations.ml_directional.strategy import MlDirectional, load_inputs
from basiskit.strategies.registry import load_mode_config

ML_MODES = ("ml_btc_directional", "ml_usdt_directional")


def test_basiskit_modes_lists_both_ml_modes():
    res = CliRunner().invoke(app, ["modes"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for mode in ML_MODES:
        assert mode in res.output


@pytest.fixture(scope="module")
def ml_run(catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("ml") / "run"
    req = BacktestRequest("ml_btc_directional", "2025-03-25", "2025-04-05", 50_000.0)
    service.backtest(req, out, catalog=catalog)
    return out


def _cells(row: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_the_report_shows_the_folds_of_the_summary(ml_run):
    summary = json.loads((ml_run / "summary.json").read_text())
    folds = summary["ml_folds"]
    assert [f["fold"] for f in folds] == ["2025-03", "2025-04"]
    assert abs(summary["reconciliation"]["difference"]) <= 1e-6
    page = (ml_run / "report.html").read_text()
    table = re.search(r'<table id="ml-folds">(.*?)</table>', page, re.S)
    assert table is not None, "no walk-forward table in the report"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    header = [html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<th[^>]*>(.*?)</th>", rows[0])]
    assert header[:4] == ["fold", "train rows", "predicted h", "hit rate"] and "hold BTC (USDT)" in header
    body = [_cells(r) for r in rows[1:]]
    assert [r[0] for r in body] == ["2025-03", "2025-04"]
    for f, cells in zip(folds, body):
        got = dict(zip(header, cells))
        assert got["train rows"] == f"{f['train_rows']:,}"
        assert got["hit rate"] == f"{f['hit_rate'] * 100:.1f} %"
        assert got["hit rate, shuffled labels"] == f"{f['hit_rate_shuffled'] * 100:.1f} %"
        assert got["run PnL (USDT)"] == f"{f['run_pnl_usdt']:,.2f}"
        assert got["hold BTC (USDT)"] == f"{f['hold_btc_pnl_usdt']:,.2f}"
        assert got["entries"] == f"{f['entries']:,}"


def test_ml_train_saves_models_that_reload(catalog, tmp_path):
    out = tmp_path / "models"
    res = CliRunner().invoke(app, ["ml-train", "ml_usdt_directional", "--start", "2025-03-10", "--end", "2025-04-02",
                                   "--out", str(out), "--data-dir", str(catalog.data_dir)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["ml_usdt_directional_2025-03.json", "ml_usdt_directional_2025-03.lgb.txt",
                     "ml_usdt_directional_2025-04.json", "ml_usdt_directional_2025-04.lgb.txt"]
    m = load_model(out / "ml_usdt_directional_2025-04.json")
    assert m.meta.features == FEATURES and m.meta.seed == 7 and m.meta.fold == "2025-04"
    assert m.meta.train_last < "2025-03-31" and m.meta.n_samples >= 1000
    # what a paper/live runner does each hour: the month's saved model on the data known then, handed to the
    # strategy; the same P(up) as the backtest's walk-forward for those hours
    models = load_models(out, "ml_usdt_directional")
    cfg = load_mode_config("ml_usdt_directional")
    bars, funding = load_inputs(catalog, cfg)
    backtest = MlDirectional(cfg)
    backtest.prepare(catalog, [pd.Timestamp("2025-03-30 05:00", tz="UTC").value, pd.Timestamp("2025-04-01 03:00", tz="UTC").value])
    live = MlDirectional(cfg)
    for t in (pd.Timestamp("2025-03-30 05:00", tz="UTC"), pd.Timestamp("2025-04-01 03:00", tz="UTC")):
        live.set_forecast(t.value, forecast(models, bars, funding, t))
    assert live.forecasts == pytest.approx(backtest.forecasts, abs=1e-15) and len(live.forecasts) == 2
    with pytest.raises(ModelFileError, match="no model for 2025-05"):
        forecast(models, bars, funding, pd.Timestamp("2025-05-01", tz="UTC"))
    bad = CliRunner().invoke(app, ["ml-train", "btc_basis", "--start", "2025-03-10", "--end", "2025-04-02",
                                   "--out", str(out), "--data-dir", str(catalog.data_dir)], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "not an ML mode" in bad.output
