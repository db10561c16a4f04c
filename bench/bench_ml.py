"""ML directional modes: time to build features, train one walk-forward fold and predict, and a whole
run (walk-forward training + the loop) -- real data (Bybit BTCUSDT perp), median of ``--repeat`` runs.

    .venv/bin/python bench/bench_ml.py [--repeat 3] [--data-dir DIR]

Prints a Markdown table (bench/RESULTS.md keeps the recorded figures)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from basiskit.data.catalog import Catalog, resolve_source_dir
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.strategies.implementations.ml_directional.features import feature_table, features_at, labels
from basiskit.strategies.implementations.ml_directional.model_store import predict_at
from basiskit.strategies.implementations.ml_directional.strategy import load_inputs
from basiskit.strategies.implementations.ml_directional.walkforward import folds, train_fold
from basiskit.strategies.registry import load_mode_config


def timed(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data-dir", type=Path, default=None)
    a = ap.parse_args()
    home = a.data_dir or Path(tempfile.mkdtemp(prefix="bench_ml_"))
    catalog = Catalog(home, resolve_source_dir(None))
    catalog.ensure_imported()
    cfg = load_mode_config("ml_btc_directional")
    bars, funding = load_inputs(catalog, cfg)
    rows = []
    span = pd.date_range("2024-09-01", "2025-04-01", freq="h", tz="UTC")
    t_feat, table = timed(lambda: feature_table(bars, funding, span), a.repeat)
    rows.append(("features, vectorised (7 months of hours)", len(span), t_feat))
    _, y = labels(bars, cfg.horizon_hours, span)
    fold = folds(pd.Timestamp("2025-03-01", tz="UTC"), pd.Timestamp("2025-03-02", tz="UTC"), cfg)[0]
    t_train, (model, _, n) = timed(lambda: train_fold(fold, table, y, cfg), a.repeat)
    rows.append((f"train one fold: model + shuffled baseline ({n:,} rows, {cfg.model.n_estimators} rounds each)", n, t_train))
    test = table.loc["2025-03-01":"2025-03-31 23:00"].dropna()
    t_pred, _ = timed(lambda: model.predict(test), a.repeat)
    rows.append(("predict one fold's hours (one call)", len(test), t_pred))
    hours = list(test.index[:50])
    t_live, _ = timed(lambda: [predict_at(model, bars, funding, t) for t in hours], a.repeat)
    rows.append(("live path: features_at + predict, per hour (50 hours)", 50, t_live / 50))
    t_row, _ = timed(lambda: [features_at(bars, funding, t) for t in hours], a.repeat)
    for mode, start, end in (("ml_btc_directional", "2025-03-01", "2025-04-01"),
                             ("ml_btc_directional", "2025-01-01", "2025-07-01")):
        t_run, out = timed(lambda: run_backtest(BacktestRequest(mode, start, end, 100_000.0), catalog), a.repeat)
        rows.append((f"whole run {mode} {start} .. {end} ({len(out.summary['ml_folds'])} folds, "
                     f"loop {out.summary['steps_per_second']:,.0f} steps/s)", out.summary["steps"], t_run))
    print("| what | items | median seconds |\n|---|---|---|")
    for what, n, s in rows:
        print(f"| {what} | {n:,} | {s:.4f} |")


if __name__ == "__main__":
    main()
