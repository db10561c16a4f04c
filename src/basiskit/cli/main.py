"""``basiskit`` command line."""

from __future__ import annotations

import atexit
import gc
import math
import sys
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from basiskit import service
from pydantic import ValidationError

from basiskit.config.loader import ConfigError, format_validation_error, parse_overrides
from basiskit.config.modes import parse_shock
from basiskit.data.errors import DataError
from basiskit.config.data_policy import parse_policy_items
from basiskit.engine.backtest import AccountingError, BacktestInputError, BacktestRequest
from basiskit.errors.exceptions import BasiskitError, RunInterrupted
from basiskit.persistence.records import RunStatus
from basiskit.runs import signals

# Interpreter shutdown runs full garbage collections over every object still alive (a backtest leaves
# ~200,000: its results, pandas, pydantic, SQLAlchemy): ~0.3 s of a ~2 s command. Freezing the heap at
# exit moves it out of the collector's reach; memory goes back to the OS with the process. Files and
# the run store are closed explicitly before that, so nothing depends on a finaliser running at exit.
atexit.register(gc.freeze)

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


def _import_lines(report) -> list[str]:
    """One line per dataset (at most 77 characters): stored rows, range, and counts of duplicates
    (identical dropped + conflicting), gaps, filled rows, repaired rows and notes over its files."""
    by_ds: dict[str, list] = {}
    for r in report.files:
        by_ds.setdefault(r.dataset_id, []).append(r)
    head = f"{'dataset':<23} {'rows':>6}  {'range (UTC)':<22} {'dups':>4} {'gaps':>4} {'fill':>4} {'rep':>3} {'note':>4}"
    lines = [head]
    for ds, reps in by_ds.items():
        main = reps[0]
        rng = f"{(main.start or '')[:10]}..{(main.end or '')[:10]}"
        dups = sum(r.duplicates_dropped + r.conflicting_duplicates for r in reps)
        rep = sum(sum(r.repairs.values()) for r in reps)
        notes = sum(len(r.notes) for r in reps)
        lines.append(f"{ds[:23]:<23} {main.rows_kept + main.filled_rows:>6}  {rng:<22} {dups:>4} {len(main.gaps):>4} "
                     f"{main.filled_rows:>4} {rep:>3} {notes:>4}")
    return lines


def _import_details(report) -> list[str]:
    """Every file report in full: range, counts, unfilled gaps, repairs and notes (rich markup)."""
    out = []
    for r in report.files:
        out.append(f"[bold]{escape(r.dataset_id)}[/]  {escape(r.file)}")
        out.append(f"  range {(r.start or '-')[:16]} .. {(r.end or '-')[:16]} UTC, step {r.step_seconds} s")
        policy = f" (policy {escape(r.conflict_policy)})" if r.conflict_policy else ""
        out.append(f"  rows read {r.rows_read:,}, kept {r.rows_kept:,}, filled {r.filled_rows:,}; duplicates dropped "
                   f"{r.duplicates_dropped}, conflicting {r.conflicting_duplicates}{policy}")
        out.append(f"  unsorted rows {r.unsorted_rows}; gaps {len(r.gaps)} ({r.missing_steps} missing steps), "
                   f"unfilled {len(r.unfilled_gaps)}")
        out += [f"    unfilled {a[:16]} .. {b[:16]} ({n} steps)" for a, b, n in r.unfilled_gaps]
        if r.repairs:
            out.append("  repaired: " + ", ".join(f"{k} {n} row(s) ({r.data_policy.get(k, '?')})"
                                                  for k, n in r.repairs.items()))
        out += [f"  - {escape(n)}" for n in r.notes]
    return out


