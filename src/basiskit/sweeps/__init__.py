"""Parameter sweeps and optimisation over the pure ``run_backtest`` (issue 16).

Layer: between ``basiskit.service`` (which the CLI and the API call) and ``basiskit.runs``. Optuna and
Ray are imported only inside the functions that use them (``import basiskit.cli.main`` loads neither).

* ``spec``      what a sweep is (``--param`` parsing and validation through the config layer, the sweep id)
* ``sampling``  the reproducibility rule: trial k's parameters never depend on the executor or workers
* ``worker``    the one trial function every executor runs (reads the catalog's Parquet files itself)
* ``executors`` serial, local process pool, Ray (``--ray ADDRESS`` or ``--ray local``)
* ``study``     the Optuna study in the run store's database (resume after a kill)
* ``driver``    asks, dispatches, records (a run per trial), resumes; walk-forward windows
* ``outputs``   trials table, best trial, importance, heatmap / parallel coordinates, files

Reproducibility rule (also in the README): trial k's parameters are a function of the sweep only --
grid: the k-th point of the product; random: a sampler seeded with hash(seed, k); TPE: asked in rounds
of ``batch`` trials (a constant of the sweep, default 8, never the worker count) from a sampler seeded
with hash(seed, round) that knows exactly the results of the trials before the round. A trial's result
is a pure function of its parameters (``run_backtest``), so serial, pool and Ray runs give the same
table. Once stored, a trial's parameters are kept: a resumed sweep re-runs an unfinished trial with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from basiskit.errors.exceptions import SweepNotFound
from basiskit.sweeps.spec import SweepSpec, parse_param, parse_walk_forward, validate_spec

__all__ = ["SweepSpec", "parse_param", "parse_walk_forward", "validate_spec", "run_sweep", "SweepResult",
           "sweep_info", "list_sweeps", "get_sweep"]


@dataclass
class SweepResult:
    """``info``: as :func:`sweep_info`; ``rows``: the trials; ``ran``: trial indexes run by this call
    (walk-forward: over every window); ``skipped``: trials found finished; ``paths``: files written;
    ``peak_rss_mb``: worker pid -> peak RSS (MiB); ``executor``/``workers``/``start_seconds``: where it ran."""

    info: dict[str, Any]
    rows: list[dict[str, Any]]
    ran: list[int]
    skipped: int
    paths: dict[str, Path]
    peak_rss_mb: dict[int, float]
    executor: str
    workers: int
    start_seconds: float


def run_sweep(spec: SweepSpec, catalog, store, executor, out_dir: Path | None = None,
              progress: Callable[..., None] | None = None, png: bool = True, write: bool = True) -> SweepResult:
    """Run (or resume) ``spec`` (validated: :func:`validate_spec`) on ``executor`` with ``catalog``
    (imported), recording in ``store`` (a migrated SqlRunStore); write ``out_dir`` (default
    ``results/sweeps/<id>``) when ``write``. See ``basiskit.sweeps.driver`` for resume and errors."""
    from basiskit.sweeps.driver import Driver, windows

    sid = spec.sweep_id
    driver = Driver(spec, catalog, store, executor, progress)
    ran: list[int] = []
    skipped = 0
    rss: dict[int, float] = {}
    try:
        if spec.walk_forward is None:
            study, run = driver.optimise(sid, spec.start, spec.end)
            ran, skipped, rss = run.ran, run.skipped, run.peak_rss_mb
        else:
            wins = windows(spec.start, spec.end, *spec.walk_forward)
            parent = driver._study(sid, {"kind": "walk_forward", "windows": len(wins)})
            series = []
            for w in wins:
                name = f"{sid}-w{w.index:02d}"
                study, run = driver.optimise(name, w.train_start, w.train_end,
                                             {"parent": sid, "window": w.__dict__}, window=f"window {w.index + 1}/{len(wins)}")
                ran += run.ran
                skipped += run.skipped
                for pid, v in run.peak_rss_mb.items():
                    rss[pid] = max(rss.get(pid, 0.0), v)
                series.append(_score_window(driver, study, w, name, rss))
            parent.set_user_attr("walk_forward", _oos_summary(spec, series))
            parent.set_user_attr("status", "finished" if all(s["test_value"] is not None or s["test_run_id"]
                                                             for s in series) else "incomplete")
        info = sweep_info(store, sid, storage=driver.storage)
        rows = info.pop("trials")
        paths = {}
        if write:
            from basiskit.sweeps.outputs import write_outputs

            paths = write_outputs(Path(out_dir) if out_dir else Path("results") / "sweeps" / sid, info, rows, png=png)
        return SweepResult(info, rows, ran, skipped, paths, rss, executor.name, executor.workers,
                           getattr(executor, "start_seconds", 0.0))
    finally:
        driver.close()


def _score_window(driver, study, w, name: str, rss: dict[int, float]) -> dict[str, Any]:  # noqa: ANN001
    """Score the best parameters of window ``w``'s training study on its test period (once: the result is
    kept in the study's ``oos`` attribute, so a resumed sweep does not run it again)."""
    from basiskit.sweeps.driver import TRIAL_METRICS, _finite
    from basiskit.sweeps.outputs import best_row, trial_rows
    from basiskit.sweeps.worker import TrialTask

    spec = driver.spec
    keys = [p.key for p in spec.params]
    best = best_row(trial_rows(study, keys), spec.direction)
    base = {"window": w.index, "train_start": w.train_start, "train_end": w.train_end, "test_start": w.test_start,
            "test_end": w.test_end, "params": None if best is None else best["params"],
            "train_value": None if best is None else best["value"], "test_value": None, "test_total_return": None,
            "test_run_id": None, "test_metrics": {}, "test_error": None}
    if best is None:
        return base
    kept = study.user_attrs.get("oos")
    if kept and kept.get("params") == best["params"]:
        return {**base, **kept}
    run_id = f"{name}-oos"
    task = TrialTask(-1, run_id, best["params"], spec.request(best["params"], w.test_start, w.test_end), driver.catalog)
    res = next(iter(driver.executor.run([task])))
    rss[res.pid] = max(rss.get(res.pid, 0.0), res.peak_rss_mb)
    old = driver.store.get_run(run_id)
    if old is not None:
        driver.store.delete_run(run_id)
    from basiskit.persistence.records import NewRun, RunStatus
    from basiskit.runs.execute import request_json

    driver.store.create_run(NewRun(run_id, spec.mode, {**request_json(task.request), "sweep": {"id": name, "params": best["params"]}},
                                   origin="sweep", kind="trial", status=RunStatus.RUNNING, owner=driver.owner))
    if res.error is not None:
        driver.store.fail_run(run_id, res.error)
        oos = {"params": best["params"], "test_run_id": run_id, "test_error": res.error}
    else:
        driver.store.finish_run(run_id, res.summary, res.config, res.results, res.seconds)
        oos = {"params": best["params"], "test_run_id": run_id, "test_value": _finite(res.summary.get(spec.objective)),
               "test_total_return": _finite(res.summary.get("total_return")),
               "test_metrics": {k: _finite(res.summary.get(k)) for k in TRIAL_METRICS}}
    study.set_user_attr("oos", oos)
    return {**base, **oos}


