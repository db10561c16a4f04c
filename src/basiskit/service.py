"""Use cases shared by the CLI and the API: import data, list modes, describe and validate a mode's
config, check data coverage, run a backtest (synchronously, or queued in the background), and
query or delete stored runs. The CLI and the API only parse and format; everything else is here.

Paths: the data directory is ``BASISKIT_HOME`` or ``./.basiskit``; the raw data source is
``BASISKIT_DATA_SOURCE`` or ``../shared/data`` (resolved by the catalog). The run store is
``BASISKIT_DATABASE_URL`` (PostgreSQL) or SQLite at ``<data dir>/basiskit.db``.

Errors: every function raises ``basiskit.errors.BasiskitError`` subclasses with a registry code
(``InvalidInput`` with the ``field`` named for bad requests; ``RunNotFound``/``RunConflict`` for run
lookups; ``PathUnusable`` for an output or data folder that cannot be written, found before any work;
``ResultsIncomplete`` for a results folder without its completion marker) -- see ``basiskit.errors``.

Runs left ``queued``/``running`` by a process that is gone (killed, crashed) are marked
``interrupted`` whenever runs are listed or looked up, and at start-up (``recover_interrupted``;
the liveness rule is in ``basiskit.runs.owner``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from basiskit.data.catalog import Catalog
from basiskit.config.data_policy import DataPolicy
from basiskit.config.loader import ConfigError
from basiskit.engine.backtest import SUPPORTED_SHARE_CLASSES, BacktestInputError, BacktestRequest
from basiskit.engine.clock import Clock
from basiskit.domain.time import to_ns
from basiskit.errors.exceptions import RunConflict, RunNotFound
from basiskit.persistence.protocol import RunStore
from basiskit.persistence.records import ACTIVE, EquityPoint, NewRun, Page, RunRecord, RunStatus
from basiskit.persistence.url import database_url
from basiskit.runs.coverage import check_coverage, dataset_coverage, venues
from basiskit.runs.execute import RunResult, execute_backtest, owner_alive, owner_id, request_json
from basiskit.runs.folder import check_complete, check_out_dir, check_writable_dir, staging_dir
from basiskit.runs.validate import DEFAULT_MAX_STEPS, ValidRequest, validate_config, validate_request
from basiskit.strategies.registry import MODES, load_mode_config, mode_entry

if TYPE_CHECKING:  # heavy imports stay out of the CLI's start-up: SQLAlchemy loads in open_store, the
    # background runner (thread pool, health) only in the API
    from basiskit.persistence.sql import SqlRunStore
    from basiskit.runs.background import BackgroundRunner

__all__ = ["RunResult", "sweep_spec", "sweep", "list_sweeps", "get_sweep", "data_dir", "open_catalog", "import_data", "list_modes", "mode_config", "mode_requirements",
           "validate_mode_config", "validate_backtest", "new_run_id", "backtest", "preflight", "check_data_dir", "open_store",
           "recover_interrupted", "submit_backtest", "cancel_run",
           "list_runs", "get_run", "run_summary", "run_equity", "run_trades", "run_events", "delete_run",
           "mode_share_classes", "METRIC_KEYS", "run_metrics", "runs_metrics", "run_equity_curve", "run_report"]


def data_dir(explicit: str | Path | None = None) -> Path:
    return Path(explicit or os.environ.get("BASISKIT_HOME") or Path.cwd() / ".basiskit")


def check_data_dir(data: str | Path | None = None) -> Path:
    """The data dir (see :func:`data_dir`), checked: a folder, or creatable as one, and writable
    (the catalog import and SQLite write there). Raises PathUnusable (RUN-012, field ``data_dir``)."""
    return check_writable_dir(data_dir(data), "data_dir", "data folder")


def open_catalog(data: str | Path | None = None, source: str | Path | None = None) -> Catalog:
    return Catalog(data_dir(data), Path(source) if source else None)


def import_data(data: str | Path | None = None, source: str | Path | None = None, progress: Callable[[str], None] | None = None,
                policy: DataPolicy | None = None):
    """Import every dataset under ``policy`` (default: every value check is an error)."""
    return open_catalog(data, source).for_policy(policy).import_all(progress=progress)


# -- modes ------------------------------------------------------------------------------------------
def list_modes() -> list[dict]:
    """``[{"mode", "description"}]`` sorted by mode."""
    return [{"mode": m, "description": load_mode_config(m).description} for m in sorted(MODES)]


def mode_config(mode: str) -> dict[str, Any]:
    """``{"mode", "description", "default_config", "json_schema", "share_classes"}``. Raises UnknownModeError."""
    _, model = mode_entry(mode)
    cfg = load_mode_config(mode)
    return {"mode": mode, "description": cfg.description, "default_config": cfg.model_dump(mode="json"),
            "json_schema": model.model_json_schema(), "share_classes": mode_share_classes(mode)}


def mode_share_classes(mode: str) -> list[str]:
    """The share classes ``mode`` runs in with its default config, its default first. Raises UnknownModeError."""
    default = load_mode_config(mode).share_class.value
    ok = []
    for sc in sorted(SUPPORTED_SHARE_CLASSES.get(mode, ()), key=lambda c: (c.value != default, c.value)):
        try:
            validate_config(mode, None, sc.value)
        except ConfigError:  # e.g. a hedged mode refuses the ETH share class
            continue
        ok.append(sc.value)
    return ok or [default]


def mode_requirements(mode: str, catalog: Catalog, start: str | None = None, end: str | None = None,
                      max_steps: int | None = DEFAULT_MAX_STEPS, refresh: bool = True) -> dict[str, Any]:
    """Venue accounts and datasets of ``mode`` (default config); with ``start`` and ``end`` (both or
    neither), whether the catalog covers that period per dataset and overall (``covered``).

    Raises: UnknownModeError; BacktestInputError (field ``start``/``end``) for bad or inverted dates,
    or (field ``end``) a period of more than ``max_steps`` clock steps.
    """
    config = load_mode_config(mode)
    clock = None
    if (start is None) != (end is None):
        missing = "end" if end is None else "start"
        raise BacktestInputError(f"give both start and end to check coverage ({missing} is missing)", field=missing)
    if start is not None and end is not None:
        s, e = _parse(start, "start"), _parse(end, "end")
        if e <= s:
            raise BacktestInputError(f"end {end} must be after start {start}", field="end")
        clock = Clock(s, e, config.step_seconds)
        steps = (e - s) // (config.step_seconds * 1_000_000_000) + 1
        if max_steps is not None and steps > max_steps:
            raise BacktestInputError(f"end: the period {start} .. {end} has {steps:,} steps of {config.step_seconds} s; "
                                     f"at most {max_steps:,} can be checked", field="end")
    if refresh:  # import new or changed source files first (a server imports at start-up instead)
        catalog.ensure_imported()
    rows = dataset_coverage(catalog, config, clock)
    covered = None if clock is None else all(r.covered or r.optional for r in rows)
    return {"mode": mode, "venues": venues(config), "datasets": [asdict(r) for r in rows],
            "period": None if clock is None else {"start": start, "end": end}, "covered": covered}


def _parse(value: str, field: str) -> int:
    try:
        return to_ns(value)
    except (ValueError, OverflowError) as exc:  # OverflowError: outside the ns range (years 1677..2262)
        raise BacktestInputError(f"{field}: cannot use date {value!r}: {exc}", field=field) from exc


def validate_mode_config(mode: str, overrides: dict | None = None, share_class: str | None = None):
    """The mode's config with ``overrides`` applied, validated (errors name ``config.<key>``)."""
    return validate_config(mode, overrides, share_class)