@data_app.command("import")
def data_import(source: Optional[Path] = typer.Option(None, help="raw data folder (default $BASISKIT_DATA_SOURCE or ../shared/data)"),
                data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="catalog location (default $BASISKIT_HOME or ./.basiskit)"),
                details: bool = typer.Option(False, "--details", help="print every file's findings in full"),
                policy: list[str] = typer.Option([], "--policy", help="CLASS=ACTION, e.g. spike=drop_and_fill (repeatable); "
                                                                      "default: every value check is an error")) -> None:
    """Validate the raw CSVs and store them as Parquet; print one line per dataset (--details: everything)."""
    try:
        try:
            pol = parse_policy_items(policy)
        except (ValueError, ValidationError) as exc:
            msg = format_validation_error(exc, "--policy") if isinstance(exc, ValidationError) else str(exc)
            raise ConfigError(msg) from None
        with console.status("importing") as status:
            report = service.import_data(data_dir, source, progress=lambda ds: status.update(f"importing {ds}"),
                                         policy=pol)
    except (DataError, ConfigError) as exc:
        _fail(exc)
    changes = ", ".join(f"{k}={v}" for k, v in pol.changes().items()) or "default (all checks are errors)"
    n = len({r.dataset_id for r in report.files})
    lines = [f"{n} datasets imported in {report.seconds:.1f} s; data policy: {changes}"]
    lines += _import_details(report) if details else _import_lines(report)
    if not details:
        lines += ["dups: duplicate rows (dropped or conflicting)  fill: forward-filled rows",
                  "rep: rows repaired by the data policy  note: notes  (all of them: --details)"]
    for i, line in enumerate(lines):
        console.print(line, markup=details and i > 0, highlight=False)


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
    """Run a backtest, print its summary and write summary.json, equity.csv and equity.parquet, trades.csv,
    attribution.csv, venues.csv, events.jsonl, events/<component>_events.jsonl, events.csv, report.html and
    last run.json (the completion marker); record it in the run database. Ctrl-C or SIGTERM stops it: the run is
    recorded interrupted and the command exits with 128 + the signal number. Exit code 3: the run
    finished with withdrawals left unpaid (allow_partial_withdrawals)."""
    store = result = None
    with signals.stop_on_signals() as received:
        try:
            try:
                req = BacktestRequest(mode=mode, start=start, end=end, capital=capital, share_class=share_class,
                                      overrides=_with_shock(parse_overrides(set_), shock),
                                      deposits=_flows(deposit, "deposit"), withdrawals=_flows(withdraw, "withdraw"))
                service.preflight(out, data_dir)  # a file or read-only --out / data dir: fail before any work
                valid = service.validate_backtest(req, max_steps=None)  # request checks only: the bar's total
                catalog = service.open_catalog(data_dir, source)
                with RunProgress(err, mode, valid.steps) as bar:
                    # the first run imports the raw data (seconds), into the store of the run's data policy
                    catalog.for_policy(valid.config.data_policy).ensure_imported(progress=bar.importing)
                    store = service.open_store(data_dir) if record else None
                    if store is not None:
                        service.recover_interrupted(store)
                    result = service.backtest(req, out, data_dir, source, bar.step, catalog=catalog, store=store)
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
    console.print(f"run id {result.run_id}" + (" (recorded)" if record else ""), soft_wrap=True)
    if received:  # it arrived while the finished run was being recorded and moved in place
        err.print(f"note: {signals.StopSignal(received[0]).name} arrived after the run had finished; its results "
                  "are complete")
    unpaid = result.outcome.summary.get("unpaid_withdrawals") or 0.0
    if unpaid > 0:
        err.print(f"[bold red]unpaid withdrawals:[/] {unpaid:,.6g} {result.outcome.summary['share_class']} could not be "
                  "paid (allow_partial_withdrawals); see unpaid_withdrawals in summary.json")
        raise typer.Exit(3)