def _oos_summary(spec: SweepSpec, series: list[dict[str, Any]]) -> dict[str, Any]:
    """The out-of-sample series and its chained result: total return = prod(1 + r_window) - 1 over the
    test windows; APY from it over the test days (null below 30 days, like a run's)."""
    rets = [s["test_total_return"] for s in series if s["test_total_return"] is not None]
    total = math.prod(1 + r for r in rets) - 1 if rets else None
    days = spec.walk_forward[1] * len(rets)
    apy = (1 + total) ** (365.0 / days) - 1 if total is not None and days >= 30 and total > -1 else None
    vals = [s["test_value"] for s in series if s["test_value"] is not None]
    return {"train_days": spec.walk_forward[0], "test_days": spec.walk_forward[1], "windows": len(series),
            "series": series, "oos_total_return": total, "oos_apy": apy, "oos_days": days,
            f"mean_test_{spec.objective}": (sum(vals) / len(vals)) if vals else None}


# -- reading sweeps ---------------------------------------------------------------------------------
def _status(attrs: dict[str, Any]) -> str:
    from basiskit.runs.owner import owner_alive

    status = attrs.get("status", "running")
    if status == "running" and not owner_alive(attrs.get("owner")):
        return "interrupted"
    return status


def _info(frozen_or_study, trials, with_trials: bool) -> dict[str, Any]:  # noqa: ANN001
    import optuna

    from basiskit.sweeps.outputs import best_row, trial_rows

    attrs = frozen_or_study.user_attrs
    spec = attrs.get("spec") or {}
    keys = [p.split("=", 1)[0] for p in spec.get("params", [])]
    TS = optuna.trial.TrialState
    from basiskit.sweeps.study import latest_by_index

    latest = latest_by_index(trials)
    total = int(spec.get("trials") or 0)
    done = sum(1 for k, t in latest.items() if t.state in (TS.COMPLETE, TS.PRUNED) and k < total)
    out = {"id": frozen_or_study.study_name, "kind": attrs.get("kind", "sweep"), "status": _status(attrs),
           "spec": spec, "params": keys, "created_at": attrs.get("created_at"), "updated_at": attrs.get("updated_at"),
           "executor": attrs.get("executor"), "workers": attrs.get("workers"),
           "progress": {"done": done, "total": total,
                        "running": sum(1 for t in latest.values() if t.state == TS.RUNNING),
                        "failed": sum(1 for t in latest.values() if t.state == TS.FAIL),
                        "fraction": done / total if total else None}}
    if with_trials:
        out["trials"] = trial_rows(_StudyView(frozen_or_study.study_name, trials), keys)
        out["best"] = best_row(out["trials"], spec.get("direction", "max"))
    return out


