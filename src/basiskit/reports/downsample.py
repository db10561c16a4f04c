"""Per-step chart traces cut to a size a browser draws at once, keeping every extreme.

A trace of more than ``MAX_POINTS`` points (a per-step series of a long run: 917,281 points at one-
minute steps over 21 months) is split into at most ``BUCKETS`` runs ("buckets") of
``ceil(n / BUCKETS)`` consecutive points, and of each run the first, the last, the lowest and the
highest point are kept, in time order ("M4"; Jugel et al., VLDB 2014: a line drawn through them
covers the same pixels as the full line at ``BUCKETS`` pixels' width). So the drawdown minimum, the
lowest health factor, every peak and trough are drawn at their exact time and value; only points
between a bucket's extremes go. Non-finite points (NaN gaps, an infinite health factor without debt)
never count as an extreme; a gap inside a bucket is not drawn as a gap. Kept points are the series'
own values, bit for bit.

The chart says so: ``note(...)`` is its title's subtitle (``layout.title.subtitle``). Shorter traces (and charts) are unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_POINTS = 5_000  # a trace longer than this is downsampled
BUCKETS = 2_000     # to at most 4 x BUCKETS points


def m4_indices(y: np.ndarray, buckets: int = BUCKETS) -> np.ndarray:
    """Sorted indices of the first, last, lowest and highest finite point of each run of
    ``ceil(len(y) / buckets)`` consecutive points of ``y`` (all of them when ``len(y) <= 4 * buckets``);
    of equal extremes in a run, the first."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n <= 4 * buckets:
        return np.arange(n)
    size = -(-n // buckets)
    rows = -(-n // size)
    padded = np.full(rows * size, np.nan)
    padded[:n] = y
    grid = padded.reshape(rows, size)
    finite = np.isfinite(grid)
    base = np.arange(rows) * size
    lo = np.where(finite, grid, np.inf).argmin(axis=1) + base
    hi = np.where(finite, grid, -np.inf).argmax(axis=1) + base
    ends = np.minimum(base + size, n) - 1
    keep = np.concatenate((base, ends, lo[lo < n], hi[hi < n]))
    return np.unique(keep)


def note(kept: int, total: int) -> str:
    """What a downsampled chart says under its title."""
    return (f"downsampled: at most {kept:,} of {total:,} points per trace drawn, each of {BUCKETS:,} buckets' "
            "first, last, lowest and highest point kept (the run's files hold every step)")


def _per_point(trace: dict[str, Any], n: int) -> list[str]:
    return [k for k in ("x", "y") if isinstance(trace.get(k), np.ndarray) and len(trace[k]) == n]


def downsample_figure(fig: dict[str, Any] | None, max_points: int = MAX_POINTS, buckets: int = BUCKETS
                      ) -> dict[str, Any] | None:
    """``fig`` with each line trace longer than ``max_points`` cut by :func:`m4_indices` (in place; the
    figure is returned) and the note as its title's subtitle. Stacked traces (``stackgroup``) and bars are
    left whole: their points must stay aligned across traces."""
    if fig is None:
        return None
    most = total = 0
    for trace in fig.get("data", []):
        y = trace.get("y")
        if trace.get("type") != "scatter" or "stackgroup" in trace or not isinstance(y, np.ndarray):
            continue
        n = len(y)
        if n <= max_points or _per_point(trace, n) != ["x", "y"]:
            continue
        idx = m4_indices(y, buckets)
        trace["x"], trace["y"] = trace["x"][idx], y[idx]
        most, total = max(most, len(idx)), max(total, n)
    if total:
        title = fig["layout"].setdefault("title", {})
        title["subtitle"] = {"text": note(most, total), "font": {"size": 11, "color": "#57606a"}}
        margin = fig["layout"].get("margin") or {}
        fig["layout"]["margin"] = dict(margin, t=max(100, margin.get("t", 0)))  # room for the note
    return fig
