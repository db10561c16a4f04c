"""Trial parameters: trial k's parameters are a function of the sweep (spec and seed) and, for TPE, of
the results of the trials before its round -- never of the executor, the number of workers, the order in
which results arrive, or whether the sweep was resumed.

* ``grid``: the Cartesian product of the parameters' values, the first parameter varying slowest;
  trial k is the k-th point.
* ``random``: trial k is drawn by Optuna's ``RandomSampler`` seeded with ``hash(seed, k)``.
* ``tpe``: trials are asked in rounds of ``spec.batch`` (a constant of the sweep, default 8, not the
  worker count): round r's trials (k = r*batch .. r*batch+batch-1) are asked from a ``TPESampler``
  seeded with ``hash(seed, r)`` that has been told the results of every trial before the round (k <
  r*batch, in trial order) and nothing else. Round r+1 is asked only when round r has finished.

Each round is asked from a fresh in-memory Optuna study (ask/tell), so the sampler's state never
depends on what the process did before. A trial's parameters, once stored in the study, are the
truth: a resumed sweep re-runs an unfinished trial with its stored parameters.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any, Sequence

from basiskit.sweeps.spec import SweepSpec


def derive_seed(seed: int, *parts: object) -> int:
    """A 32-bit seed from ``seed`` and ``parts`` (stable across processes and Python versions)."""
    text = ":".join(str(x) for x in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def distributions(spec: SweepSpec) -> dict[str, Any]:
    return {p.key: p.distribution() for p in spec.params}


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def grid_params(spec: SweepSpec, indexes: Sequence[int]) -> dict[int, dict[str, Any]]:
    points = list(itertools.product(*(p.grid_values() for p in spec.params)))
    return {k: dict(zip((p.key for p in spec.params), points[k])) for k in indexes}


def random_params(spec: SweepSpec, indexes: Sequence[int]) -> dict[int, dict[str, Any]]:
    import optuna

    _quiet()
    dists = distributions(spec)
    out = {}
    for k in indexes:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=derive_seed(spec.seed, "random", k)))
        trial = study.ask(dists)
        out[k] = {p.key: p.normalise(trial.params[p.key]) for p in spec.params}
    return out


def tpe_round(spec: SweepSpec, round_no: int, history: Sequence[tuple[dict[str, Any], float | None]]) -> list[dict[str, Any]]:
    """The parameters of round ``round_no`` (``spec.batch`` trials), given ``history``: the (params,
    objective value or None) of every trial before the round, in trial order (None: the trial gave no
    value, told as pruned)."""
    import optuna

    _quiet()
    dists = distributions(spec)
    sampler = optuna.samplers.TPESampler(seed=derive_seed(spec.seed, "tpe", round_no))
    study = optuna.create_study(sampler=sampler, direction="maximize" if spec.direction == "max" else "minimize")
    for params, value in history:
        state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.PRUNED
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value, state=state))
    out = []
    for _ in range(spec.batch):
        trial = study.ask(dists)
        out.append({p.key: p.normalise(trial.params[p.key]) for p in spec.params})
    return out
