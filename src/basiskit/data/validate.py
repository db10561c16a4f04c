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
    longer ones stay missing. Other kinds are never filled;
  * value checks (:mod:`basiskit.data.checks`: timestamps out of the file name's range or far from their
    neighbours, non-positive prices, inconsistent OHLC, funding beyond the venue's cap, decreasing indexes,
    spikes against the series and against the same instrument on other venues) raise
    :class:`~basiskit.data.errors.ImplausibleValue` (file, line, column, value, count) unless the
    :class:`~basiskit.config.data_policy.DataPolicy` repairs that class; repaired rows are counted by class in
    ``FileReport.repairs`` and, for price candles, flagged ``repaired`` (and ``filled`` when refilled).

Two stages, so a candle can be judged against its peers: :func:`check` (parse, timestamp checks, sort,
dedupe, value checks on the series itself) and :func:`finish` (the cross-venue spike check against the
peers' :func:`check` results, gaps, fills, report). :func:`validate` runs both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from basiskit.data import checks
from basiskit.data.errors import DataError, ImplausibleValue
from basiskit.config.data_policy import DEFAULT_POLICY, DataPolicy
from basiskit.data.sources import OHLC, DatasetSpec

LINE = "_line"
FILE = "_file"
NAN_TOKENS = frozenset({"", "nan", "na", "n/a", "null", "none", "-nan", "+nan"})
_MIN_TS = pd.Timestamp("2000-01-01", tz="UTC")
_MAX_TS = pd.Timestamp("2100-01-01", tz="UTC")

Gap = tuple[str, str, int]
"""(first missing timestamp ISO, last missing timestamp ISO, number of missing steps)."""


class FileReport(BaseModel):
    """What validation found in one source file (or file set, for multi-file datasets).

    ``rows_kept`` counts source rows kept after dropping duplicates and rows removed by a repair; the
    stored frame has ``rows_kept + filled_rows`` rows. ``missing_steps`` counts expected timestamps
    missing inside [start, end] before any filling (holes left by repairs included); ``gaps`` lists
    every gap, ``unfilled_gaps`` those left missing. ``repairs`` counts rows repaired per check class
    under ``data_policy`` (the policy's non-default entries).
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
    repairs: dict[str, int] = {}
    data_policy: dict[str, str] = {}
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


def _fill(frame: pd.DataFrame, gaps: list[Gap], step_seconds: int) -> tuple[pd.DataFrame, int]:
    """Forward-fill ``gaps`` of an OHLCV frame (index = timestamp): open=high=low=close=previous close,
    volume 0, ``filled=True``."""
    step = pd.Timedelta(seconds=step_seconds)
    new = [pd.date_range(pd.Timestamp(a), pd.Timestamp(b), freq=step, unit="us") for a, b, _ in gaps]
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
    out["repaired"] = out["repaired"].eq(True).to_numpy()
    out.index.name = "timestamp"
    return out, len(fill_idx)


def _sanity_notes(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """Non-fatal plausibility findings, reported as notes (the fatal ones are :mod:`checks`)."""
    notes = []
    if spec.kind == "ohlcv" and (frame["volume"] < 0).any():
        notes.append(f"{int((frame['volume'] < 0).sum())} rows with negative volume")
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


@dataclass
class Checked:
    """Result of :func:`check`: the rows (column ``ts`` sorted and unique, the spec's float64 output
    columns, ``_line``, ``_file``) and what was found so far. Timestamps in ``no_fill`` (rows dropped by
    ``drop``) are never filled; those in ``refill`` (``drop_and_fill``) and ``clipped`` are flagged
    ``repaired``."""

    spec: DatasetSpec
    dataset_id: str
    file: str
    policy: DataPolicy
    rows: pd.DataFrame
    rows_read: int
    unsorted: int = 0
    dropped: int = 0
    conflicts: int = 0
    notes: list[str] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)
    no_fill: list[np.ndarray] = field(default_factory=list)
    refill: list[np.ndarray] = field(default_factory=list)
    clipped: list[np.ndarray] = field(default_factory=list)

    _peer: pd.DataFrame | None = None

    def peer_frame(self) -> pd.DataFrame:
        """OHLC indexed by timestamp, as a peer of another venue's candles (rows as imported, no fills)."""
        if self._peer is None:
            self._peer = self.rows.set_index(checks.TS)[list(OHLC)]
        return self._peer


_ALTERNATIVES = {"timestamp_out_of_range": "drop", "timestamp_outlier": "drop", "funding_cap": "drop",
                 "index_decreasing": "drop", "non_positive_price": "drop or drop_and_fill",
                 "ohlc_inconsistent": "clip, drop or drop_and_fill", "spike": "drop or drop_and_fill"}
_VERBS = {"drop": "dropped (hole left unfilled)", "drop_and_fill": "dropped (hole filled like any short gap)",
          "clip": "clipped (high/low widened to cover open/close)"}


def _ns(ts: pd.Series) -> np.ndarray:
    return checks._us(ts)


def _apply(rows: pd.DataFrame, finding: checks.Finding, st: Checked) -> pd.DataFrame:
    """Raise for ``finding`` under the ``error`` action, else repair the rows and count them."""
    check, mask, pos = finding.check, finding.mask, finding.pos
    action = st.policy.action(check)
    column = st.spec.source_column(finding.column)
    if finding.column in rows.columns and finding.column not in (checks.TS,):
        value = checks._num(rows[finding.column].iat[pos])
    else:
        value = rows[checks.TS].iat[pos].isoformat()
    if action == "error":
        raise ImplausibleValue(
            check,
            f"{check}: {finding.detail}. {finding.count} row(s) of this class in {st.file} "
            f"(data_policy.{check} is error; {_ALTERNATIVES[check]} would repair them)",
            file=str(rows[FILE].iat[pos]), row=int(rows[LINE].iat[pos]), column=column, value=value,
            count=finding.count,
        )
    lines = rows[LINE].to_numpy()[mask]
    shown = ", ".join(str(x) for x in lines[:5]) + (", ..." if len(lines) > 5 else "")
    ts = _ns(rows[checks.TS])[mask]
    if action == "clip":
        ohlc = rows.loc[mask, list(OHLC)].to_numpy()
        rows = rows.copy()
        rows.loc[mask, "high"] = ohlc.max(axis=1)
        rows.loc[mask, "low"] = ohlc.min(axis=1)
        st.clipped.append(ts)
    else:
        rows = rows[~mask].reset_index(drop=True)
        (st.no_fill if action == "drop" else st.refill).append(ts)
    st.repairs[check] = st.repairs.get(check, 0) + finding.count
    st.notes.append(f"{check}: {finding.count} row(s) {_VERBS[action]} under data_policy.{check}={action} "
                    f"(line {shown}; first: {finding.detail})")
    return rows


def check(raw: pd.DataFrame, spec: DatasetSpec, *, file: str, policy: DataPolicy = DEFAULT_POLICY,
          dataset_id: str | None = None) -> Checked:
    """Stage 1: parse, timestamp checks (file order), sort, dedupe, value checks on the series itself.

    Raises:
        DataError / ImplausibleValue: see the module docstring.
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
    st = Checked(spec, dataset_id, file, policy, raw.iloc[:0], rows_read=len(raw), notes=notes)

    idx = parse_timestamps(raw, spec, file)
    values = parse_values(raw, spec, file)
    rows = pd.DataFrame({"ts": idx, **values, LINE: raw[LINE].to_numpy(), FILE: raw[FILE].to_numpy()})
    for test in (checks.out_of_range, checks.outlier):  # file order, duplicates included
        found = test(rows, spec)
        if found is not None:
            rows = _apply(rows, found, st)

    prev_max = rows["ts"].cummax().shift(1)
    st.unsorted = int((rows["ts"] < prev_max).sum())
    if st.unsorted:
        rows = rows.sort_values("ts", kind="stable").reset_index(drop=True)
        st.notes.append(f"{st.unsorted} rows out of order in the source; sorted")

    rows, st.dropped, st.conflicts, dup_notes = _dedupe(rows, spec)
    rows = rows.reset_index(drop=True)
    st.notes += dup_notes
    if st.dropped:
        st.notes.append(f"{st.dropped} identical duplicate rows dropped")

    for test in (checks.non_positive, checks.ohlc_inconsistent, checks.funding_cap, checks.index_decreasing,
                 checks.spike_self):
        found = test(rows, spec)
        if found is not None:
            rows = _apply(rows, found, st)
    if rows.empty:
        raise DataError(f"no data rows left after the repairs of data_policy {policy.changes()}", file=file)
    st.rows = rows
    return st


def _holes_with(gaps: list[Gap], stamps: list[np.ndarray]) -> list[bool]:
    """For each gap, whether it contains one of ``stamps`` (int64 µs)."""
    if not stamps:
        return [False] * len(gaps)
    ts = np.sort(np.concatenate(stamps))
    out = []
    for a, b, _ in gaps:  # one entry per gap, not per row
        lo = np.searchsorted(ts, pd.Timestamp(a).value // 1000, side="left")
        hi = np.searchsorted(ts, pd.Timestamp(b).value // 1000, side="right")
        out.append(bool(hi > lo))
    return out


def finish(st: Checked, *, peers: dict[str, pd.DataFrame] | None = None,
           max_fill_steps: int = 0) -> tuple[pd.DataFrame, FileReport]:
    """Stage 2: the cross-venue spike check against ``peers`` (dataset id -> :meth:`Checked.peer_frame`),
    gaps and fills, and the report. Raises ImplausibleValue like :func:`check`."""
    spec, rows = st.spec, st.rows
    if peers:
        found = checks.spike_venue(rows, spec, peers)
        if found is not None:
            rows = _apply(rows, found, st)
    out = rows.set_index("ts")[spec.value_columns]
    out.index = pd.DatetimeIndex(out.index, name="timestamp")
    rows_kept = len(out)
    gaps = find_gaps(out.index, spec.step_seconds)
    filled = 0
    notes = list(st.notes)
    if spec.fillable:
        out = out.assign(filled=False, repaired=False)
        if st.clipped:
            out.loc[pd.DatetimeIndex(np.concatenate(st.clipped).astype("datetime64[us]"), tz="UTC"), "repaired"] = True
        blocked = _holes_with(gaps, st.no_fill)
        to_fill = [g for g, b in zip(gaps, blocked) if g[2] <= max_fill_steps and not b]
        out, filled = _fill(out, to_fill, spec.step_seconds)
        unfilled = [g for g in gaps if g not in to_fill]
        if st.refill:
            refill = pd.DatetimeIndex(np.concatenate(st.refill).astype("datetime64[us]"), tz="UTC")
            done = refill[refill.isin(out.index)]
            out.loc[done, "repaired"] = True
            if len(done) < len(refill):
                notes.append(f"{len(refill) - len(done)} repaired row(s) left as holes: the gap around them is "
                             f"longer than the fill limit ({max_fill_steps} steps)")
    else:
        unfilled = list(gaps)
    if unfilled:
        notes.append(f"{len(unfilled)} gaps left unfilled ({sum(g[2] for g in unfilled)} missing steps)")
    notes += _sanity_notes(out, spec)
    out = out.astype({c: "float64" for c in spec.value_columns})

    report = FileReport(
        dataset_id=st.dataset_id,
        file=st.file,
        rows_read=st.rows_read,
        rows_kept=rows_kept,
        start=_iso(out.index[0]),
        end=_iso(out.index[-1]),
        step_seconds=spec.step_seconds,
        duplicates_dropped=st.dropped,
        conflicting_duplicates=st.conflicts,
        conflict_policy=spec.policy,
        missing_steps=sum(g[2] for g in gaps),
        gaps=gaps,
        filled_rows=filled,
        unfilled_gaps=unfilled,
        nan_count=int(out[spec.value_columns].isna().sum().sum()),
        unsorted_rows=st.unsorted,
        repairs=dict(st.repairs),
        data_policy=st.policy.changes(),
        notes=notes,
    )
    return out, report


def validate(
    raw: pd.DataFrame,
    spec: DatasetSpec,
    *,
    file: str,
    max_fill_steps: int = 0,
    dataset_id: str | None = None,
    policy: DataPolicy = DEFAULT_POLICY,
    peers: dict[str, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, FileReport]:
    """Validate and clean one raw table; see the module docstring for the rules.

    ``file`` is the source path (relative to the source dir) used in messages and the report;
    ``max_fill_steps`` is the longest gap (in steps) that is forward-filled for fillable specs;
    ``peers`` are other venues' :meth:`Checked.peer_frame` of the same instrument.
    """
    st = check(raw, spec, file=file, policy=policy, dataset_id=dataset_id)
    return finish(st, peers=peers, max_fill_steps=max_fill_steps)
