"""Use cases of the ML directional modes shared by the CLI (and a paper/live runner): train the
walk-forward models of a period on the catalog and save them (``strategies/implementations/
ml_directional/model_store.py`` for the files and ``load_model`` to read them back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from basiskit.config.loader import ConfigError
from basiskit.domain.time import to_ns
from basiskit.strategies.implementations.ml_directional.config import MlDirectionalConfig
from basiskit.strategies.implementations.ml_directional.model_store import save_model
from basiskit.strategies.implementations.ml_directional.strategy import MlDirectional
from basiskit.strategies.registry import load_mode_config


def train_ml_models(mode: str, start: str, end: str, out_dir: Path | str, catalog,
                    overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Train the walk-forward folds (calendar months, UTC) covering ``start`` .. ``end`` for ``mode`` and
    save each fold's model into ``out_dir`` (``<mode>_<YYYY-MM>.json`` + ``.lgb.txt``). Returns one dict per
    fold: fold, path, sha256, train_first, train_last, train rows, seed.

    Raises:
        ConfigError: ``mode`` is not an ML mode, or a config key is wrong (named);
        WalkForwardError (STRAT-021): a fold without enough training data; DataError: missing dataset.
    """
    cfg = load_mode_config(mode, overrides)
    if not isinstance(cfg, MlDirectionalConfig):
        raise ConfigError(f"{mode} is not an ML mode (ml_btc_directional, ml_usdt_directional)")
    a, b = to_ns(start), to_ns(end)
    if b < a:
        raise ConfigError(f"end {end} is before start {start}")
    strat = MlDirectional(cfg)
    strat.prepare(catalog, pd.date_range(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC"), freq="h").as_unit("ns").asi8)
    out = []
    for r in strat.folds:
        path = save_model(r.model, out_dir)
        m = r.model.meta
        out.append({"fold": m.fold, "path": str(path), "sha256": m.sha256, "train_first": m.train_first,
                    "train_last": m.train_last, "train_rows": m.n_samples, "seed": m.seed})
    return out
