"""``basiskit funding``: funding-rate opportunities across venues and instruments."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from basiskit import funding_service, service
from basiskit.errors.exceptions import BasiskitError

funding_app = typer.Typer(help="Funding rates: ranked opportunities across venues and instruments.")
console = Console()
err = Console(stderr=True)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:,.2f}%"


@funding_app.command("scan")
def scan(at: Optional[str] = typer.Option(None, "--at", help="time to rank at (ISO, UTC); default: the last settlement"),
         top: int = typer.Option(20, "--top", min=1, help="how many opportunities to show"),
         cross_only: bool = typer.Option(False, "--cross-only", help="only pairs of the same perpetual on two venues"),
         hold_days: float = typer.Option(30.0, "--hold-days", min=0.01, help="holding period the one-off costs are spread over"),
         notional: float = typer.Option(100_000.0, "--notional", min=1.0, help="USDT notional of each leg"),
         data_dir: Optional[str] = typer.Option(None, "--data-dir", help="catalog directory (default .basiskit)"),
         source: Optional[str] = typer.Option(None, "--source", help="raw data directory")) -> None:
    """Rank funding opportunities (net APR: gross spread less four taker legs and transfers)."""
    try:
        catalog = service.open_catalog(data_dir, source)
        kinds = ("cross_venue",) if cross_only else ("cross_venue", "perp_spot")
        res = funding_service.scan(catalog, at, top, kinds, notional, hold_days)
    except BasiskitError as exc:
        err.print(f"[bold red]error [{exc.code}]:[/] {escape(str(exc))}")
        raise typer.Exit(2)
    table = Table(title=f"funding opportunities at {res['at']} (net APR)", title_justify="left")
    for col in ("#", "kind", "long", "short", "net APR", "gross APR"):
        table.add_column(col, justify="right" if "APR" in col or col == "#" else "left", overflow="fold")
    for o in res["opportunities"]:
        kind = "cross" if o["kind"] == "cross_venue" else "perp/spot" + (" (borrow)" if o["needs_borrow"] else "")
        table.add_row(str(o["rank"]), kind, o["long"], o["short"], _pct(o["net_apr"]), _pct(o["gross_apr"]))
    console.print(table)
    d = res["data"]
    console.print(f"{res['ranked']} opportunities ranked ({res['okx_instruments_ranked']} OKX instruments with a "
                  f"current rate) of {res['instruments']} funding series; {res['apr_basis']}", highlight=False)
    console.print(f"OKX files {d['okx_files']}, duplicates dropped {d['okx_duplicates_dropped']}, rows on no "
                  f"schedule left out {len(d['okx_rows_off_every_grid'])}, off-schedule settlements "
                  f"{d['off_schedule_settlements']}", highlight=False)


@funding_app.command("study")
def study(asset: str = typer.Option("BTC", "--asset", help="BTC or ETH"),
          capital: float = typer.Option(100_000.0, "--capital", min=1.0, help="USDT per run"),
          json_out: Optional[str] = typer.Option(None, "--json", help="write the whole report (JSON) here"),
          data_dir: Optional[str] = typer.Option(None, "--data-dir", help="catalog directory (default .basiskit)"),
          source: Optional[str] = typer.Option(None, "--source", help="raw data directory")) -> None:
    """funding_arbitrage over every stretch where the venues have prices and funding, against the static
    best pair and the perfect-foresight upper bound."""
    import json

    try:
        catalog = service.open_catalog(data_dir, source)
        catalog.ensure_imported()
        rep = funding_service.arbitrage_study(catalog, asset.upper(), capital)
    except BasiskitError as exc:
        err.print(f"[bold red]error [{exc.code}]:[/] {escape(str(exc))}")
        raise typer.Exit(2)
    table = Table(title=f"funding_arbitrage {rep['asset']} on {capital:,.0f} USDT", title_justify="left")
    for col in ("period", "venues", "PnL", "funding", "switches/mo", "transfer fees", "static best", "PnL static",
                "foresight funding"):
        table.add_column(col, justify="left" if col in ("period", "venues", "static best") else "right", overflow="fold")
    for r in rep["runs"]:
        d, st = r["dynamic"], r["static"][r["static_best_pair"]]
        table.add_row(f"{r['start']} .. {r['end']}", ",".join(r["venues"]), f"{d['pnl']:,.0f}", f"{d['funding']:,.0f}",
                      f"{d['pair_changes_per_month'] or 0:.2f}", f"{d['transfer_fees_usd']:,.0f}",
                      r["static_best_pair"], f"{st['pnl']:,.0f}", f"{r['perfect_foresight']['funding_usd']:,.0f}")
    console.print(table)
    for line in rep["unavailable"]:
        console.print(f"unavailable: {line}", highlight=False)
    if json_out:
        with open(json_out, "w") as fh:
            json.dump(rep, fh, indent=1, default=str)
        console.print(f"report: {json_out}", highlight=False)


@funding_app.command("rates")
def rates(venue: str = typer.Argument(..., help="binance, bybit or okx"),
          instrument: str = typer.Argument(..., help="e.g. BTCUSDT (Binance/Bybit) or BTC-USDT-SWAP (OKX)"),
          start: Optional[str] = typer.Option(None, "--start", help="ISO time (UTC), exclusive"),
          end: Optional[str] = typer.Option(None, "--end", help="ISO time (UTC), inclusive"),
          last: int = typer.Option(12, "--last", min=1, help="how many settlements to show"),
          data_dir: Optional[str] = typer.Option(None, "--data-dir", help="catalog directory (default .basiskit)"),
          source: Optional[str] = typer.Option(None, "--source", help="raw data directory")) -> None:
    """Settled funding of one series and its settlement schedule (interval changes)."""
    try:
        catalog = service.open_catalog(data_dir, source)
        res = funding_service.rates(catalog, venue, instrument, start, end, last)
    except BasiskitError as exc:
        err.print(f"[bold red]error [{exc.code}]:[/] {escape(str(exc))}")
        raise typer.Exit(2)
    table = Table(title=f"{venue}:{instrument} funding", title_justify="left")
    for col in ("time", "rate / period", "interval", "APR"):
        table.add_column(col, justify="left" if col == "time" else "right")
    for t, r, h, apr in res["settlements"]:
        table.add_row(t, f"{r * 100:.4f}%", f"{h} h", _pct(apr))
    console.print(table)
    for seg in res["schedule"]:
        console.print(f"schedule: every {seg['interval_h']} h from {seg['from']} to {seg['to']}", highlight=False)