def validate_backtest(req: BacktestRequest, catalog: Catalog | None = None,
                      max_steps: int | None = DEFAULT_MAX_STEPS, refresh: bool = True) -> ValidRequest:
    """Field-by-field validation (see ``basiskit.runs.validate``); with ``catalog``, also that the data
    covers the period (``DataCoverageError``, DATA-002), after importing new or changed source files
    when ``refresh``. Writes nothing."""
    valid = validate_request(req, max_steps)
    if catalog is not None:
        served = catalog.for_policy(valid.config.data_policy)  # a repair policy has its own store
        if refresh or served is not catalog:
            served.ensure_imported()
        check_coverage(served, valid.config, valid.clock)
    return valid


# -- running ----------------------------------------------------------------------------------------
def new_run_id(mode: str) -> str:
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{mode}-{uuid.uuid4().hex[:6]}"


def preflight(out_dir: str | Path | None = None, data: str | Path | None = None) -> None:
    """Check, before any work, the folders a backtest writes: ``out_dir`` (a new folder, an empty one
    or an earlier run's results folder, in a writable place; None: ``results/`` must be writable) and
    the data dir. Creates nothing. Raises PathUnusable (RUN-012; field ``out`` or ``data_dir``)."""
    if out_dir is not None:
        check_out_dir(out_dir)
    else:
        check_writable_dir(Path("results"), "out", "results folder")
    check_data_dir(data)


