"""Pure validation of one raw source table against its :class:`DatasetSpec`.

Input ("raw"): a DataFrame of *string* cells with the spec's source columns, plus optional
bookkeeping columns ``_line`` (1-based physical line number in the file, header and comment lines
counted) and ``_file`` (path relative to the source dir; defaults to the ``file`` argument). Without
``_line`` the rows are assumed to start at line 2 (one header line).

Output: ``(frame, FileReport)`` where ``frame`` has a ``DatetimeIndex`` (``datetime64[us, UTC]``,
name ``"timestamp"``, strictly increasing) and the spec's float64 value columns, plus a bool
``filled`` column for price candles.

Rules (raise :class:`DataError` unless stated):
  * missing required column; unparseable / off-grid / implausible timestamp; unparseable, empty, NaN
    or infinite value (file + line + column named);
  * duplicated timestamps: identical rows (all value columns equal) are dropped and counted;
    conflicting ones raise (file, timestamp, lines) unless ``spec.tolerate_conflicts`` (counted, first
    row kept);
  * unsorted rows are counted and sorted;
  * missing steps are counted and listed as gaps; for ``spec.fillable`` specs gaps of at most
    ``max_fill_steps`` are forward-filled (open=high=low=close=previous close, volume=0, filled=True),
    longer ones stay missing. Other kinds are never filled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from basiskit.data.errors import DataError
from basiskit.data.sources import DatasetSpec

LINE = "_line"
FILE = "_file"
NAN_TOKENS = frozenset({"", "nan", "na", "n/a", "null", "none", "-nan", "+nan"})
_MIN_TS = pd.Timestamp("2000-01-01", tz="UTC")
_MAX_TS = pd.Timestamp("2100-01-01", tz="UTC")

Gap = tuple[str, str, int]
"""(first missing timestamp ISO, last missing timestamp ISO, number of missing steps)."""


class FileReport(BaseModel):
    """What validation found in one source file (or file set, for multi-file datasets).

    ``rows_kept`` counts source rows kept after dropping duplicates; the stored frame has
    ``rows_kept + filled_rows`` rows. ``missing_steps`` counts expected timestamps missing inside
    [start, end] before any filling; ``gaps`` lists every gap, ``unfilled_gaps`` those left missing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset_id: str
    file: str
    rows_read: int
    rows_kept: int
    start: str | None
    end: str | None
    step_seconds: int
    duplicates_dropped: int = 0
    conflicting_duplicates: int = 0
    conflict_policy: str | None = None
    missing_steps: int = 0
    gaps: list[Gap] = []
    filled_rows: int = 0
    unfilled_gaps: list[Gap] = []
    nan_count: int = 0
    unsorted_rows: int = 0
    notes: list[str] = []


def _iso(ts: pd.Timestamp) -> str:
    return ts.isoformat()


def _locate(raw: pd.DataFrame, mask: np.ndarray, file: str) -> tuple[int, str, int]:
    """Position, file and line of the first True in ``mask``."""
    pos = int(np.flatnonzero(mask)[0])
    line = int(raw[LINE].iat[pos]) if LINE in raw else pos + 2
    src = str(raw[FILE].iat[pos]) if FILE in raw else file
    return pos, src, line


def _strings(raw: pd.DataFrame, col: str) -> np.ndarray:
    return raw[col].astype(str).str.strip().to_numpy(dtype=object)


def parse_timestamps(raw: pd.DataFrame, spec: DatasetSpec, file: str) -> pd.DatetimeIndex:
    """Parse ``spec.time_column`` to UTC (``datetime64[us, UTC]``); check plausibility and grid."""
    col = spec.time_column
    cells = _strings(raw, col)
    if spec.time_format == "unix_s":
        num = pd.to_numeric(cells, errors="coerce")
        bad = ~np.isfinite(num) | (np.floor(num) != num) | (num < _MIN_TS.timestamp()) | (
            num >= _MAX_TS.timestamp()
        )
        if bad.any():
            pos, src, line = _locate(raw, bad, file)
            raise DataError(
                f"unparseable or implausible unix-seconds timestamp {cells[pos]!r} in column {col!r}",
                file=src, row=line, key=col,
            )
        ts = pd.to_datetime(num.astype("int64"), unit="s", utc=True)
    else:
        ts = pd.to_datetime(pd.Series(cells), utc=True, format="ISO8601", errors="coerce")
        bad = (ts.isna() | (ts < _MIN_TS) | (ts >= _MAX_TS)).to_numpy()
        if bad.any():
            pos, src, line = _locate(raw, bad, file)
            raise DataError(
                f"unparseable or implausible timestamp {cells[pos]!r} in column {col!r}",
                file=src, row=line, key=col,
            )
    idx = pd.DatetimeIndex(ts).as_unit("us")
    secs = idx.asi8 // 1_000_000
    off = (idx.asi8 % 1_000_000 != 0) | (secs % spec.step_seconds != 0)
    if off.any():
        pos, src, line = _locate(raw, off, file)
        raise DataError(
            f"timestamp {_iso(idx[pos])} is not on the expected {spec.step_seconds}s grid",
            file=src, row=line, key=col,
        )
    return idx