class _StudyView:
    """What ``trial_rows`` reads of a study: its trials."""

    def __init__(self, name: str, trials) -> None:  # noqa: ANN001
        self.study_name, self._trials = name, trials

    def get_trials(self, deepcopy: bool = False):  # noqa: ANN201
        return self._trials


def sweep_info(store, sweep_id: str, storage=None) -> dict[str, Any]:  # noqa: ANN001
    """One sweep: ``id``, ``kind`` (sweep / walk_forward), ``status`` (running / finished / incomplete /
    interrupted), ``spec``, ``params``, ``progress`` {done, total, running, failed, fraction}, ``trials``
    (see ``outputs.trial_rows``), ``best``, ``importance``, and for a walk-forward sweep its
    ``walk_forward`` results and ``windows`` (each window's info without trials). Raises SweepNotFound."""
    import optuna

    from basiskit.sweeps.outputs import importance
    from basiskit.sweeps.study import close_storage, open_storage

    own = storage is None
    storage = storage or open_storage(store)
    try:
        try:
            study = optuna.load_study(study_name=sweep_id, storage=storage)
        except KeyError:
            raise SweepNotFound(f"sweep {sweep_id} not found (list sweeps: basiskit sweeps, GET /api/v1/sweeps)") from None
        trials = study.get_trials(deepcopy=False)
        info = _info(study, trials, with_trials=True)
        info["importance"] = importance(study) if trials else {}
        if info["kind"] == "walk_forward":
            info["walk_forward"] = study.user_attrs.get("walk_forward")
            subs = [s for s in storage.get_all_studies() if s.user_attrs.get("parent") == sweep_id]
            info["windows"] = [_info(s, storage.get_all_trials(s._study_id, deepcopy=False), False)
                               for s in sorted(subs, key=lambda s: s.study_name)]
            done = sum(w["progress"]["done"] for w in info["windows"])
            total = int(info["spec"].get("trials") or 0) * int(study.user_attrs.get("windows") or 0)
            info["progress"] = {"done": done, "total": total, "running": 0,
                                "failed": sum(w["progress"]["failed"] for w in info["windows"]),
                                "fraction": done / total if total else None}
        return info
    finally:
        if own:
            close_storage(storage)


def list_sweeps(store) -> list[dict[str, Any]]:  # noqa: ANN001
    """Every sweep in ``store``'s database, newest first (walk-forward windows are inside their sweep):
    as :func:`sweep_info` without trials, importance and windows."""
    from basiskit.sweeps.study import close_storage, open_storage

    storage = open_storage(store)
    try:
        out = []
        studies = [s for s in storage.get_all_studies() if s.study_name.startswith("sw-") and "spec" in s.user_attrs]
        for s in studies:
            if s.user_attrs.get("parent"):
                continue
            info = _info(s, storage.get_all_trials(s._study_id, deepcopy=False), False)
            if info["kind"] == "walk_forward":
                subs = [x for x in studies if x.user_attrs.get("parent") == s.study_name]
                done = sum(_info(x, storage.get_all_trials(x._study_id, deepcopy=False), False)["progress"]["done"]
                           for x in subs)
                total = int(info["spec"].get("trials") or 0) * int(s.user_attrs.get("windows") or 0)
                info["progress"] = {**info["progress"], "done": done, "total": total,
                                    "fraction": done / total if total else None}
            out.append(info)
        out.sort(key=lambda i: (i.get("created_at") or "", i["id"]), reverse=True)
        return out
    finally:
        close_storage(storage)


def get_sweep(store, sweep_id: str) -> dict[str, Any]:  # noqa: ANN001
    return sweep_info(store, sweep_id)
