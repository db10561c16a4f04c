"""Report downsampling keeps each bucket's first, last, lowest and highest point, exactly."""

from __future__ import annotations

import math

import numpy as np

from basiskit.reports.downsample import downsample_figure, m4_indices


def _by_hand(y: list[float], buckets: int) -> list[int]:
    """Per bucket of ceil(n / buckets) points: first, last, first lowest and first highest finite point."""
    n = len(y)
    size = -(-n // buckets)
    keep = set()
    for a in range(0, n, size):
        part = range(a, min(a + size, n))
        keep.update((part[0], part[-1]))
        finite = [i for i in part if math.isfinite(y[i])]
        if finite:
            keep.add(min(finite, key=lambda i: (y[i], i)))
            keep.add(min(finite, key=lambda i: (-y[i], i)))
    return sorted(keep)


def test_m4_keeps_each_buckets_extremes_as_counted_by_hand():
    rng = np.random.default_rng(5)
    for n, buckets in ((41, 10), (1000, 7), (1003, 50), (5000, 200)):
        y = np.round(np.cumsum(rng.normal(size=n)), 1)  # rounded: ties inside buckets
        y[rng.random(n) < 0.05] = np.nan
        y[10:60] = np.nan  # whole buckets of gaps
        y[3] = np.inf
        idx = m4_indices(y, buckets)
        assert idx.tolist() == _by_hand(y.tolist(), buckets)
    assert m4_indices(np.arange(8.0), 2).tolist() == list(range(8))  # short enough: every point


def test_a_long_trace_is_cut_and_the_chart_says_so_a_short_one_is_not():
    n = 100_000
    x = np.arange(n, dtype=float)
    y = np.sin(x / 1000.0)
    y[77_777] = -3.0
    fig = {"data": [{"type": "scatter", "x": x, "y": y}, {"type": "scatter", "x": x[:100], "y": y[:100]}],
           "layout": {"title": {"text": "Equity"}}}
    downsample_figure(fig, max_points=5_000, buckets=1_000)
    long, short = fig["data"]
    assert len(long["y"]) <= 4_000 and long["y"].min() == -3.0 and long["x"][long["y"].argmin()] == 77_777
    assert np.array_equal(long["y"], y[long["x"].astype(int)])  # the kept points are the series' own
    assert len(short["y"]) == 100
    title = fig["layout"]["title"]
    assert title["text"] == "Equity" and f"of {n:,} points" in title["subtitle"]["text"]
    assert title["subtitle"]["text"].startswith("downsampled")
    untouched = {"data": [{"type": "scatter", "x": x[:10], "y": y[:10]}], "layout": {"title": {"text": "t"}}}
    assert downsample_figure(untouched)["layout"]["title"] == {"text": "t"}