@app.command()
def sweep(mode: str = typer.Argument(..., help="strategy mode, see `basiskit modes`"),
          start: str = typer.Option(..., help="first step, YYYY-MM-DD (00:00 UTC)"),
          end: str = typer.Option(..., help="last step, YYYY-MM-DD (00:00 UTC)"),
          capital: float = typer.Option(100_000.0, help="initial capital in share-class units"),
          param: list[str] = typer.Option([], "--param", help="KEY=LOW:HIGH[:STEP] or KEY=a,b,c (repeatable)"),
          objective: str = typer.Option("apy", help="apy, sharpe, calmar or another numeric summary key"),
          direction: str = typer.Option("max", help="max or min"),
          trials: Optional[int] = typer.Option(None, help="trials (default: the whole grid, or 20)"),
          sampler: str = typer.Option("tpe", help="grid, random or tpe"),
          seed: int = typer.Option(0, help="sampler seed (the same seed gives the same trials)"),
          batch: Optional[int] = typer.Option(None, help="TPE round size (default 8; not the worker count)"),
          workers: Optional[int] = typer.Option(None, help="trials at once (default: one per core; 1: in this process)"),
          ray: Optional[str] = typer.Option(None, "--ray", help="run trials on Ray: a cluster ADDRESS, or 'local'"),
          walk_forward: Optional[str] = typer.Option(None, "--walk-forward", help="TRAIN:TEST days, e.g. 90:30"),
          share_class: Optional[str] = typer.Option(None, "--share-class", help="USDT or ETH"),
          set_: list[str] = typer.Option([], "--set", help="fixed config override key=value (repeatable)"),
          out: Optional[Path] = typer.Option(None, help="output folder (default results/sweeps/<sweep id>)"),
          png: bool = typer.Option(True, help="write heatmap.png (two parameters; needs Chromium)"),
          data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
          source: Optional[Path] = typer.Option(None, help="raw data folder for the first import")) -> None:
    """Sweep or optimise config parameters: many backtests, recorded in the run database (an Optuna
    study there: rerun the same command after a kill to run only the missing trials). Prints the top
    trials and the best; writes trials.csv, best.json, importance.json, sweep.html, heatmap.png."""
    store = None
    with signals.stop_on_signals() as received:
        try:
            try:
                spec = service.sweep_spec(mode, start, end, capital, param, objective=objective, direction=direction,
                                          sampler=sampler, trials=trials, seed=seed, batch=batch,
                                          share_class=share_class, overrides=parse_overrides(set_),
                                          walk_forward=walk_forward)
                service.preflight(out, data_dir)
                catalog = service.open_catalog(data_dir, source)
                store = service.open_store(data_dir)
                err.print(f"sweep {spec.sweep_id}: {spec.n_trials} trial(s)"
                          + (f" per window ({walk_forward} days)" if walk_forward else ""), highlight=False)
                with SweepProgress(err, spec.n_trials) as bar:
                    result = service.sweep(spec, catalog, store, workers=workers, ray=ray, out_dir=out,
                                           progress=bar.update, png=png)
            finally:
                if store is not None:
                    store.close()
        except (ConfigError, DataError, BacktestInputError, BasiskitError) as exc:
            _fail(exc, 128 + received[0] if isinstance(exc, RunInterrupted) and received else 2)
        except (KeyboardInterrupt, signals.StopSignal) as exc:
            name = exc.name if isinstance(exc, signals.StopSignal) else "SIGINT"
            err.print(f"[bold red]stopped by {name}[/]: finished trials are recorded; rerun the same command to "
                      "run the rest")
            raise typer.Exit(128 + (received[0] if received else 2))
    print_sweep(result)


class SweepProgress:
    """A transient bar of finished trials (``update`` takes ``basiskit.sweeps.driver.Progress``)."""

    def __init__(self, console: Console, total: int) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=None), _Count(),
                                 TimeRemainingColumn(), console=console, transient=True, expand=True)
        self.task = self.progress.add_task("trials", total=total, unit="trials")

    def __enter__(self) -> "SweepProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, p) -> None:  # noqa: ANN001
        desc = f"trials {p.window}".strip() + (f" ({p.failed} failed)" if p.failed else "")
        self.progress.update(self.task, completed=p.done + p.failed, total=p.total, description=desc)