def backtest(req: BacktestRequest, out_dir: str | Path | None = None, data: str | Path | None = None,
             source: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
             catalog: Catalog | None = None, *, store: RunStore | None = None, run_id: str | None = None,
             origin: str = "cli") -> RunResult:
    """Validate, run and write ``summary.json``, ``equity.csv``, ``trades.csv``, ``events.jsonl``,
    ``events/<component>_events.jsonl`` and ``events.csv`` to ``out_dir`` (default
    ``results/<run-id>/``); with ``store``, record the run there (nothing is recorded for a request
    that fails validation or the pre-flight of its folders, see :func:`preflight`)."""
    run_id = run_id or new_run_id(req.mode)
    out = Path(out_dir) if out_dir else Path("results") / run_id
    if catalog is None:
        preflight(out, data)
        catalog = open_catalog(data, source)
    else:
        check_out_dir(out)
    validate_backtest(req, catalog, max_steps=None)
    return execute_backtest(req, catalog, run_id=run_id, out_dir=out, store=store, origin=origin, progress=progress)


def open_store(data: str | Path | None = None, url: str | None = None) -> SqlRunStore:
    """The run store: ``url``, else ``$BASISKIT_DATABASE_URL``, else SQLite in the data dir (created,
    migrated). Raises StoreUnavailable (STORE-001) when the database cannot be reached,
    UnsupportedDatabase (STORE-003) for a URL that is not SQLite or PostgreSQL, PathUnusable (RUN-012)
    when the SQLite database's data dir is a file or not writable."""
    from basiskit.persistence.sql import SqlRunStore  # SQLAlchemy (~0.2 s) loads only when a store is opened

    d = data_dir(data)
    if url is None and not os.environ.get("BASISKIT_DATABASE_URL"):
        check_data_dir(d)
        d.mkdir(parents=True, exist_ok=True)
    return SqlRunStore(database_url(d, url))


def recover_interrupted(store: RunStore) -> list[str]:
    """Mark runs left ``queued``/``running`` by a process that no longer runs as ``interrupted``
    (the rule: ``basiskit.runs.owner.owner_alive``). Cheap when nothing is stale (one read)."""
    return store.mark_interrupted(owner_alive)


def submit_backtest(req: BacktestRequest, store: RunStore, runner: BackgroundRunner, catalog: Catalog,
                    max_steps: int | None = DEFAULT_MAX_STEPS) -> RunRecord:
    """Validate (data coverage included, on the catalog as imported; the run itself re-checks the
    source files), record the run ``queued`` and hand it to ``runner``. Raises QueueFull (API-006)
    when the runner's queue is full (nothing is recorded)."""
    validate_backtest(req, catalog, max_steps, refresh=False)
    runner.reserve()
    try:
        run_id = new_run_id(req.mode)
        rec = store.create_run(NewRun(run_id, req.mode, request_json(req), origin="api", status=RunStatus.QUEUED,
                                      owner=owner_id(), out_dir=str(runner.out_dir(run_id))))
    except BaseException:
        runner.release()
        raise
    runner.submit(run_id, req, reserved=True)
    return rec


