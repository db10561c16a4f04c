"""``basiskit ml-train``: train and save the walk-forward models of an ML directional mode."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from basiskit import ml_service, service
from basiskit.config.loader import ConfigError, parse_overrides
from basiskit.data.errors import DataError
from basiskit.errors.exceptions import BasiskitError


def register(app: typer.Typer, fail) -> None:
    @app.command("ml-train")
    def ml_train(mode: str = typer.Argument(..., help="ml_btc_directional or ml_usdt_directional"),
                 start: str = typer.Option(..., help="first month to train a model for (YYYY-MM-DD)"),
                 end: str = typer.Option(..., help="last month to train a model for (YYYY-MM-DD)"),
                 out: Path = typer.Option(..., help="folder for the model files"),
                 set_: list[str] = typer.Option([], "--set", help="config override KEY=VALUE (repeatable)"),
                 data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
                 source: Optional[Path] = typer.Option(None, help="raw data folder for the first import")) -> None:
        """Train one model per calendar month from START to END (each on the train_days before its cut-off,
        with the mode's purge and embargo) and save each with its feature list, training range and seed
        (<mode>_<YYYY-MM>.json + .lgb.txt; a paper or live runner reads them with model_store.load_model)."""
        try:
            catalog = service.open_catalog(data_dir, source)
            catalog.ensure_imported()
            rows = ml_service.train_ml_models(mode, start, end, out, catalog, parse_overrides(set_))
        except (ConfigError, DataError, BasiskitError) as exc:
            fail(exc)
            return
        table = Table("fold", "trained on", "rows", "sha256 (first 12)")
        for r in rows:
            table.add_row(r["fold"], f"{r['train_first'][:10]} .. {r['train_last'][:10]}", f"{r['train_rows']:,}",
                          r["sha256"][:12])
        Console().print(table)
        Console().print(f"models: {out}", soft_wrap=True, highlight=False)
