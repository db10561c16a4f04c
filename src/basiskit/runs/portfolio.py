"""Run a portfolio (several strategies in one run, ``engine.portfolio``) and write its results folder.

``execute_portfolio(portfolio, start, end, capital, catalog, run_id=..., out_dir=...)`` imports what the
strategies' data policies need, runs them, and writes to ``out_dir`` (through the partial folder and
the ``run.json`` marker like a backtest, ``runs/folder.py``):

| file | content |
|---|---|
| ``summary.json`` | the combined summary (``engine.portfolio``: equity, metrics, attribution per source, ``attribution_by_strategy``, ``attribution_by_venue`` as ``<strategy>/<account>``, ``reconciliation``, ``strategies``) |
| ``equity.csv`` | per step: ``timestamp``, combined ``equity`` and ``equity_<strategy>`` (USDT) |
| ``attribution.csv`` | per source: one column per strategy and ``combined`` (USDT); a ``total`` row and an ``equity_change`` row |
| ``strategies/<id>/summary.json``, ``trades.csv`` | each strategy's own run summary and trades |

With a ``store`` (a ``RunStore``), each strategy's final state and positions are saved under the
strategy id ``<run id>/<strategy id>`` (``strategy_state``, ``strategy_positions``: token units, the
instrument as ``<BASE>USDT``), through the strategies' component interfaces.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from basiskit.domain.portfolio import SOURCES
from basiskit.domain.time import ns_to_iso
from basiskit.engine.backtest import BacktestRequest, prepare
from basiskit.engine.portfolio import PortfolioOutcome, run_portfolio
from basiskit.persistence.protocol import RunStore
from basiskit.results.export import write_summary, write_trades
from basiskit.runs.folder import check_out_dir, publish, staging_dir
from basiskit.strategies.components.positions import PositionManager
from basiskit.strategies.portfolio import PortfolioConfig


@dataclass
class PortfolioRun:
    run_id: str
    out_dir: Path
    outcome: PortfolioOutcome


def strategy_key(run_id: str, strategy_id: str) -> str:
    """The ``strategy_id`` of one strategy of a portfolio run in the store's strategy tables."""
    return f"{run_id}/{strategy_id}"


def execute_portfolio(portfolio: PortfolioConfig, start: str, end: str, capital: float, catalog, *, run_id: str,
                      out_dir: str | Path, store: RunStore | None = None,
                      progress: Callable[[int, int], None] | None = None) -> PortfolioRun:
    """Raises what ``run_portfolio`` raises, and PathUnusable (RUN-012) for an unusable ``out_dir``."""
    out = check_out_dir(out_dir)
    for slot in portfolio.strategies:  # the data each strategy's policy reads, imported first
        config, _ = prepare(BacktestRequest(slot.mode, start, end, capital * slot.allocation, overrides=dict(slot.config)))
        catalog.for_policy(config.data_policy).ensure_imported()
    outcome = run_portfolio(portfolio, start, end, capital, catalog, progress=progress)
    staging = staging_dir(out, run_id)
    write_folder(staging, outcome, run_id)
    publish(staging, out, run_id, mode="portfolio")
    if store is not None:
        record_strategies(store, run_id, outcome)
    return PortfolioRun(run_id, out, outcome)


def write_folder(folder: Path, outcome: PortfolioOutcome, run_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_summary(folder / "summary.json", {"run_id": run_id, **outcome.summary})
    ids = list(outcome.outcomes)
    with open(folder / "equity.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "equity", *[f"equity_{sid}" for sid in ids]])
        cols = [outcome.equity_by_strategy[sid] for sid in ids]
        for i, t in enumerate(outcome.times):
            w.writerow([ns_to_iso(int(t)), repr(float(outcome.equity[i])), *[repr(float(c[i])) for c in cols]])
    s = outcome.summary
    with open(folder / "attribution.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source", *ids, "combined"])
        for src in SOURCES:
            w.writerow([src, *[repr(s["attribution_by_strategy"][sid][src]) for sid in ids], repr(s["attribution"][src])])
        w.writerow(["total", *[repr(sum(s["attribution_by_strategy"][sid].values())) for sid in ids],
                    repr(sum(s["attribution"].values()))])
        w.writerow(["equity_change", *[repr(s["strategies"][sid]["reconciliation"]["equity_change"]) for sid in ids],
                    repr(s["reconciliation"]["equity_change"])])
    for sid, o in outcome.outcomes.items():
        sub = folder / "strategies" / sid
        sub.mkdir(parents=True, exist_ok=True)
        write_summary(sub / "summary.json", o.summary)
        write_trades(sub / "trades.csv", o.loop.trades)


def record_strategies(store: RunStore, run_id: str, outcome: PortfolioOutcome) -> None:
    """Each strategy's final ``snapshot()`` to ``strategy_state`` and its final perp positions to
    ``strategy_positions``, keyed ``<run id>/<strategy id>``."""
    for sid, o in outcome.outcomes.items():
        key = strategy_key(run_id, sid)
        store.save_state(key, o.loop.strategy_state, run_id)
        pm = PositionManager(key, store)
        for (account, token), (size, _entry) in sorted(o.loop.final_positions.items()):
            pm.apply_fill(account, f"{token}USDT", size)
        pm.save(run_id=run_id)
