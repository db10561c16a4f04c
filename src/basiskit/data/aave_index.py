"""Interpolation of AAVE v3 reserve indexes between daily snapshots.

AAVE v3 updates ``liquidityIndex`` and ``variableBorrowIndex`` on every interaction with a reserve
(many times a day on Ethereum mainnet); between two updates the supply index grows linearly and the
borrow index compounds per second (AAVE v3 ``MathUtils.calculateLinearInterest`` /
``calculateCompoundedInterest``). With updates every few minutes the path between two daily
snapshots is, to within rounding, exponential at the prevailing rate. We therefore interpolate
**geometrically**: the index between snapshots ``(t0, I0)`` and ``(t1, I1)`` is

    I(t) = I0 * (I1 / I0) ** ((t - t0) / (t1 - t0))

i.e. a constant continuously-compounded rate implied by the two on-chain values. Every snapshot is
reproduced exactly, so a supply held between two snapshot times earns exactly their index ratio.
"""

from __future__ import annotations

import numpy as np


def interpolate_index(snap_ns: np.ndarray, snap_index: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    """Index values at ``at_ns``.

    Args:
        snap_ns: int64 snapshot times (ns since epoch, UTC), strictly increasing, shape (k,).
        snap_index: index values at those times (unitless, ray / 1e27), shape (k,), > 0.
        at_ns: int64 query times, shape (n,); each must lie within [snap_ns[0], snap_ns[-1]].
    Returns:
        float64 array, shape (n,).
    Raises:
        ValueError: a query time outside the snapshot range (no extrapolation), or a non-positive index.
    """
    snap_ns = np.asarray(snap_ns, dtype=np.int64)
    snap_index = np.asarray(snap_index, dtype=np.float64)
    at_ns = np.asarray(at_ns, dtype=np.int64)
    if len(snap_ns) == 0:
        raise ValueError("no index snapshots")
    if np.any(snap_index <= 0):
        raise ValueError("index values must be positive")
    if len(at_ns) and (at_ns.min() < snap_ns[0] or at_ns.max() > snap_ns[-1]):
        raise ValueError("query time outside the snapshot range; indexes are never extrapolated")
    j = np.searchsorted(snap_ns, at_ns, side="right") - 1
    j = np.clip(j, 0, len(snap_ns) - 1)
    exact = snap_ns[j] == at_ns
    out = snap_index[j].copy()
    nxt = np.minimum(j + 1, len(snap_ns) - 1)
    mid = ~exact
    if mid.any():
        t0 = snap_ns[j[mid]].astype(np.float64)
        t1 = snap_ns[nxt[mid]].astype(np.float64)
        frac = (at_ns[mid].astype(np.float64) - t0) / (t1 - t0)
        log_ratio = np.log(snap_index[nxt[mid]] / snap_index[j[mid]])
        out[mid] = snap_index[j[mid]] * np.exp(frac * log_ratio)
    return out
