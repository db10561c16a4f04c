"""A run's equity points for the store, made block by block from its arrays: the same points as one
``EquityPoint`` per step built by hand."""

from __future__ import annotations

import math

import numpy as np

from basiskit.persistence.records import EquityPoint
from basiskit.runs.results import EquityPoints


def test_equity_points_are_the_steps_points_in_blocks(monkeypatch):
    monkeypatch.setattr(EquityPoints, "BLOCK", 4)
    n = 11
    times = [1_704_067_200_000_000_000 + k * 60_000_000_000 for k in range(n)]
    equity = [100_000.0 + k for k in range(n)]
    equity[3] = math.nan
    deposits = [0.0] * 6 + [500.0] * 5
    delta = [0.5] * n
    delta[9] = math.inf
    want = [EquityPoint(k, times[k], None if k == 3 else equity[k], deposits[k], None if k == 9 else 0.5)
            for k in range(n)]
    pts = EquityPoints(np.array(times), np.array(equity), np.array(deposits), np.array(delta))
    assert len(pts) == n and list(pts) == want
    assert pts[0] == want[0] and pts[-1] == want[-1] and pts[2:9] == want[2:9] and pts[5:100] == want[5:]
    assert all(type(p.timestamp) is int and type(p.step) is int for p in pts)
