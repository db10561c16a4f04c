"""Walk-forward training of the ML directional modes: one model per calendar month (UTC), each trained on
the ``train_days`` before that month's cut-off, with a purge and an embargo.

For the fold of month M (test hours ``[M, M + 1 month)``):

* cut-off ``c = M - embargo_hours``: no training sample's label may read a price after c;
* training samples: decision times t in ``[c - train_days, c - purge_hours]`` (purge >= horizon, so the
  label ``open[t + horizon] / open[t]`` is known by c) whose features and label are all finite;
* predictions: P(up) for every test hour whose feature row is complete (others: no prediction).

A fold depends only on its month and the data, never on when the run starts: a run started earlier
gives the same predictions for the months both cover (``tests/acceptance/test_ml_directional.py``).
The shuffled-label baseline is the same model trained on the fold's labels permuted by a generator
seeded with (seed, month): what the features are worth when they carry no information.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from basiskit.errors.exceptions import InvalidInput
from basiskit.strategies.implementations.ml_directional.config import MlDirectionalConfig
from basiskit.strategies.implementations.ml_directional.features import (FEATURES, HOUR, WARMUP_HOURS,
                                                                         feature_table, labels)
from basiskit.strategies.implementations.ml_directional.model_store import ModelMeta, TrainedModel, lightgbm


class WalkForwardError(InvalidInput, ValueError):
    """STRAT-021: a fold cannot be trained (too few training rows in its window); names the fold."""

    code = "STRAT-021"


@dataclass(frozen=True)
class Fold:
    """One calendar month: ``test_start``/``test_end`` [ ), ``cutoff`` and the training sample range."""

    name: str
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    cutoff: pd.Timestamp
    train_first: pd.Timestamp
    train_last: pd.Timestamp


@dataclass
class FoldResult:
    fold: Fold
    model: TrainedModel
    shuffled: TrainedModel
    predictions: pd.Series           # P(up) by decision time, test hours with complete features
    shuffled_predictions: pd.Series
    n_train: int


def folds(start: pd.Timestamp, end: pd.Timestamp, cfg: MlDirectionalConfig) -> list[Fold]:
    """The calendar months that overlap [start, end] (UTC)."""
    out = []
    ts = pd.Timestamp(start).tz_convert("UTC")
    m = pd.Timestamp(year=ts.year, month=ts.month, day=1, tz="UTC")
    while m <= end:
        nxt = (m + pd.offsets.MonthBegin(1))
        cut = m - cfg.embargo_hours * HOUR
        out.append(Fold(f"{m:%Y-%m}", m, nxt, cut, cut - pd.Timedelta(days=cfg.train_days), cut - cfg.purge_hours * HOUR))
        m = nxt
    return out


def direction(p: float, cfg: MlDirectionalConfig) -> int:
    """+1 (long), -1 (short) or 0 for a forecast P(up) = ``p``: the strategy's and the report's one rule."""
    if p >= 0.5 + cfg.entry_edge:
        return 1
    if p <= 0.5 - cfg.entry_edge and cfg.allow_short:
        return -1
    return 0


def _params(cfg: MlDirectionalConfig, seed: int) -> dict:
    m = cfg.model
    return {"objective": "binary", "learning_rate": m.learning_rate, "num_leaves": m.num_leaves,
            "min_data_in_leaf": m.min_data_in_leaf, "feature_fraction": m.feature_fraction,
            "bagging_fraction": m.bagging_fraction, "bagging_freq": 1 if m.bagging_fraction < 1 else 0,
            "lambda_l2": m.lambda_l2, "seed": seed, "deterministic": True, "force_row_wise": True,
            "num_threads": 1, "verbose": -1}


def _train(x: pd.DataFrame, y: np.ndarray, cfg: MlDirectionalConfig, fold: Fold, shuffled: bool) -> TrainedModel:
    lgb = lightgbm()
    params = _params(cfg, cfg.seed)
    booster = lgb.train(params, lgb.Dataset(x.to_numpy(np.float64), label=y, feature_name=list(FEATURES),
                                            free_raw_data=True), num_boost_round=cfg.model.n_estimators)
    meta = ModelMeta(mode=cfg.mode + ("/shuffled" if shuffled else ""), venue=cfg.venue, asset=cfg.asset, fold=fold.name,
                     features=FEATURES, train_first=x.index[0].isoformat(), train_last=x.index[-1].isoformat(),
                     n_samples=len(y), horizon_hours=cfg.horizon_hours, purge_hours=cfg.purge_hours,
                     embargo_hours=cfg.embargo_hours, seed=cfg.seed,
                     params=params | {"num_boost_round": cfg.model.n_estimators})
    model = TrainedModel(booster, meta)
    return TrainedModel(booster, ModelMeta(**{**meta.__dict__, "sha256": model.sha256()}))


def train_fold(fold: Fold, table: pd.DataFrame, y: pd.Series, cfg: MlDirectionalConfig) -> tuple[TrainedModel, TrainedModel, int]:
    """(model, shuffled-label model, training rows) of one fold from the feature ``table`` and labels ``y``
    (both indexed by decision time).

    Raises:
        WalkForwardError: fewer than ``min_train_samples`` complete rows in the fold's training window.
    """
    sel = (table.index >= fold.train_first) & (table.index <= fold.train_last)
    x, yy = table[sel], y[sel]
    ok = np.isfinite(x.to_numpy(np.float64)).all(axis=1) & np.isfinite(yy.to_numpy())
    x, yy = x[ok], yy[ok].to_numpy()
    if len(yy) < cfg.min_train_samples:
        raise WalkForwardError(f"fold {fold.name}: {len(yy)} complete training rows in {fold.train_first} .. "
                               f"{fold.train_last} (need min_train_samples={cfg.min_train_samples}; the data may "
                               "start too late for this window: start the run later or lower train_days)")
    rng = np.random.default_rng([cfg.seed, fold.test_start.year * 12 + fold.test_start.month])
    return _train(x, yy, cfg, fold, False), _train(x, rng.permutation(yy), cfg, fold, True), len(yy)


def walk_forward(bars: pd.DataFrame, funding: pd.Series, times: pd.DatetimeIndex,
                 cfg: MlDirectionalConfig) -> list[FoldResult]:
    """Train every fold that covers ``times`` (the run's decision times, UTC) and predict its hours.

    ``bars``/``funding`` as in ``features``; they must reach back ``train_days`` + embargo + warm-up
    before the first time (what the catalog has is used; too little is a ``WalkForwardError``)."""
    fs = folds(times[0], times[-1], cfg)
    span = pd.date_range(fs[0].train_first - HOUR, times[-1], freq="h", tz="UTC")
    table = feature_table(bars, funding, span)
    _, y = labels(bars, cfg.horizon_hours, span)
    out = []
    for fold in fs:
        model, shuffled, n = train_fold(fold, table, y, cfg)
        test_times = times[(times >= fold.test_start) & (times < fold.test_end)]
        xt = table.reindex(test_times)
        xt = xt[np.isfinite(xt.to_numpy(np.float64)).all(axis=1)]
        p = pd.Series(model.predict(xt) if len(xt) else [], index=xt.index, dtype="float64")
        ps = pd.Series(shuffled.predict(xt) if len(xt) else [], index=xt.index, dtype="float64")
        out.append(FoldResult(fold, model, shuffled, p, ps, n))
    return out


def lookback(cfg: MlDirectionalConfig) -> pd.Timedelta:
    """How far before the run's start the inputs must reach: the training window, the embargo, the
    one-month fold alignment and the features' warm-up."""
    return pd.Timedelta(days=cfg.train_days + 31) + (cfg.embargo_hours + WARMUP_HOURS + 1) * HOUR
