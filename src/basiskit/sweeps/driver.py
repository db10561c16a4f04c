"""The sweep driver: generates the trials (``basiskit.sweeps.sampling``), hands them to an executor,
records every result in the run store and the study (``basiskit.sweeps.study``), and resumes.

Resume: the study is found again by its name (the sweep id, ``SweepSpec.sweep_id``). Trials left
RUNNING by a process that is gone (killed) are marked FAIL; every index without a COMPLETE or PRUNED
trial is run (again) with its stored parameters, or the parameters the sampling rule gives when it has
none; COMPLETE/PRUNED indexes are never run again. The same sweep run by another live process is
refused (SweepConflict, SWEEP-004).

A trial's result is recorded as a run (kind ``trial``, origin ``sweep``, id ``<sweep id>-<index:04d>``):
its summary, resolved config, orders, trades and transfers, its equity curve once per clock day (no
event log, no results folder -- a sweep of thousands of trials stays small; rerun one with ``basiskit
backtest`` and the trial's parameters for its full files). A trial whose objective is undefined (e.g. APY of a run shorter
than 30 days) is PRUNED with the reason; one whose backtest failed is FAIL with the coded error.

Raises: SweepInputError (SWEEP-001), SweepConflict (SWEEP-004), ExecutorUnavailable (SWEEP-002),
StoreUnavailable (STORE-001); a trial's own failure never stops the sweep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

from basiskit.errors.exceptions import SweepConflict, SweepInputError
from basiskit.persistence.records import NewRun, RunStatus, interrupted_error
from basiskit.runs.execute import request_json
from basiskit.runs.owner import owner_alive, owner_id
from basiskit.sweeps import sampling
from basiskit.sweeps.spec import SweepSpec
from basiskit.sweeps.study import close_storage, latest_by_index, now_iso, open_storage
from basiskit.sweeps.worker import TrialResult, TrialTask

TRIAL_METRICS = ("total_return", "apr", "apy", "sharpe", "sortino", "calmar", "max_drawdown", "volatility",
                 "final_equity", "min_health_factor", "max_ltv", "liquidations", "trades", "costs_bps_per_year")


@dataclass
class Progress:
    """``done`` trials of ``total`` (COMPLETE or PRUNED), ``failed``, ``ran``: run by this call."""

    done: int = 0
    total: int = 0
    failed: int = 0
    ran: int = 0
    window: str = ""


@dataclass
class SweepRun:
    """What one optimisation (a sweep, or one walk-forward window) did."""

    sweep_id: str
    ran: list[int] = field(default_factory=list)       # indexes run by this call, in the order they finished
    skipped: int = 0                                     # indexes already COMPLETE/PRUNED
    peak_rss_mb: dict[int, float] = field(default_factory=dict)  # worker pid -> peak RSS (MiB)
    seconds: list[float] = field(default_factory=list)


def trial_run_id(sweep_id: str, index: int) -> str:
    return f"{sweep_id}-{index:04d}"


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


class Driver:
    """Runs a sweep on ``executor`` against ``store`` (a migrated SqlRunStore). ``progress(Progress)`` is
    called after each recorded trial; ``stop()`` (optional) is polled between results."""

    def __init__(self, spec: SweepSpec, catalog, store, executor, progress: Callable[[Progress], None] | None = None,
                 origin: str = "cli") -> None:
        self.spec, self.catalog, self.store, self.executor = spec, catalog, store, executor
        self.progress = progress
        self.origin = origin
        self.owner = owner_id()
        self.storage = open_storage(store)

    def close(self) -> None:
        close_storage(self.storage)

    # -- one optimisation ------------------------------------------------------------------------
    def _study(self, name: str, extra: dict[str, Any]):  # noqa: ANN202
        import optuna

        study = optuna.create_study(storage=self.storage, study_name=name, load_if_exists=True,
                                    direction="maximize" if self.spec.direction == "max" else "minimize")
        owner = study.user_attrs.get("owner")
        if owner and owner != self.owner and study.user_attrs.get("status") == "running" and owner_alive(owner):
            raise SweepConflict(f"sweep {name} is running in another process ({owner}); wait for it or stop it")
        attrs = {"spec": self.spec.as_dict(), "owner": self.owner, "status": "running", "updated_at": now_iso(),
                 "executor": self.executor.name, "workers": self.executor.workers, **extra}
        if "created_at" not in study.user_attrs:
            attrs["created_at"] = now_iso()
        for k, v in attrs.items():
            study.set_user_attr(k, v)
        return study

    def optimise(self, name: str, start: str, end: str, extra: dict[str, Any] | None = None,
                 window: str = "") -> tuple[Any, SweepRun]:
        """Run the missing trials of study ``name`` over ``start``..``end``; returns (study, what ran)."""
        import optuna

        TS = optuna.trial.TrialState
        spec = self.spec
        study = self._study(name, extra or {})
        run = SweepRun(name)
        trials = study.get_trials(deepcopy=False)
        for t in trials:  # left RUNNING by a dead process (this one holds the study now)
            if t.state == TS.RUNNING:
                self.storage.set_trial_user_attr(t._trial_id, "error", interrupted_error())
                self.storage.set_trial_state_values(t._trial_id, TS.FAIL)
        latest = latest_by_index(study.get_trials(deepcopy=False))
        finished = {k for k, t in latest.items() if t.state in (TS.COMPLETE, TS.PRUNED)}
        total = spec.n_trials
        run.skipped = len([k for k in finished if k < total])
        prog = Progress(done=run.skipped, total=total, failed=0, window=window)
        if self.progress:
            self.progress(prog)
        size = spec.batch if spec.sampler == "tpe" else max(total, 1)
        dists = sampling.distributions(spec)
        for r, first in enumerate(range(0, total, size)):
            idxs = list(range(first, min(first + size, total)))
            todo = [k for k in idxs if k not in finished]
            if not todo:
                continue
            params = {k: dict(latest[k].params) for k in todo if k in latest}
            missing = [k for k in todo if k not in params]
            if missing:
                params.update(self._generate(r, first, missing, latest))
            tasks = []
            for k in todo:
                run_id = trial_run_id(name, k)
                tmpl = optuna.trial.create_trial(params=params[k], distributions=dists, state=TS.RUNNING,
                                                 user_attrs={"index": k, "run_id": run_id, "owner": self.owner})
                study.add_trial(tmpl)
                tasks.append(TrialTask(k, run_id, params[k], spec.request(params[k], start, end), self.catalog))
            ids = {t.user_attrs["index"]: t._trial_id for t in study.get_trials(deepcopy=False, states=(TS.RUNNING,))}
            by_index = {t.index: t for t in tasks}
            for res in self.executor.run(tasks):
                self._record(res, ids[res.index], by_index[res.index])
                run.ran.append(res.index)
                run.seconds.append(res.seconds)
                run.peak_rss_mb[res.pid] = max(run.peak_rss_mb.get(res.pid, 0.0), res.peak_rss_mb)
                prog.ran += 1
                if res.error is None:
                    prog.done += 1
                else:
                    prog.failed += 1
                if self.progress:
                    self.progress(prog)
            # a TPE round is asked only once the previous rounds have finished (see sampling)
        latest = latest_by_index(study.get_trials(deepcopy=False))
        complete = all(k in latest and latest[k].state in (TS.COMPLETE, TS.PRUNED) for k in range(total))
        study.set_user_attr("status", "finished" if complete else "incomplete")
        study.set_user_attr("updated_at", now_iso())
        return study, run

    def _generate(self, round_no: int, first: int, missing: list[int], latest: dict) -> dict[int, dict[str, Any]]:
        import optuna

        spec = self.spec
        if spec.sampler == "grid":
            return sampling.grid_params(spec, missing)
        if spec.sampler == "random":
            return sampling.random_params(spec, missing)
        history = []
        for k in range(first):
            t = latest.get(k)
            if t is not None and t.state == optuna.trial.TrialState.COMPLETE:
                history.append((dict(t.params), t.value))
            elif t is not None and t.state == optuna.trial.TrialState.PRUNED:
                history.append((dict(t.params), None))
        asked = sampling.tpe_round(spec, round_no, history)
        return {k: asked[k - first] for k in missing}

    def _record(self, res: TrialResult, trial_id: int, task: TrialTask) -> None:
        """The trial's run row (replacing an earlier attempt's), then its state in the study."""
        import optuna

        TS = optuna.trial.TrialState
        spec = self.spec
        old = self.store.get_run(res.run_id)
        if old is not None:
            if old.status in (RunStatus.RUNNING, RunStatus.QUEUED):
                self.store.fail_run(res.run_id, interrupted_error(), RunStatus.INTERRUPTED)
            self.store.delete_run(res.run_id)
        body = {**request_json(task.request), "sweep": {"id": task.run_id.rsplit("-", 1)[0], "params": res.params}}
        self.store.create_run(NewRun(res.run_id, spec.mode, body, origin="sweep", kind="trial",
                                     status=RunStatus.RUNNING, owner=self.owner))
        attrs: dict[str, Any] = {"seconds": res.seconds, "pid": res.pid, "peak_rss_mb": res.peak_rss_mb}
        if res.error is not None:
            self.store.fail_run(res.run_id, res.error, RunStatus.FAILED)
            attrs["error"] = res.error
            state, values = TS.FAIL, None
        else:
            self.store.finish_run(res.run_id, res.summary, res.config, res.results, res.seconds)
            attrs["metrics"] = {k: _finite(res.summary.get(k)) for k in TRIAL_METRICS}
            value = _finite(res.summary.get(spec.objective))
            if value is None:
                reason = (res.summary.get("null_reasons") or {}).get(spec.objective) or "not a finite number"
                attrs["note"] = f"{spec.objective} is undefined: {reason}"
                state, values = TS.PRUNED, None
            else:
                state, values = TS.COMPLETE, [value]
        for k, v in attrs.items():
            self.storage.set_trial_user_attr(trial_id, k, v)
        self.storage.set_trial_state_values(trial_id, state, values)


# -- walk-forward -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    index: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str


def windows(start: str, end: str, train_days: int, test_days: int) -> list[Window]:
    """Rolling windows over ``start``..``end`` (dates): train ``train_days``, then test the next ``test_days``
    (the test starts where the train ends); the next window starts ``test_days`` later. Raises
    SweepInputError when not even one fits."""
    s, e = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    out = []
    t = s
    while t + timedelta(days=train_days + test_days) <= e:
        a, b = t + timedelta(days=train_days), t + timedelta(days=train_days + test_days)
        out.append(Window(len(out), t.isoformat(), a.isoformat(), a.isoformat(), b.isoformat()))
        t += timedelta(days=test_days)
    if not out:
        raise SweepInputError(f"--walk-forward {train_days}:{test_days}: the period {start} .. {end} "
                              f"({(e - s).days} days) holds no train+test window of {train_days + test_days} days",
                              field="walk_forward")
    return out
