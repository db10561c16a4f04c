"""Market data aligned to a clock grid: what the engine and venues read at step ``i``.

A ``MarketFrame`` holds

* ``series[key]``: an ``array.array('d')`` of floats, one per grid step (not numpy arrays: scalar
  indexing returns a Python float, as fast as a list's, where numpy's is several times slower and
  returns ``numpy.float64``; and 8 bytes a value where a list of floats takes ~32), and
* ``funding[key]``: funding settlements ``(times_ns, rates, marks)`` at the venue's own timestamps,
  independent of the grid step.

Alignment rules (no look-ahead): a bar series indexed by bar open time contributes at grid time t
the ``open`` of the latest bar opened at or before t (the price at t); it must be at most one bar
old, otherwise the data has a hole at t and building fails naming the dataset and time. Point series
(oracles, gas) use the latest value at or before t within ``max_staleness``. AAVE indexes are
interpolated geometrically between daily snapshots (see ``aave_index``).

Bars that did not trade (``filled`` rows of the catalog: forward-filled gaps, repaired rows) are
re-priced from a reference venue (``gap_reference``) and flagged per step in ``stale[key]``: venues
value positions there but never fill an order at such a price. With ``extremes`` a bar series also
gives ``highs[key][i]`` / ``lows[key][i]``: the highest high and lowest low of the bars that *closed*
in ``(t_{i-1}, t_i]`` (NaN when none did, e.g. at step 0 or between the bar closes of a finer clock);
that is what a venue checks intrabar at step i (liquidations) without looking ahead.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from basiskit.data.aave_index import interpolate_index
from basiskit.data.errors import DataError
from basiskit.data.gap_reference import GapValuation, value_gaps
from basiskit.domain.time import ns_to_iso


class FrameSource(Protocol):
    def load(self, dataset_id: str) -> pd.DataFrame: ...


@dataclass(frozen=True)
class SeriesSpec:
    """One grid-aligned series.

    kind: ``bar_open`` (hourly OHLC bars; price = open), ``asof`` (point values), ``aave_index``
    (daily snapshots, geometric interpolation), ``funding`` (event series, not on the grid).
    ``max_staleness_s`` bounds how old an as-of value may be (default: the dataset's step).
    """

    key: str
    dataset_id: str
    column: str
    kind: str
    max_staleness_s: int | None = None
    mark_key: str | None = None  # for funding: the bar series giving the mark price at settlement
    optional: bool = False  # steps without data get NaN instead of an error (e.g. gas: needed only when used)
    extremes: bool = False  # bar_open: also record the highs/lows of the bars closed since the previous step
    references: tuple[str, ...] = ()  # bar_open: datasets that price this instrument's filled bars (best first)


@dataclass
class MarketFrame:
    """Grid-aligned market data (see module docstring). ``stale[key][i]``: the bar behind
    ``series[key][i]`` did not trade (valued from a reference, never filled at); ``highs``/``lows``:
    intrabar extremes per step (NaN where no bar closed); ``gaps``: how each stretch of non-traded
    bars of the datasets used was valued."""

    grid: np.ndarray
    series: dict[str, Sequence[float]] = field(default_factory=dict)  # array('d') or list
    funding: dict[str, tuple[list[int], list[float], list[float]]] = field(default_factory=dict)
    stale: dict[str, Sequence[bool]] = field(default_factory=dict)  # Flags (or a list of bools)
    highs: dict[str, Sequence[float]] = field(default_factory=dict)
    lows: dict[str, Sequence[float]] = field(default_factory=dict)
    gaps: list[GapValuation] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.grid)


class Flags(bytes):
    """Per-step flags in one byte each (a list of bools takes 8 a step): an item is a ``bool``, iterating
    gives ``bool`` s, a slice is ``Flags``; ``numpy.frombuffer(flags, numpy.uint8)`` reads them all."""

    __slots__ = ()

    def __getitem__(self, i):
        v = bytes.__getitem__(self, i)
        return v == 1 if isinstance(v, int) else Flags(v)

    def __iter__(self):
        return map(bool, bytes.__iter__(self))

    def __repr__(self) -> str:
        return f"Flags({[bool(b) for b in bytes.__iter__(self)]!r})"


def _floats(values: np.ndarray) -> array:
    """``values`` as an ``array('d')`` (one copy of the float64 buffer)."""
    return array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


def _index_ns(df: pd.DataFrame) -> np.ndarray:
    return df.index.as_unit("ns").asi8 if hasattr(df.index, "as_unit") else df.index.asi8


def _asof(dataset_id: str, idx_ns: np.ndarray, values: np.ndarray, at_ns: np.ndarray, max_age_ns: int,
          optional: bool = False) -> np.ndarray:
    j = np.searchsorted(idx_ns, at_ns, side="right") - 1
    bad = j < 0
    if not bad.all():
        age = at_ns - idx_ns[np.clip(j, 0, None)]
        bad |= age > max_age_ns
    if optional:
        out = values[np.clip(j, 0, None)].copy()
        out[bad] = np.nan
        return out
    if bad.any():
        first = int(np.argmax(bad))
        t = int(at_ns[first])
        n_bad = int(bad.sum())
        if idx_ns[0] > t or idx_ns[-1] < t:
            where = f"outside its range {ns_to_iso(int(idx_ns[0]))} .. {ns_to_iso(int(idx_ns[-1]))}"
        else:
            k = int(np.searchsorted(idx_ns, t, side="right"))
            where = f"in a gap from {ns_to_iso(int(idx_ns[k - 1]))} to {ns_to_iso(int(idx_ns[k]))}"
        raise DataError(
            f"dataset {dataset_id} has no data at {ns_to_iso(t)} ({where}; {n_bad} of {len(at_ns)} steps affected)",
            key=dataset_id,
        )
    return values[j]


def _median_step_ns(idx_ns: np.ndarray) -> int:
    if len(idx_ns) < 2:
        return 0
    return int(np.median(np.diff(idx_ns)))


def _bar_extremes(idx_ns: np.ndarray, high: np.ndarray, low: np.ndarray, grid: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per grid step i: max high / min low of the bars whose close (open + bar length) lies in
    ``(grid[i-1], grid[i]]``; NaN where no bar closed (and at step 0)."""
    close = idx_ns + _median_step_ns(idx_ns)
    step = np.searchsorted(grid, close, side="left")  # first grid time at or after the bar's close
    ok = (step >= 1) & (step < len(grid))
    hi_out = np.full(len(grid), np.nan)
    lo_out = np.full(len(grid), np.nan)
    np.fmax.at(hi_out, step[ok], high[ok])
    np.fmin.at(lo_out, step[ok], low[ok])
    return hi_out, lo_out


def build_frame(source: FrameSource, grid: np.ndarray, specs: list[SeriesSpec]) -> MarketFrame:
    """Align every spec to ``grid``.

    Raises:
        DataError: a series has no value at some grid time (named with the dataset, the first
            affected time and the gap around it), or an AAVE index query outside its snapshots.
    """
    frame = MarketFrame(grid=grid)
    grid_start, grid_end = int(grid[0]), int(grid[-1])
    priced: dict[str, pd.DataFrame] = {}  # bar datasets with their non-traded bars re-priced

    def bars(dataset_id: str, references: tuple[str, ...] = ()) -> pd.DataFrame:
        if dataset_id not in priced:
            df = source.load(dataset_id)
            if references and "filled" in df.columns and df["filled"].any():
                df, report = value_gaps(dataset_id, df, [(r, source.load(r)) for r in references])
                frame.gaps.extend(g for g in report if g.last_ns >= grid_start and g.first_ns <= grid_end)
            priced[dataset_id] = df
        return priced[dataset_id]

    for spec in sorted(specs, key=lambda sp: sp.kind == "funding"):  # marks of funding come from the priced bars
        df = bars(spec.dataset_id, spec.references) if spec.kind == "bar_open" else source.load(spec.dataset_id)
        if spec.column not in df.columns:
            raise DataError(f"dataset {spec.dataset_id} has no column {spec.column!r}", key=spec.dataset_id)
        idx = _index_ns(df)
        vals = df[spec.column].to_numpy(dtype=np.float64)
        if spec.kind == "funding":
            sel = (idx > grid_start) & (idx <= grid_end)
            step = _median_step_ns(idx)
            bounds = np.concatenate(([grid_start], idx[sel], [grid_end]))
            holes = np.flatnonzero(np.diff(bounds) > step + step // 2)
            if len(holes) and not spec.optional:  # optional funding: missing settlements pay nothing (a data gap)
                k = int(holes[0])
                raise DataError(
                    f"dataset {spec.dataset_id} has no funding settlement between {ns_to_iso(int(bounds[k]))} and "
                    f"{ns_to_iso(int(bounds[k + 1]))} (expected every {step // 10**9 // 3600} h; data covers "
                    f"{ns_to_iso(int(idx[0]))} .. {ns_to_iso(int(idx[-1]))}); funding is never invented",
                    key=spec.dataset_id,
                )
            times = idx[sel]
            mark_ds, _, mark_col = spec.mark_key.partition("|")
            mark_df = bars(mark_ds)
            m_idx = _index_ns(mark_df)
            marks = _asof(mark_ds, m_idx, mark_df[mark_col].to_numpy(np.float64), times, _median_step_ns(m_idx))
            frame.funding[spec.key] = (times.tolist(), vals[sel].tolist(), marks.tolist())
            continue
        if spec.kind == "aave_index":
            if grid_start < idx[0] or grid_end > idx[-1]:
                raise DataError(
                    f"dataset {spec.dataset_id} covers {ns_to_iso(int(idx[0]))} .. {ns_to_iso(int(idx[-1]))}; "
                    f"the period {ns_to_iso(grid_start)} .. {ns_to_iso(grid_end)} is outside it",
                    key=spec.dataset_id,
                )
            frame.series[spec.key] = _floats(interpolate_index(idx, vals, grid))
            continue
        if spec.kind not in ("bar_open", "asof"):
            raise ValueError(f"unknown series kind {spec.kind!r}")
        max_age = spec.max_staleness_s * 10**9 if spec.max_staleness_s is not None else _median_step_ns(idx)
        if spec.kind == "bar_open":
            max_age = max(max_age - 1, 0)  # strictly less than one bar old
        frame.series[spec.key] = _floats(_asof(spec.dataset_id, idx, vals, grid, max_age, spec.optional))
        if spec.kind == "bar_open" and "filled" in df.columns:
            filled = df["filled"].to_numpy(dtype=np.float64)
            stale = _asof(spec.dataset_id, idx, filled, grid, max_age, optional=True)
            frame.stale[spec.key] = Flags((stale == 1.0).tobytes())  # NaN (no bar) is not a filled bar: it fails elsewhere
        if spec.extremes:
            hi, lo = _bar_extremes(idx, df["high"].to_numpy(np.float64), df["low"].to_numpy(np.float64), grid)
            frame.highs[spec.key], frame.lows[spec.key] = _floats(hi), _floats(lo)
    return frame
