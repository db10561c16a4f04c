"""A finished run's results folder, read back for reporting.

``load_run(out_dir)`` reads ``summary.json``, ``equity.csv`` and ``trades.csv`` (required) and
``attribution.csv``, ``venues.csv`` (written since the reports exist; optional so older folders still
render without those charts). Times become UTC ``DatetimeIndex``es; values stay in the units the
files state (equity columns in share-class units, ``*_usd`` in USD(T)).

Raises:
    RunFilesMissing (RUN-008): a required file is missing, or any file cannot be parsed (the message
        names the file and, where known, the column).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from basiskit.errors.exceptions import RunFilesMissing

REQUIRED_EQUITY = ("timestamp", "equity", "net_deposits", "net_delta")


@dataclass
class RunData:
    out_dir: Path
    summary: dict
    equity: pd.DataFrame               # index: UTC time of each clock step
    trades: pd.DataFrame               # trades.csv as read (timestamp parsed)
    attribution: pd.DataFrame | None   # index: snapshot time; columns: attribution sources, cumulative
    venues: pd.DataFrame | None        # long format, see results.export.write_outcome_venues

    @property
    def unit(self) -> str:
        """Share-class token: ``USDT`` or ``ETH``."""
        return str(self.summary.get("share_class", "USDT"))

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id") or self.out_dir.name)


def _csv(path: Path, required: bool, columns: tuple[str, ...] = ("timestamp",)) -> pd.DataFrame | None:
    if not path.is_file():
        if required:
            raise RunFilesMissing(f"{path}: file missing (the run's results are incomplete)")
        return None
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RunFilesMissing(f"{path}: cannot be read as CSV: {exc}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RunFilesMissing(f"{path}: column(s) {', '.join(missing)} missing")
    try:
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise RunFilesMissing(f"{path}: column timestamp holds a value that is not an ISO time: {exc}") from exc
    return df


def equity_frame(table) -> pd.DataFrame:
    """``equity.csv`` as :func:`load_run` reads it, from the table its writer read back
    (``results.export.WrittenTable``: float columns as parsed from the written text), without
    parsing the file again: index the steps' UTC times (whole seconds, as the file has them)."""
    sec = np.asarray(table.times, dtype=np.int64) // 1_000_000_000 * 1_000_000_000
    index = pd.DatetimeIndex(sec.view("datetime64[ns]"), name="timestamp").tz_localize("UTC")
    cols = list(table.columns.values())
    base = cols[0].base if cols else None
    if base is not None and base.ndim == 2 and base.shape[1] == len(cols) and all(c.base is base for c in cols):
        values = base  # the writer's one (rows, columns) array: framed without a copy
    else:
        values = np.column_stack(cols) if cols else np.empty((len(index), 0))
    return pd.DataFrame(values, index=index, columns=list(table.columns), copy=False)


def load_run(out_dir: str | Path, equity=None) -> RunData:
    """Read the results folder ``out_dir`` (see module docstring); ``equity``: the ``WrittenTable`` the
    run's writer returned for its ``equity.csv`` (then the file is not parsed again)."""
    out = Path(out_dir)
    summary_path = out / "summary.json"
    if not summary_path.is_file():
        raise RunFilesMissing(f"{summary_path}: file missing (is {out} a finished run's results folder?)")
    try:
        summary = json.loads(summary_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFilesMissing(f"{summary_path}: not valid JSON: {exc}") from exc
    if equity is not None:
        equity = equity_frame(equity)
    else:
        equity = _csv(out / "equity.csv", True, REQUIRED_EQUITY).set_index("timestamp")
    if equity.empty:
        raise RunFilesMissing(f"{out / 'equity.csv'}: no rows")
    trades = _csv(out / "trades.csv", True)
    attribution = _csv(out / "attribution.csv", False)
    if attribution is not None:
        attribution = attribution.set_index("timestamp")
    venues = _csv(out / "venues.csv", False, ("timestamp", "venue", "value", "funding_usd"))
    return RunData(out, summary, equity, trades, attribution, venues)
