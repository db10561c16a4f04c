"""``basiskit portfolio FILE``: several strategies in one run (see ``strategies/portfolio.py`` for the
file and ``engine/portfolio.py`` for the run)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from basiskit import service
from basiskit.config.loader import ConfigError
from basiskit.data.errors import DataError
from basiskit.errors.exceptions import BasiskitError
from basiskit.runs.portfolio import execute_portfolio
from basiskit.strategies.portfolio import load_portfolio


def portfolio(file: Path = typer.Argument(..., help="portfolio file (YAML), e.g. "
                                                     "src/basiskit/configs/portfolios/grid_and_btc_basis.yaml"),
              start: str = typer.Option(..., help="first step, YYYY-MM-DD (00:00 UTC)"),
              end: str = typer.Option(..., help="last step, YYYY-MM-DD (00:00 UTC)"),
              capital: float = typer.Option(100_000.0, help="capital of the whole run, USDT (split by allocation)"),
              out: Optional[Path] = typer.Option(None, help="output folder (default results/<run-id>)"),
              data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
              source: Optional[Path] = typer.Option(None, help="raw data folder for the first import"),
              record: bool = typer.Option(True, help="save each strategy's final state and positions in the run "
                                                     "database (strategy_state, strategy_positions)")) -> None:
    """Run several strategies side by side, each on its own sub-accounts with its allocation of the
    capital; print the result per strategy and combined (each reconciled) and write summary.json,
    equity.csv, attribution.csv and strategies/<id>/ to the output folder."""
    from basiskit.cli.main import _fail, console, fmt_number

    store = None
    try:
        try:
            pf = load_portfolio(file)
            run_id = service.new_run_id(f"portfolio-{file.stem}")
            target = out or Path("results") / run_id
            service.preflight(target, data_dir)
            catalog = service.open_catalog(data_dir, source)
            store = service.open_store(data_dir) if record else None
            result = execute_portfolio(pf, start, end, capital, catalog, run_id=run_id, out_dir=target, store=store)
        finally:
            if store is not None:
                store.close()
    except (ConfigError, DataError, BasiskitError) as exc:
        _fail(exc)
    s = result.outcome.summary
    table = Table("strategy", "mode", "alloc", "final USDT", "return", "recon. diff")
    for sid, r in s["strategies"].items():
        table.add_row(sid, r["mode"], f"{r['allocation']:.0%}", fmt_number(r["final_equity"]),
                      fmt_number(r["total_return"], 2, 100, " %"), f"{r['reconciliation']['difference']:.1e}")
    table.add_row("combined", "", "100%", fmt_number(s["final_equity"]), fmt_number(s["total_return"], 2, 100, " %"),
                  f"{s['reconciliation']['difference']:.1e}")
    console.print(table)
    console.print(f"results: {escape(str(result.out_dir))}", soft_wrap=True, highlight=False)
    console.print(f"run id {result.run_id}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(name="portfolio")(portfolio)
