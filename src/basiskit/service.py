"""Use cases shared by the CLI and (later) the API: import data, list modes, run a backtest.

Paths: the data directory is ``BASISKIT_HOME`` or ``./.basiskit``; the raw data source is
``BASISKIT_DATA_SOURCE`` or ``../shared/data`` (resolved by the catalog).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from basiskit.data.catalog import Catalog
from basiskit.engine.backtest import BacktestOutcome, BacktestRequest, run_backtest
from basiskit.results.export import write_equity, write_events, write_summary, write_trades
from basiskit.strategies.registry import MODES, load_mode_config


def data_dir(explicit: str | Path | None = None) -> Path:
    return Path(explicit or os.environ.get("BASISKIT_HOME") or Path.cwd() / ".basiskit")


def open_catalog(data: str | Path | None = None, source: str | Path | None = None) -> Catalog:
    return Catalog(data_dir(data), Path(source) if source else None)


def import_data(data: str | Path | None = None, source: str | Path | None = None, progress: Callable[[str], None] | None = None):
    return open_catalog(data, source).import_all(progress=progress)


def list_modes() -> list[dict]:
    return [{"mode": m, "description": load_mode_config(m).description} for m in sorted(MODES)]


@dataclass
class RunResult:
    run_id: str
    out_dir: Path
    outcome: BacktestOutcome


def new_run_id(mode: str) -> str:
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{mode}-{uuid.uuid4().hex[:6]}"


def backtest(req: BacktestRequest, out_dir: str | Path | None = None, data: str | Path | None = None,
             source: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
             catalog: Catalog | None = None) -> RunResult:
    """Run and write ``summary.json``, ``equity.csv``, ``trades.csv``, ``events.jsonl`` to ``out_dir``
    (default ``results/<run-id>/``)."""
    catalog = catalog or open_catalog(data, source)
    run_id = new_run_id(req.mode)
    outcome = run_backtest(req, catalog, progress)
    out = Path(out_dir) if out_dir else Path("results") / run_id
    out.mkdir(parents=True, exist_ok=True)
    outcome.summary["run_id"] = run_id
    loop = outcome.loop
    write_summary(out / "summary.json", outcome.summary)
    write_equity(out / "equity.csv", loop.times, loop.equity, loop.net_deposits, loop.net_delta, loop.margin_ratios,
                 outcome.perp_names)
    write_trades(out / "trades.csv", loop.trades)
    write_events(out / "events.jsonl", loop.events, run_id)
    return RunResult(run_id, out, outcome)