# -- stored runs ------------------------------------------------------------------------------------
def list_runs(store: RunStore, status: RunStatus | None = None, mode: str | None = None, limit: int = 50,
              offset: int = 0, include_trials: bool = False) -> Page:
    """Runs newest first; runs whose process is gone are marked ``interrupted`` first. The trial runs
    of parameter sweeps (kind ``trial``; listed by :func:`get_sweep`) only with ``include_trials``."""
    recover_interrupted(store)
    return store.list_runs(status, mode, limit, offset, exclude_kinds=() if include_trials else ("trial",))


def get_run(store: RunStore, run_id: str) -> RunRecord:
    """The run; if it is still ``queued``/``running`` but its process is gone, it is marked
    ``interrupted`` first. Raises RunNotFound (RUN-004)."""
    rec = store.get_run(run_id)
    if rec is None:
        raise RunNotFound(f"run {run_id} not found")
    if rec.status in ACTIVE and not owner_alive(rec.owner) and recover_interrupted(store):
        rec = store.get_run(run_id) or rec
    return rec


def _complete_folder(rec: RunRecord) -> Path | None:
    """The finished run's results folder after checking its completion marker (ResultsIncomplete,
    RUN-011); None when no folder is recorded or it is gone (the store still holds the results)."""
    if not rec.out_dir or not Path(rec.out_dir).exists():
        return None
    check_complete(rec.out_dir)
    return Path(rec.out_dir)


def run_summary(store: RunStore, run_id: str) -> dict[str, Any]:
    """The finished run's summary. Raises RunNotFound (RUN-004); RunConflict (RUN-005) until it has
    finished; ResultsIncomplete (RUN-011) when its results folder exists without its completion marker."""
    summary = store.summary(run_id)
    rec = store.get_run(run_id)
    if rec is not None:
        _complete_folder(rec)
    return summary


METRIC_KEYS = ("share_class", "initial_equity", "final_equity", "net_deposits", "total_return", "apr", "apy", "sharpe",
               "max_drawdown", "min_health_factor", "liquidations")


def run_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The key metrics (``METRIC_KEYS``) of a run's summary; missing ones are None."""
    return {k: summary.get(k) for k in METRIC_KEYS}


def runs_metrics(store: RunStore, runs: list[RunRecord]) -> dict[str, dict[str, Any]]:
    """Key metrics of the finished ones among ``runs`` (one store query), by run id."""
    ids = [r.id for r in runs if r.status is RunStatus.FINISHED]
    return {rid: run_metrics(s) for rid, s in store.summaries(ids).items()} if ids else {}


