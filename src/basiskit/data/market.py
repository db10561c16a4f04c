"""Market data aligned to a clock grid: what the engine and venues read at step ``i``.

A ``MarketFrame`` holds

* ``series[key]``: a Python list of floats, one per grid step (lists, not numpy arrays, because
  scalar indexing of a list is several times faster in the hot loop), and
* ``funding[key]``: funding settlements ``(times_ns, rates, marks)`` at the venue's own timestamps,
  independent of the grid step.

Alignment rules (no look-ahead): a bar series indexed by bar open time contributes at grid time t
the ``open`` of the latest bar opened at or before t (the price at t); it must be at most one bar
old, otherwise the data has a hole at t and building fails naming the dataset and time. Point series
(oracles, gas) use the latest value at or before t within ``max_staleness``. AAVE indexes are
interpolated geometrically between daily snapshots (see ``aave_index``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from basiskit.data.aave_index import interpolate_index
from basiskit.data.errors import DataError
from basiskit.engine.clock import ns_to_iso


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


@dataclass
class MarketFrame:
    grid: np.ndarray
    series: dict[str, list[float]] = field(default_factory=dict)
    funding: dict[str, tuple[list[int], list[float], list[float]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.grid)


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


def build_frame(source: FrameSource, grid: np.ndarray, specs: list[SeriesSpec]) -> MarketFrame:
    """Align every spec to ``grid``.

    Raises:
        DataError: a series has no value at some grid time (named with the dataset, the first
            affected time and the gap around it), or an AAVE index query outside its snapshots.
    """
    frame = MarketFrame(grid=grid)
    grid_start, grid_end = int(grid[0]), int(grid[-1])
    for spec in specs:
        df = source.load(spec.dataset_id)
        if spec.column not in df.columns:
            raise DataError(f"dataset {spec.dataset_id} has no column {spec.column!r}", key=spec.dataset_id)
        idx = _index_ns(df)
        vals = df[spec.column].to_numpy(dtype=np.float64)
        if spec.kind == "funding":
            sel = (idx > grid_start) & (idx <= grid_end)
            step = _median_step_ns(idx)
            bounds = np.concatenate(([grid_start], idx[sel], [grid_end]))
            holes = np.flatnonzero(np.diff(bounds) > step + step // 2)
            if len(holes):
                k = int(holes[0])
                raise DataError(
                    f"dataset {spec.dataset_id} has no funding settlement between {ns_to_iso(int(bounds[k]))} and "
                    f"{ns_to_iso(int(bounds[k + 1]))} (expected every {step // 10**9 // 3600} h; data covers "
                    f"{ns_to_iso(int(idx[0]))} .. {ns_to_iso(int(idx[-1]))}); funding is never invented",
                    key=spec.dataset_id,
                )
            times = idx[sel]
            mark_df = source.load(spec.mark_key.split("|")[0])
            mark_col = spec.mark_key.split("|")[1]
            m_idx = _index_ns(mark_df)
            marks = _asof(spec.mark_key.split("|")[0], m_idx, mark_df[mark_col].to_numpy(np.float64), times, _median_step_ns(m_idx))
            frame.funding[spec.key] = (times.tolist(), vals[sel].tolist(), marks.tolist())
            continue
        if spec.kind == "aave_index":
            if grid_start < idx[0] or grid_end > idx[-1]:
                raise DataError(
                    f"dataset {spec.dataset_id} covers {ns_to_iso(int(idx[0]))} .. {ns_to_iso(int(idx[-1]))}; "
                    f"the period {ns_to_iso(grid_start)} .. {ns_to_iso(grid_end)} is outside it",
                    key=spec.dataset_id,
                )
            frame.series[spec.key] = interpolate_index(idx, vals, grid).tolist()
            continue
        if spec.kind not in ("bar_open", "asof"):
            raise ValueError(f"unknown series kind {spec.kind!r}")
        max_age = spec.max_staleness_s * 10**9 if spec.max_staleness_s is not None else _median_step_ns(idx)
        if spec.kind == "bar_open":
            max_age = max(max_age - 1, 0)  # strictly less than one bar old
        frame.series[spec.key] = _asof(spec.dataset_id, idx, vals, grid, max_age, spec.optional).tolist()
    return frame