def parse_values(raw: pd.DataFrame, spec: DatasetSpec, file: str) -> dict[str, np.ndarray]:
    """Parse every mapped value column to finite float64, keyed by output column name.

    Raises DataError at the first bad cell (file order): NaN/empty, unparseable or infinite.
    """
    out: dict[str, np.ndarray] = {}
    for src_col, out_col in spec.columns:
        cells = _strings(raw, src_col)
        num = pd.to_numeric(cells, errors="coerce").astype("float64")
        bad = ~np.isfinite(num)
        if bad.any():
            pos, src, line = _locate(raw, bad, file)
            if cells[pos].lower() in NAN_TOKENS:
                n_nan = sum(c.lower() in NAN_TOKENS for c in cells[bad])
                what = f"NaN/empty value {cells[pos]!r} in column {src_col!r} ({n_nan} such cells)"
            else:
                what = f"unparseable or non-finite value {cells[pos]!r} in column {src_col!r}"
            raise DataError(what, file=src, row=line, key=src_col)
        out[out_col] = num
    return out


def find_gaps(index: pd.DatetimeIndex, step_seconds: int) -> list[Gap]:
    """Gaps in a sorted unique on-grid index, as (first missing, last missing, n missing)."""
    secs = index.asi8 // 1_000_000
    diffs = np.diff(secs)
    step = pd.Timedelta(seconds=step_seconds)
    return [
        (_iso(index[i] + step), _iso(index[i + 1] - step), int(diffs[i] // step_seconds - 1))
        for i in np.flatnonzero(diffs > step_seconds)
    ]


def _dedupe(frame: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, int, int, list[str]]:
    """Drop duplicated timestamps of a time-sorted frame (column ``ts``); first row kept."""
    dup = frame["ts"].duplicated(keep=False)
    if not dup.any():
        return frame, 0, 0, []
    d = frame[dup]
    nunique = d.groupby("ts")[spec.value_columns].nunique()
    conflict_ts = nunique.index[(nunique > 1).any(axis=1)]
    in_conflict = d["ts"].isin(conflict_ts)
    keep = ~frame["ts"].duplicated(keep="first")
    identical_dropped = int((~keep & ~frame["ts"].isin(conflict_ts)).sum())
    notes: list[str] = []
    if len(conflict_ts):
        first = d[d["ts"] == conflict_ts[0]]
        src = str(first[FILE].iat[0])
        same_file = (first[FILE] == src).all()
        lines = ", ".join(
            str(ln) if same_file else f"{f}:{ln}" for f, ln in zip(first[FILE], first[LINE])
        )
        if not spec.tolerate_conflicts:
            raise DataError(
                f"conflicting values at duplicated timestamp {_iso(conflict_ts[0])} on lines {lines} "
                f"({len(conflict_ts)} conflicting timestamps in total, first at "
                f"{_iso(conflict_ts[0])}, last at {_iso(conflict_ts[-1])})",
                file=src, row=int(first[LINE].iat[0]), key=_iso(conflict_ts[0]),
            )
        n_rows = int(in_conflict.sum())
        notes.append(
            f"{len(conflict_ts)} timestamps with conflicting values ({n_rows} rows, "
            f"{_iso(conflict_ts[0])} .. {_iso(conflict_ts[-1])}; first on lines {lines}); "
            f"first row kept under policy {spec.policy!r}"
        )
    return frame[keep], identical_dropped, len(conflict_ts), notes


def _fill(frame: pd.DataFrame, gaps: list[Gap], max_fill_steps: int, step_seconds: int) -> tuple[pd.DataFrame, int]:
    """Forward-fill short gaps of an OHLCV frame (index = timestamp)."""
    step = pd.Timedelta(seconds=step_seconds)
    new = [
        pd.date_range(pd.Timestamp(a), pd.Timestamp(b), freq=step, unit="us")
        for a, b, n in gaps
        if n <= max_fill_steps
    ]
    if not new:
        return frame, 0
    fill_idx = new[0].append(new[1:]) if len(new) > 1 else new[0]
    out = pd.concat([frame, pd.DataFrame(index=fill_idx)]).sort_index()
    is_fill = out["filled"].isna().to_numpy()
    prev_close = out["close"].ffill()
    for col in ("open", "high", "low", "close"):
        out.loc[is_fill, col] = prev_close[is_fill]
    out.loc[is_fill, "volume"] = 0.0
    out["filled"] = is_fill
    out.index.name = "timestamp"
    return out, len(fill_idx)


def _sanity_notes(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """Non-fatal plausibility findings, reported as notes."""
    notes = []
    if spec.kind == "ohlcv":
        o, h, lo, c = (frame[k] for k in ("open", "high", "low", "close"))
        bad = (h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (lo <= 0)
        if bad.any():
            notes.append(f"{int(bad.sum())} candles with inconsistent OHLC (high<open/close, low>open/close or low<=0)")
        if (frame["volume"] < 0).any():
            notes.append(f"{int((frame['volume'] < 0).sum())} rows with negative volume")
    elif spec.kind in ("oracle", "aave"):
        nonpos = int((frame[spec.value_columns[0]] <= 0).sum())
        if nonpos:
            notes.append(f"{nonpos} rows with non-positive {spec.value_columns[0]}")
    if spec.kind == "oracle" and len(frame) > 2:
        # consecutive rows on a straight line (zero second difference): a sign of interpolation
        v = frame[spec.value_columns[0]].to_numpy()
        linear = np.abs(np.diff(v, 2)) <= 1e-9 * np.abs(v[1:-1])
        if linear.mean() > 0.5:
            notes.append(
                f"{linear.mean():.0%} of rows lie on a straight line between their neighbours "
                "(values look linearly interpolated, not sampled at this step)"
            )
    return notes


def validate(
    raw: pd.DataFrame,
    spec: DatasetSpec,
    *,
    file: str,
    max_fill_steps: int = 0,
    dataset_id: str | None = None,
) -> tuple[pd.DataFrame, FileReport]:
    """Validate and clean one raw table; see the module docstring for the rules.

    ``file`` is the source path (relative to the source dir) used in messages and the report;
    ``max_fill_steps`` is the longest gap (in steps) that is forward-filled for fillable specs.
    """
    dataset_id = dataset_id or spec.dataset_id
    missing = [c for c in spec.required_columns if c not in raw.columns]
    if missing:
        raise DataError(f"required column {missing[0]!r} is missing", file=file, key=missing[0])
    raw = raw.reset_index(drop=True)
    if LINE not in raw:
        raw = raw.assign(**{LINE: np.arange(len(raw)) + 2})
    if FILE not in raw:
        raw = raw.assign(**{FILE: file})
    notes: list[str] = []
    if spec.row_filter:
        col, val = spec.row_filter
        raw = raw[raw[col].astype(str).str.strip() == val].reset_index(drop=True)
    cols = [spec.time_column, *spec.source_columns]
    blank = np.logical_and.reduce([raw[c].astype(str).str.strip().eq("").to_numpy() for c in cols])
    if blank.any():
        notes.append(f"{int(blank.sum())} blank lines skipped")
        raw = raw[~blank].reset_index(drop=True)
    if raw.empty:
        where = f" with {spec.row_filter[0]} == {spec.row_filter[1]!r}" if spec.row_filter else ""
        raise DataError(f"no data rows{where}", file=file)
    rows_read = len(raw)

    idx = parse_timestamps(raw, spec, file)
    values = parse_values(raw, spec, file)
    frame = pd.DataFrame({"ts": idx, **values, LINE: raw[LINE].to_numpy(), FILE: raw[FILE].to_numpy()})

    prev_max = frame["ts"].cummax().shift(1)
    unsorted = int((frame["ts"] < prev_max).sum())
    if unsorted:
        frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
        notes.append(f"{unsorted} rows out of order in the source; sorted")

    frame, dropped, conflicts, dup_notes = _dedupe(frame, spec)
    notes += dup_notes
    if dropped:
        notes.append(f"{dropped} identical duplicate rows dropped")

    out = frame.set_index("ts")[spec.value_columns]
    out.index = pd.DatetimeIndex(out.index, name="timestamp")
    rows_kept = len(out)
    gaps = find_gaps(out.index, spec.step_seconds)
    filled = 0
    if spec.fillable:
        out = out.assign(filled=False)
        out, filled = _fill(out, gaps, max_fill_steps, spec.step_seconds)
        unfilled = [g for g in gaps if g[2] > max_fill_steps]
    else:
        unfilled = list(gaps)
    if unfilled:
        notes.append(f"{len(unfilled)} gaps left unfilled ({sum(g[2] for g in unfilled)} missing steps)")
    notes += _sanity_notes(out, spec)
    out = out.astype({c: "float64" for c in spec.value_columns})

    report = FileReport(
        dataset_id=dataset_id,
        file=file,
        rows_read=rows_read,
        rows_kept=rows_kept,
        start=_iso(out.index[0]),
        end=_iso(out.index[-1]),
        step_seconds=spec.step_seconds,
        duplicates_dropped=dropped,
        conflicting_duplicates=conflicts,
        conflict_policy=spec.policy,
        missing_steps=sum(g[2] for g in gaps),
        gaps=gaps,
        filled_rows=filled,
        unfilled_gaps=unfilled,
        nan_count=int(out[spec.value_columns].isna().sum().sum()),
        unsorted_rows=unsorted,
        notes=notes,
    )
    return out, report
