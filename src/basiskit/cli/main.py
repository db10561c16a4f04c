"""``basiskit`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from basiskit import service
from basiskit.config.loader import ConfigError, parse_overrides
from basiskit.config.modes import parse_shock
from basiskit.data.errors import DataError
from basiskit.engine.backtest import AccountingError, BacktestInputError, BacktestRequest
from basiskit.errors.exceptions import BasiskitError, RunInterrupted
from basiskit.persistence.records import RunStatus
from basiskit.runs import signals

app = typer.Typer(add_completion=False, help="Backtest market-neutral crypto yield strategies on real data.")
data_app = typer.Typer(help="Data catalog.")
app.add_typer(data_app, name="data")
console = Console()
err = Console(stderr=True)


def _fail(exc: Exception, code: int = 2) -> None:
    tag = f" [{exc.code}]" if isinstance(exc, BasiskitError) else ""
    field = f" (field {exc.field})" if isinstance(exc, BasiskitError) and exc.field else ""
    err.print(f"[bold red]error{escape(tag)}:[/] {escape(str(exc))}{escape(field)}")
    raise typer.Exit(code)


def _flows(items: list[str], what: str) -> tuple[tuple[str, float], ...]:
    out = []
    for item in items:
        date, sep, amount = item.rpartition(":")
        try:
            out.append((date, float(amount)))
        except ValueError:
            sep = ""
        if not sep:
            raise BacktestInputError(f"--{what} expects YYYY-MM-DD:AMOUNT, got {item!r}")
    return tuple(out)


def _with_shock(overrides: dict, shock: str | None) -> dict:
    if shock is None:
        return overrides
    try:
        return {**overrides, "shock": parse_shock(shock)}
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


@data_app.command("import")
def data_import(source: Optional[Path] = typer.Option(None, help="raw data folder (default $BASISKIT_DATA_SOURCE or ../shared/data)"),
                data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="catalog location (default $BASISKIT_HOME or ./.basiskit)")) -> None:
    """Validate the raw CSVs and store them as Parquet; print a report per file."""
    try:
        with console.status("importing") as status:
            report = service.import_data(data_dir, source, progress=lambda ds: status.update(f"importing {ds}"))
    except DataError as exc:
        _fail(exc)
    table = Table(title=f"data import ({report.seconds:.1f} s)")
    for col in ("dataset", "rows read→kept", "range (UTC)", "dups dropped", "conflicts", "missing steps", "filled",
                "unfilled gaps", "unsorted"):
        table.add_column(col, overflow="fold")
    notes = []
    for r in report.to_table_rows():
        conflicts = f"{r['conflicts']}" + (f" ({r['policy']})" if r["policy"] else "")
        table.add_row(r["dataset"], f"{r['rows_read']:,}→{r['rows_kept']:,}", f"{str(r['start'])[:16]} → {str(r['end'])[:16]}",
                      str(r["dups_dropped"]), conflicts, f"{r['missing_steps']} in {r['gaps']} gaps" if r["gaps"] else "0",
                      str(r["filled"]), str(r["unfilled_gaps"]), str(r["unsorted"]))
        if r["notes"]:
            notes.append(f"[bold]{r['dataset']}[/] ({r['file']}): {r['notes']}")
    console.print(table)
    for n in notes:
        console.print(f"- {n}")


@app.command()
def modes() -> None:
    """List strategy modes."""
    table = Table("mode", "description")
    for m in service.list_modes():
        table.add_row(m["mode"], m["description"])
    console.print(table)


@app.command()
def backtest(mode: str = typer.Argument(..., help="strategy mode, see `basiskit modes`"),
             start: str = typer.Option(..., help="first step, YYYY-MM-DD (00:00 UTC)"),
             end: str = typer.Option(..., help="last step, YYYY-MM-DD (00:00 UTC)"),
             capital: float = typer.Option(100_000.0, help="initial capital in share-class units"),
             share_class: Optional[str] = typer.Option(None, "--share-class", help="USDT or ETH"),
             set_: list[str] = typer.Option([], "--set", help="config override key=value (repeatable)"),
             shock: Optional[str] = typer.Option(None, help="stress scenario: eth_price:-0.3@2024-06-10T00:00 or "
                                                             "borrow_rate:4@2024-06-10T00:00/168h"),
             deposit: list[str] = typer.Option([], help="YYYY-MM-DD:AMOUNT (repeatable)"),
             withdraw: list[str] = typer.Option([], help="YYYY-MM-DD:AMOUNT (repeatable)"),
             out: Optional[Path] = typer.Option(None, help="output folder (default results/<run-id>)"),
             data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
             source: Optional[Path] = typer.Option(None, help="raw data folder for the first import"),
             record: bool = typer.Option(True, help="record the run in the database ($BASISKIT_DATABASE_URL or "
                                                     "SQLite in the data dir)")) -> None:
    """Run a backtest, print its summary and write summary.json, equity.csv, trades.csv, attribution.csv,
    venues.csv, events.jsonl, events/<component>_events.jsonl, events.csv, report.html and last run.json
    (the completion marker); record it in the run database. Ctrl-C or SIGTERM stops it: the run is
    recorded interrupted and the command exits with 128 + the signal number."""
    store = result = None
    with signals.stop_on_signals() as received:
        try:
            try:
                req = BacktestRequest(mode=mode, start=start, end=end, capital=capital, share_class=share_class,
                                      overrides=_with_shock(parse_overrides(set_), shock),
                                      deposits=_flows(deposit, "deposit"), withdrawals=_flows(withdraw, "withdraw"))
                service.preflight(out, data_dir)  # a file or read-only --out / data dir: fail before any work
                with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                              TextColumn("{task.completed}/{task.total} steps"), TimeRemainingColumn(), console=err,
                              transient=True) as bar:
                    task = bar.add_task(f"{mode}", total=None)

                    def progress(i: int, n: int) -> None:
                        bar.update(task, completed=i, total=n)

                    store = service.open_store(data_dir) if record else None
                    if store is not None:
                        service.recover_interrupted(store)
                    result = service.backtest(req, out, data_dir, source, progress, store=store)
            finally:
                if store is not None:
                    store.close()
        except (ConfigError, DataError, BacktestInputError, AccountingError, BasiskitError) as exc:
            _fail(exc, 128 + received[0] if isinstance(exc, RunInterrupted) and received else 2)
        except (KeyboardInterrupt, signals.StopSignal) as exc:  # outside the run (which records its own end)
            name = exc.name if isinstance(exc, signals.StopSignal) else "SIGINT"
            when = (f"after run {result.run_id} had finished (it is recorded, its results are in {result.out_dir})"
                    if result is not None else "before the run started; nothing was recorded")
            err.print(f"[bold red]stopped by {name}[/] {escape(when)}")
            raise typer.Exit(128 + (received[0] if received else 2))
    print_summary(result.outcome.summary, result.out_dir)
    console.print(f"run id {result.run_id}" + (" (recorded)" if record else ""))
    if received:  # it arrived while the finished run was being recorded and moved in place
        err.print(f"note: {signals.StopSignal(received[0]).name} arrived after the run had finished; its results "
                  "are complete")


@app.command()
def runs(status: Optional[RunStatus] = typer.Option(None, help="only runs with this status"),
         mode: Optional[str] = typer.Option(None, help="only runs of this mode"),
         limit: int = typer.Option(20, min=1, max=500),
         data_dir: Optional[Path] = typer.Option(None, "--data-dir")) -> None:
    """List recorded runs, newest first."""
    try:
        store = service.open_store(data_dir)
        try:
            page = service.list_runs(store, status, mode, limit, 0)
        finally:
            store.close()
    except BasiskitError as exc:
        _fail(exc)
    table = Table("id", "mode", "status", "origin", "created (UTC)", "progress", "seconds", title=f"{page.total} run(s)")
    for r in page.items:
        prog = f"{r.progress_done}/{r.progress_total}" if r.progress_total else str(r.progress_done)
        table.add_row(r.id, r.mode, r.status.value, r.origin, r.created_at.strftime("%Y-%m-%d %H:%M:%S"), prog,
                      "" if r.duration_seconds is None else f"{r.duration_seconds:.2f}")
    console.print(table)


@app.command()
def api(host: str = typer.Option("127.0.0.1", help="bind address; anything but loopback needs BASISKIT_API_TOKEN"),
        port: int = typer.Option(8000, min=1, max=65535),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="catalog, SQLite database and results/"),
        source: Optional[Path] = typer.Option(None, help="raw data folder for the first import"),
        workers: int = typer.Option(1, min=1, max=16, help="background backtest threads"),
        max_queued: int = typer.Option(16, "--max-queued", min=0, max=10_000,
                                       help="backtests that may wait for a thread; one more gets HTTP 429"),
        log_level: str = typer.Option("info", help="uvicorn log level")) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs, health at /health)."""
    import uvicorn

    from basiskit.api.app import create_app
    from basiskit.api.settings import ApiSettings

    try:
        settings = ApiSettings.from_env(service.data_dir(data_dir), host=host, source_dir=source, workers=workers,
                                        max_queued=max_queued)
        application = create_app(settings)
    except (BasiskitError, DataError, ConfigError) as exc:
        _fail(exc)
    # Backtests run in threads of this process: a 1 ms GIL switch interval (default 5 ms) keeps request
    # latency low while one runs (bench/RESULTS.md); a lone backtest thread is not slowed by it.
    sys.setswitchinterval(0.001)
    uvicorn.run(application, host=host, port=port, log_level=log_level)