def run_equity(store: RunStore, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
    return store.equity(run_id, limit, offset)


def _pick(n: int, points: int) -> list[int]:
    """``points`` indices spread evenly over ``range(n)``, first and last included (all when n <= points)."""
    if n <= points:
        return list(range(n))
    if points == 1:
        return [n - 1]
    return sorted({round(k * (n - 1) / (points - 1)) for k in range(points)})


def run_equity_curve(store: RunStore, run_id: str, points: int = 1000) -> dict[str, Any]:
    """A finished run's equity curve in share-class units, at most ``points`` evenly spaced clock steps
    (first and last included): ``{"run_id", "share_class", "initial_equity", "steps", "step", "timestamp"
    (clock ns), "equity", "net_deposits"}`` with ``steps`` the run's total step count.

    Raises: RunNotFound (RUN-004); RunConflict (RUN-005) when the run has not finished.
    """
    summary = store.summary(run_id)  # RUN-004 / RUN-005
    first = store.equity(run_id, limit=1, offset=0)
    wanted = _pick(first.total, points)
    rows: list[EquityPoint] = []
    page_size = 50_000
    want = iter(wanted)
    nxt = next(want, None)
    offset = 0
    while nxt is not None:
        offset = nxt - nxt % page_size
        page = store.equity(run_id, limit=page_size, offset=offset)
        while nxt is not None and nxt < offset + len(page.items):
            rows.append(page.items[nxt - offset])
            nxt = next(want, None)
        if not page.items:
            break
    return {"run_id": run_id, "share_class": summary.get("share_class"), "initial_equity": summary.get("initial_equity"),
            "steps": first.total, "step": [p.step for p in rows], "timestamp": [p.timestamp for p in rows],
            "equity": [p.equity for p in rows], "net_deposits": [p.net_deposits for p in rows]}


def run_report(store: RunStore, run_id: str, catalog: Catalog | None = None) -> Path:
    """The path of a finished run's ``report.html`` (in its results folder); when the folder lacks
    one, it is written first by ``basiskit.reports.write_report`` (benchmarks from ``catalog``).

    Raises: RunNotFound (RUN-004) for an unknown run or one without a results folder; RunConflict
    (RUN-005) when the run has not finished; ResultsIncomplete (RUN-011) when its folder has no
    completion marker; RunFilesMissing (RUN-008) when its results folder or files are gone.
    """
    rec = get_run(store, run_id)
    if rec.status is not RunStatus.FINISHED:
        raise RunConflict(f"run {run_id} is {rec.status.value}: it has no report", code="RUN-005")
    if not rec.out_dir:
        raise RunNotFound(f"run {run_id} has no results folder recorded")
    check_complete(rec.out_dir)
    path = Path(rec.out_dir) / "report.html"
    if not path.is_file():
        from basiskit.reports import write_report  # plotly loads only when a report must be written
        path = write_report(Path(rec.out_dir), catalog=catalog)
    return path


def run_trades(store: RunStore, run_id: str, limit: int = 1000, offset: int = 0) -> Page:
    return store.trades(run_id, limit, offset)


def run_events(store: RunStore, run_id: str, component: str | None = None, kind: str | None = None,
               limit: int = 1000, offset: int = 0) -> Page:
    return store.events(run_id, component, kind, limit, offset)


def cancel_run(store: RunStore, run_id: str, runner: BackgroundRunner | None = None) -> RunRecord:
    """Cancel an active run: a queued one ends ``cancelled`` at once (and leaves ``runner``'s queue);
    a running one is flagged and stops at its next progress tick (its own process, CLI or API,
    records it ``cancelled``). An ended run is returned as it is. Raises RunNotFound."""
    get_run(store, run_id)  # RUN-004; a run whose process is gone becomes interrupted here
    rec = store.request_cancel(run_id)
    if runner is not None and rec.status is RunStatus.CANCELLED:
        runner.cancel(run_id)
    return rec


def delete_run(store: RunStore, run_id: str, remove_files: bool = True,
               runner: BackgroundRunner | None = None) -> RunRecord | None:
    """An ended run: delete its rows and (``remove_files``) its output folder if it is named after the
    run (never a user's ``--out``); returns None. An active (queued/running) run is cancelled instead
    (:func:`cancel_run`); returns its record. Raises RunNotFound."""
    rec = get_run(store, run_id)
    if rec.status in ACTIVE:
        return cancel_run(store, run_id, runner)
    try:
        store.delete_run(run_id)
    except RunConflict:  # it started meanwhile
        return cancel_run(store, run_id, runner)
    if remove_files and rec.out_dir:
        out = Path(rec.out_dir)
        if out.name == run_id:  # only folders named after the run (never a user's --out)
            for folder in (out, staging_dir(out, run_id)):
                if folder.is_dir():
                    shutil.rmtree(folder, ignore_errors=True)
    return None


# -- parameter sweeps ------------------------------------------------------------------------------
def sweep_spec(mode: str, start: str, end: str, capital: float, params: list[str], *, objective: str = "apy",
               direction: str = "max", sampler: str = "tpe", trials: int | None = None, seed: int = 0,
               batch: int | None = None, share_class: str | None = None, overrides: dict | None = None,
               walk_forward: str | None = None):
    """The validated sweep (``basiskit.sweeps.spec``): ``params`` are ``--param`` texts, ``overrides`` the
    fixed ``--set`` config of every trial, ``walk_forward`` ``TRAIN:TEST`` days. Reads no data.
    Raises SweepInputError (SWEEP-001, the option in ``field``), ConfigError, BacktestInputError."""
    from basiskit.sweeps import SweepSpec, parse_param, parse_walk_forward, validate_spec
    from basiskit.sweeps.spec import DEFAULT_BATCH

    spec = SweepSpec(mode, start, end, float(capital), tuple(parse_param(p) for p in params), objective=objective,
                     direction=direction, sampler=sampler, seed=int(seed), trials=trials,
                     batch=DEFAULT_BATCH if batch is None else int(batch), share_class=share_class,
                     overrides=dict(overrides or {}), walk_forward=parse_walk_forward(walk_forward))
    return validate_spec(spec)


def sweep(spec, catalog: Catalog, store: SqlRunStore, *, workers: int | None = None, ray: str | None = None,
          out_dir: str | Path | None = None, progress: Callable | None = None, png: bool = True):
    """Run or resume the sweep ``spec`` (:func:`sweep_spec`): its data imported and its period's coverage
    checked first; trials on a local process pool (``workers``, default one per core; 1: in this process)
    or on Ray (``ray``: a cluster address or ``"local"``); results recorded in ``store`` and written to
    ``out_dir`` (default ``results/sweeps/<sweep id>``). Returns ``basiskit.sweeps.SweepResult``.
    Raises DataCoverageError (DATA-002), SweepConflict (SWEEP-004), ExecutorUnavailable (SWEEP-002),
    PngExportError (RUN-009), StoreUnavailable (STORE-001)."""
    from basiskit.sweeps import run_sweep
    from basiskit.sweeps.executors import make_executor

    validate_backtest(spec.request({}), catalog, max_steps=None)  # data imported, the period covered
    executor = make_executor(workers, ray)
    try:
        return run_sweep(spec, catalog, store, executor, Path(out_dir) if out_dir else None, progress, png=png)
    finally:
        executor.close()


def list_sweeps(store: SqlRunStore) -> list[dict[str, Any]]:
    """Every sweep, newest first, with its status and progress (``basiskit.sweeps.list_sweeps``)."""
    from basiskit.sweeps import list_sweeps as _list

    return _list(store)


def get_sweep(store: SqlRunStore, sweep_id: str) -> dict[str, Any]:
    """One sweep with its trials, best trial, importance and progress. Raises SweepNotFound (SWEEP-003)."""
    from basiskit.sweeps import get_sweep as _get

    return _get(store, sweep_id)


# -- reports ----------------------------------------------------------------------------------------
def run_dir(ref: str | Path, store: RunStore | None = None) -> Path:
    """The complete results folder of ``ref``: a folder path, or a run id looked up in ``store``.
    Raises RunNotFound (RUN-004) when it is neither (the message says what was tried);
    ResultsIncomplete (RUN-011) when the folder lacks its completion marker; RunConflict (RUN-005)
    when the run has not finished."""
    path = Path(ref)
    if path.is_dir():
        check_complete(path)
        return path
    if store is not None:
        rec = store.get_run(str(ref))
        if rec is not None and rec.status in ACTIVE:
            rec = get_run(store, str(ref))  # interrupted if its process is gone
        if rec is not None and rec.status is not RunStatus.FINISHED:
            raise RunConflict(f"run {ref} is {rec.status.value}: its results folder is not complete", code="RUN-005")
        if rec is not None and rec.out_dir:
            check_complete(rec.out_dir)
            return Path(rec.out_dir)
    raise RunNotFound(f"{ref}: neither a results folder nor a recorded run id (list runs with `basiskit runs`)")


def report(out_dir: Path, catalog: Catalog, png: bool = False, png_dir: Path | None = None) -> dict[str, Any]:
    """(Re)write ``report.html`` of the run in ``out_dir`` and, with ``png``, its charts as PNG files
    (``png_dir``, default ``out_dir/png``). Returns ``{"html": path, "png": [paths]}``.
    Raises ResultsIncomplete (RUN-011), RunFilesMissing (RUN-008), PngExportError (RUN-009)."""
    from basiskit.reports import write_pngs, write_report  # plotly loads only when a report is asked for

    check_complete(out_dir)
    html = write_report(out_dir, catalog=catalog)
    pngs = write_pngs(out_dir, catalog=catalog, dest=png_dir) if png else []
    return {"html": html, "png": pngs}
