"""``basiskit onchain-run``: a mode through the kernel with its AAVE account on a local chain (anvil +
AAVE v3's contracts from npm; ``basiskit.onchain_service``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from basiskit import service


def onchain_run(mode: str = typer.Argument(..., help="eth_leveraged, eth_leveraged_restaking or usdt_market_neutral"),
                start: str = typer.Option(..., help="ISO date (UTC)"), end: str = typer.Option(..., help="ISO date (UTC)"),
                capital: float = typer.Option(..., help="share-class units (WETH for ETH modes, USDT otherwise)"),
                realtime: bool = typer.Option(False, help="step on the wall clock (paper run) instead of as fast as possible"),
                data_dir: Optional[Path] = typer.Option(None, help="basiskit data directory"),
                source: Optional[Path] = typer.Option(None, help="raw data directory (default ../shared/data)")) -> None:
    """Run MODE on a fresh local AAVE v3 market: every AAVE operation a transaction, the flash-loan loop one;
    prints the equity, the attribution and the chain's transactions (gas from receipts)."""
    from basiskit.onchain_service import run_on_local_chain

    console = Console()
    catalog = service.open_catalog(data_dir, source)
    catalog.ensure_imported()
    driver = None
    if realtime:
        from basiskit.engine.drivers import RealtimeDriver
        driver = RealtimeDriver()
    run = run_on_local_chain(mode, start, end, capital, catalog, Path.cwd(), driver=driver)
    loop, attr = run.simulation.loop, run.simulation.attr
    table = Table(title=f"{mode} on the local chain, {start} .. {end}")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("equity start (USD)", f"{loop.equity[0]:,.2f}")
    table.add_row("equity end (USD)", f"{loop.equity[-1]:,.2f}")
    for src, v in attr.total.items():
        if v:
            table.add_row(f"  {src} (USD)", f"{v:,.2f}")
    receipts = run.venue.receipts
    table.add_row("chain transactions (account)", str(len(receipts)))
    table.add_row("  reverted", str(sum(not r.ok for r in receipts)))
    table.add_row("  gas used", f"{sum(r.gas_used for r in receipts):,}")
    table.add_row("deploy (s)", f"{run.market.deploy_seconds:.2f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("onchain-run")(onchain_run)