def print_sweep(result, top: int = 10) -> None:  # noqa: ANN001
    """The top trials by objective (at most 80 columns: parameters fold), the best trial in full, the
    parameter importance and the files."""
    info, rows = result.info, result.rows
    spec = info["spec"]
    obj = spec["objective"]
    keys = info["params"]
    done = [r for r in rows if r["value"] is not None]
    done.sort(key=lambda r: ((-r["value"]) if spec["direction"] == "max" else r["value"], r["index"]))
    prog = info["progress"]
    console.print(f"[bold]sweep {escape(info['id'])}[/]  {escape(spec['mode'])} {spec['start']} → {spec['end']}",
                  highlight=False, soft_wrap=True)
    console.print(f"{prog['done']}/{prog['total']} trials done ({len(result.ran)} run now, {result.skipped} found "
                  f"finished, {prog['failed']} failed) on {result.executor} x{result.workers}; {spec['sampler']} "
                  f"seed {spec['seed']}", highlight=False)
    table = Table(title=f"top {min(top, len(done))} by {obj} ({spec['direction']})", box=box.SIMPLE, pad_edge=False,
                  header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    for k in keys:
        table.add_column(k.replace(".", ".\n"), justify="right", overflow="fold", max_width=max(8, 44 // max(1, len(keys))))
    table.add_column(obj, justify="right", no_wrap=True)
    if obj != "apy":
        table.add_column("apy", justify="right", no_wrap=True)
    table.add_column("max dd", justify="right", no_wrap=True)
    for r in done[:top]:
        cells = [str(r["index"]), *[fmt_param(r["params"].get(k)) for k in keys], fmt_number(r["value"], 4)]
        if obj != "apy":
            cells.append(fmt_number(r["metrics"].get("apy"), 2, 100.0, " %"))
        cells.append(fmt_number(r["metrics"].get("max_drawdown"), 2, 100.0, " %"))
        table.add_row(*cells)
    if done:
        console.print(table)
    best = info.get("best")
    if best:
        console.print(f"best: trial {best['index']}, {obj} {fmt_number(best['value'], 6)}", highlight=False)
        for k in keys:
            console.print(f"  {k} = {fmt_param(best['params'].get(k))}", highlight=False, soft_wrap=True)
        console.print(f"  run id {best['run_id']}", highlight=False, soft_wrap=True)
    elif not info.get("walk_forward"):
        console.print(f"no trial gave a value of {obj} (see the notes in trials.csv)", highlight=False)
    if info.get("importance"):
        console.print("importance: " + ", ".join(f"{k} {v:.2f}" for k, v in info["importance"].items()),
                      highlight=False)
    wf = info.get("walk_forward")
    if wf:
        console.print(f"walk-forward {wf['train_days']}:{wf['test_days']} days, {wf['windows']} windows: "
                      f"out-of-sample return {fmt_number(wf['oos_total_return'], 2, 100.0, ' %')}, APY "
                      f"{fmt_number(wf['oos_apy'], 2, 100.0, ' %')}", highlight=False)
        for srow in wf["series"]:
            console.print(f"  {srow['test_start']}..{srow['test_end']}  {obj} {fmt_number(srow['test_value'], 4)}  "
                          f"return {fmt_number(srow['test_total_return'], 2, 100.0, ' %')}", highlight=False)
            console.print("    " + ", ".join(f"{k}={fmt_param(v)}" for k, v in (srow["params"] or {}).items()),
                          highlight=False)
    for name, path in result.paths.items():
        console.print(f"{name}: {path}", soft_wrap=True, highlight=False)


def fmt_param(v: object) -> str:
    """A parameter value: numbers up to 6 significant digits, other values as they are."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return "n/a" if v is None else str(v)


@app.command()
def sweeps(data_dir: Optional[Path] = typer.Option(None, "--data-dir")) -> None:
    """List recorded sweeps, newest first (id, status, trials done)."""
    try:
        store = service.open_store(data_dir)
        try:
            items = service.list_sweeps(store)
        finally:
            store.close()
    except BasiskitError as exc:
        _fail(exc)
    for i in items:
        p = i["progress"]
        console.print(f"{i['id']} {i['status']} {p['done']}/{p['total']} {i['spec'].get('objective', '')}",
                      soft_wrap=True, highlight=False)
    if not items:
        console.print("no sweeps yet (basiskit sweep --help)")


class _Count(ProgressColumn):
    """``done/total unit`` with thousands separators (``total`` is known when the task is added)."""

    def render(self, task: Task) -> Text:
        total = "?" if task.total is None else f"{int(task.total):,}"
        return Text(f"{int(task.completed):,}/{total} {task.fields.get('unit', '')}".rstrip())


class RunProgress:
    """Progress of ``basiskit backtest`` on ``console`` (transient): one line for the data import
    (dataset k of n; shown only when the catalog imports something) above one for the clock steps,
    whose total is known from the start. ``importing`` and ``step`` are the callbacks."""

    def __init__(self, console: Console, mode: str, steps: int) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=None), _Count(),
                                 TimeRemainingColumn(), console=console, transient=True, expand=True)
        self.import_task = self.progress.add_task("import", total=1, visible=False, unit="datasets")
        self.step_task = self.progress.add_task(mode, total=steps, unit="steps")

    def __enter__(self) -> "RunProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def importing(self, dataset: str, k: int, n: int) -> None:
        """Before the k-th of n datasets is imported."""
        self.progress.update(self.import_task, description=f"import {dataset}", completed=k - 1, total=n, visible=True)

    def step(self, done: int, total: int) -> None:
        imp = self.progress.tasks[self.import_task]
        if imp.visible and not imp.finished:
            self.progress.update(self.import_task, description="data imported", completed=imp.total)
        self.progress.update(self.step_task, completed=done, total=total)


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
    print_runs(page.items, page.total)


# Columns of `basiskit runs` in the order they are given up when the terminal is narrow (the id stays whole:
# it is what `basiskit report` takes; it already holds the creation time and the mode).
_RUN_COLUMNS = (
    ("status", lambda r: r.status.value, "left"),
    ("seconds", lambda r: "" if r.duration_seconds is None else f"{r.duration_seconds:.2f}", "right"),
    ("progress", lambda r: f"{r.progress_done}/{r.progress_total}" if r.progress_total else str(r.progress_done), "right"),
    ("created (UTC)", lambda r: r.created_at.strftime("%Y-%m-%d %H:%M:%S"), "left"),
    ("origin", lambda r: r.origin, "left"),
    ("mode", lambda r: r.mode, "left"),
)


def print_runs(items: list, total: int) -> None:
    """The runs as a table as wide as the terminal allows: ids whole (never wrapped or cut), then as many
    other columns as fit; narrower than an id, one ``id status`` line per run."""
    title = f"{total} run(s)" if total == len(items) else f"{len(items)} of {total} run(s), newest first"
    for k in range(len(_RUN_COLUMNS), -1, -1):
        cols = _RUN_COLUMNS[:k]
        table = Table(title=title, box=None, pad_edge=False, header_style="bold")
        table.add_column("id", no_wrap=True, overflow="ignore")
        for name, _, justify in cols:
            table.add_column(name, no_wrap=True, justify=justify)
        for r in items:
            table.add_row(r.id, *(cell(r) for _, cell, _ in cols))
        if console.measure(table, options=console.options.update(max_width=1_000_000)).maximum <= console.width:
            console.print(table)
            break
    else:
        console.print(title)
        for r in items:
            console.print(f"{r.id} {r.status.value}", soft_wrap=True, highlight=False)
    if items:
        console.print("report of a run: basiskit report <id>", highlight=False)


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
    console.print(f"report: {out['html']}", soft_wrap=True)  # paths are never broken across lines
    for p in out["png"]:
        console.print(f"png: {p}", soft_wrap=True)


DECIMALS = {"USDT": 2, "ETH": 6}  # amounts in the share class; other units get 2


def fmt_number(x: object, decimals: int = 2, scale: float = 1.0, suffix: str = "") -> str:
    """``x * scale`` with thousands separators and ``decimals`` decimals, more when a non-zero value would
    otherwise print as 0 (so never ``-0.00``; scientific below 1e-12); ``n/a`` for None, NaN or a non-number."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x):
        return "n/a"
    v = float(x) * scale
    if math.isinf(v):
        return ("-" if v < 0 else "") + "inf" + suffix
    if v == 0:
        return f"{0:.{decimals}f}{suffix}"
    d = decimals
    while round(abs(v), d) == 0 and d < 12:
        d += 1
    if round(abs(v), d) == 0:
        return f"{v:.2e}{suffix}"
    return f"{v:,.{d}f}{suffix}"


def print_summary(s: dict, out_dir: Path) -> None:
    """The run's summary in at most 80 columns: amounts in the share class (ETH with 6 decimals, more
    for tiny non-zero values), percentages, attribution. A missing or undefined value prints ``n/a``,
    followed by its reason when ``s["null_reasons"][key]`` gives one."""
    unit = s.get("share_class") or "?"
    dec = DECIMALS.get(unit, 2)
    notes = s.get("null_reasons") if isinstance(s.get("null_reasons"), dict) else {}

    reasons: list[str] = []  # each distinct reason once, as a numbered note under the table

    def cell(key: str, text: str) -> str:
        why = notes.get(key)
        if text != "n/a" or not why:
            return text
        if why not in reasons:
            reasons.append(why)
        return f"n/a [{reasons.index(why) + 1}]"

    amount = lambda k: cell(k, fmt_number(s.get(k), dec))  # noqa: E731
    pct = lambda k: cell(k, fmt_number(s.get(k), 2, 100.0, " %"))  # noqa: E731
    ratio = lambda k: cell(k, fmt_number(s.get(k), 2))  # noqa: E731
    count = lambda k: cell(k, "n/a" if s.get(k) is None else str(s.get(k)))  # noqa: E731
    console.print(f"[bold]{escape(str(s.get('mode', '?')))}[/]  {s.get('start', '?')} → {s.get('end', '?')}  "
                  f"(share class {escape(unit)})", highlight=False)
    table = Table(show_header=False, box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column(style="bold", max_width=26, overflow="fold")
    table.add_column(justify="right", max_width=50, overflow="fold")
    rows = [(f"initial equity ({unit})", amount("initial_equity")), (f"final equity ({unit})", amount("final_equity")),
            (f"net deposits ({unit})", amount("net_deposits")), ("total return (TWR)", pct("total_return")),
            ("APR", pct("apr")), ("APY", pct("apy")), ("Sharpe", ratio("sharpe")), ("Sortino", ratio("sortino")),
            ("volatility (annual)", pct("volatility")), ("max drawdown", pct("max_drawdown")),
            ("Calmar", ratio("calmar")), ("idle capital (avg)", pct("avg_idle_capital_share")),
            ("costs (bps / year)", ratio("costs_bps_per_year")), ("trades", count("trades")),
            ("deferred (data gaps)", count("orders_deferred")), ("liquidations", count("liquidations"))]
    for label, val in rows:
        table.add_row(label, val)
    attribution = s.get("attribution") or {}
    if attribution:
        table.add_row("", "")
        table.add_row(f"attribution ({unit})", "")
        for src, amt in attribution.items():
            table.add_row(f"  {src}", fmt_number(amt, dec))
        change = (s.get("reconciliation") or {}).get("equity_change")
        table.add_row("  = equity change", fmt_number(change, dec))
    console.print(table)
    for k, why in enumerate(reasons, 1):
        console.print(f"[{k}] {escape(why)}", highlight=False)
    sps = s.get("steps_per_second")
    console.print(f"loop: {s.get('steps', 'n/a')} steps, "
                  + ("n/a" if not isinstance(sps, (int, float)) or math.isnan(sps) else f"{sps:,.0f}") + " steps/s",
                  highlight=False)
    console.print(f"results: {out_dir}", soft_wrap=True, highlight=False)
    console.print(f"report: {out_dir / 'report.html'}", soft_wrap=True, highlight=False)


from basiskit.cli import live as _live  # noqa: E402  (basiskit live ...: cli/live.py)

_live.register(app)
from basiskit.cli.funding import funding_app  # noqa: E402

app.add_typer(funding_app, name="funding")

from basiskit.cli.portfolio import register as _register_portfolio  # noqa: E402  (basiskit portfolio)

_register_portfolio(app)
from basiskit.cli import ml as _ml  # noqa: E402  (ML directional modes: ml-train)
_ml.register(app, _fail)

from basiskit.cli.signals import register as _register_signals  # noqa: E402  (basiskit data ticks)
_register_signals(data_app, _fail)

from basiskit.cli import onchain as _onchain  # noqa: E402 -- on-chain runs (issue 13)
_onchain.register(app)
from basiskit.cli import emulator as _emulator_cli  # noqa: E402  (``basiskit emulator``)

_emulator_cli.register(app)


if __name__ == "__main__":
    app()
