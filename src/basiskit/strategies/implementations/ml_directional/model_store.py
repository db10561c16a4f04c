"""A trained model of the ML directional modes, saved and reloaded with what it needs to be used again.

A ``TrainedModel`` is a LightGBM booster plus its feature list (names, in column order), the data range
it was trained on (first and last sample decision time; the last bar its labels read is ``train_last`` +
``horizon_hours``), the seed, the walk-forward fold it serves (a calendar month, UTC) and the training
parameters. :func:`save_model` writes two files into a folder: ``<mode>_<fold>.lgb.txt`` (LightGBM's own
text format) and ``<mode>_<fold>.json`` (the rest, with the SHA-256 of the model text); :func:`load_model`
reads them back for a paper or live runner, which then calls :func:`predict_at` each hour.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from basiskit.errors.exceptions import InvalidInput
from basiskit.strategies.implementations.ml_directional.features import features_at

FORMAT = "basiskit.ml_directional.model/1"


class ModelFileError(InvalidInput, ValueError):
    """STRAT-020: a saved model cannot be used (file missing, not this format, corrupt, checksum or
    feature list mismatch); the message names the file."""

    code = "STRAT-020"


@dataclass(frozen=True)
class ModelMeta:
    """Everything about a model but its trees. Times are ISO 8601 UTC strings."""

    mode: str
    venue: str
    asset: str
    fold: str                 # the calendar month (UTC) the model predicts, e.g. "2025-03"
    features: tuple[str, ...]
    train_first: str          # first training sample's decision time
    train_last: str           # last training sample's decision time (its label reads the open at + horizon)
    n_samples: int
    horizon_hours: int
    purge_hours: int
    embargo_hours: int
    seed: int
    params: dict = field(default_factory=dict)
    sha256: str = ""


class TrainedModel:
    """A booster (``lightgbm.Booster``) and its ``ModelMeta``."""

    def __init__(self, booster, meta: ModelMeta) -> None:
        self.booster = booster
        self.meta = meta

    def model_text(self) -> str:
        return self.booster.model_to_string()

    def sha256(self) -> str:
        return hashlib.sha256(self.model_text().encode()).hexdigest()

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """P(up over the horizon) for each row of ``x`` (its columns must be ``meta.features`` in order; rows
        must have no NaN: the caller leaves those out).

        Raises:
            ValueError: other columns, or a NaN.
        """
        if tuple(x.columns) != tuple(self.meta.features):
            raise ValueError(f"feature columns {list(x.columns)} differ from the model's {list(self.meta.features)}")
        arr = x.to_numpy(dtype=np.float64)
        if not np.isfinite(arr).all():
            raise ValueError("feature rows with NaN or inf cannot be predicted (leave them out)")
        return np.asarray(self.booster.predict(arr), dtype=np.float64)


def lightgbm():
    """The ``lightgbm`` module (imported on first use: a CLI that does not train pays nothing for it).

    Raises:
        ImportError: naming what is missing: the package (``pip install lightgbm``, a runtime dependency of
            basiskit) or the OpenMP runtime its library links to (Debian: ``apt-get install libgomp1``).
    """
    try:
        import lightgbm as lgb
    except OSError as exc:  # the shared library is there but cannot load its OpenMP runtime
        raise ImportError(f"lightgbm cannot load its library ({exc}): install the OpenMP runtime "
                          "(Debian/Ubuntu: apt-get install libgomp1)") from exc
    return lgb


def save_model(model: TrainedModel, folder: Path | str) -> Path:
    """Write the model into ``folder`` (created); returns the path of its JSON file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{model.meta.mode}_{model.meta.fold}"
    text = model.model_text()
    (folder / f"{stem}.lgb.txt").write_text(text)
    meta = asdict(model.meta) | {"sha256": hashlib.sha256(text.encode()).hexdigest(), "format": FORMAT,
                                 "model_file": f"{stem}.lgb.txt"}
    meta["features"] = list(model.meta.features)
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(meta, indent=2, sort_keys=True))
    return path


def load_model(path: Path | str) -> TrainedModel:
    """Read a model saved by :func:`save_model` (``path``: its JSON file).

    Raises:
        ModelFileError: the file or its model file is missing, not this format, the model text does not
            match its checksum, or the booster's own feature names differ from the stated list.
    """
    lgb = lightgbm()
    path = Path(path)
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: model file missing") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: format is {meta.get('format')!r}, expected {FORMAT!r}")
    model_path = path.parent / meta["model_file"]
    try:
        text = model_path.read_text()
    except FileNotFoundError:
        raise ModelFileError(f"{model_path}: model file missing (named by {path})") from None
    if hashlib.sha256(text.encode()).hexdigest() != meta["sha256"]:
        raise ModelFileError(f"{model_path}: its SHA-256 differs from the one {path} records (changed or corrupt)")
    booster = lgb.Booster(model_str=text)
    fields = {k: meta[k] for k in ModelMeta.__dataclass_fields__}
    fields["features"] = tuple(fields["features"])
    if list(booster.feature_name()) != list(fields["features"]):
        raise ModelFileError(f"{model_path}: the booster's features {booster.feature_name()} differ from {path}'s list")
    return TrainedModel(booster, ModelMeta(**fields))


def predict_at(model: TrainedModel, bars: pd.DataFrame, funding: pd.Series, t: pd.Timestamp) -> float | None:
    """P(up) at decision time ``t`` from the bars and funding a runner has collected (the data after t is
    ignored; ``features.features_at``); None when a feature is missing at t (a hole in the bars)."""
    row = features_at(bars, funding, t)[list(model.meta.features)]
    if not np.isfinite(row.to_numpy(dtype=np.float64)).all():
        return None
    return float(model.predict(row)[0])


def load_models(folder: Path | str, mode: str) -> dict[str, TrainedModel]:
    """Every model of ``mode`` saved in ``folder`` (``<mode>_<YYYY-MM>.json``), by fold (``"2025-03"``).

    Raises:
        ModelFileError: none found, or one of them cannot be used (named).
    """
    paths = sorted(Path(folder).glob(f"{mode}_????-??.json"))
    if not paths:
        raise ModelFileError(f"{folder}: no saved model of {mode} ({mode}_YYYY-MM.json; `basiskit ml-train`)")
    return {m.meta.fold: m for m in map(load_model, paths)}


def forecast(models: dict[str, TrainedModel], bars: pd.DataFrame, funding: pd.Series, t: pd.Timestamp) -> float | None:
    """P(up) at decision time ``t`` with the model of t's month (UTC) from :func:`load_models`: what a paper
    or live runner hands to ``MlDirectional.set_forecast`` each hour. None when a feature is missing at t.

    Raises:
        ModelFileError: no model for t's month (train it first: ``basiskit ml-train``).
    """
    t = pd.Timestamp(t)
    fold = f"{t.tz_convert('UTC'):%Y-%m}"
    if fold not in models:
        raise ModelFileError(f"no model for {fold} (have {', '.join(sorted(models)) or 'none'}): "
                             "train it with `basiskit ml-train`")
    return predict_at(models[fold], bars, funding, t)