@app.command()
def report(run: str = typer.Argument(..., help="results folder, or a recorded run id (`basiskit runs`)"),
           png: bool = typer.Option(False, "--png", help="also write the main charts as PNG files"),
           png_dir: Optional[Path] = typer.Option(None, "--png-dir", help="folder for the PNGs (default RUN/png)"),
           data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
           source: Optional[Path] = typer.Option(None, help="raw data folder (benchmarks)")) -> None:
    """(Re)write a run's report.html (self-contained, opens offline) and, with --png, its charts as PNGs."""
    store = None
    try:
        path = Path(run)
        if not path.is_dir():
            store = service.open_store(data_dir)
        folder = service.run_dir(run, store)
        with console.status("rendering the report"):
            out = service.report(folder, service.open_catalog(data_dir, source), png=png, png_dir=png_dir)
    except (BasiskitError, DataError) as exc:
        _fail(exc)
    finally:
        if store is not None:
            store.close()
    console.print(f"report: {out['html']}")
    for p in out["png"]:
        console.print(f"png: {p}")


def print_summary(s: dict, out_dir: Path) -> None:
    table = Table(title=f"{s['mode']}  {s['start']} → {s['end']}  ({s['share_class']})", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    pct = lambda x: "n/a" if x is None else f"{x * 100:.2f} %"  # noqa: E731
    num = lambda x: "n/a" if x is None else f"{x:,.2f}"  # noqa: E731
    for label, val in [("initial equity", num(s["initial_equity"])), ("final equity", num(s["final_equity"])),
                       ("net deposits", num(s["net_deposits"])), ("total return (TWR)", pct(s["total_return"])),
                       ("APR", pct(s["apr"])), ("APY", pct(s["apy"])), ("Sharpe", num(s["sharpe"])),
                       ("Sortino", num(s["sortino"])), ("max drawdown", pct(s["max_drawdown"])),
                       ("trades", str(s["trades"])), ("liquidations", str(s["liquidations"]))]:
        table.add_row(label, val)
    table.add_row("", "")
    for src, amt in s["attribution"].items():
        table.add_row(f"  {src}", num(amt))
    table.add_row("  = equity change", num(s["reconciliation"]["equity_change"]))
    console.print(table)
    console.print(f"loop: {s['steps']} steps, {s['steps_per_second']:,.0f} steps/s")
    console.print(f"results written to {out_dir} (report: {out_dir / 'report.html'})")


if __name__ == "__main__":
    app()
