"""Settlement schedules: each instrument's funding interval as it changes over time.

A perpetual settles funding at fixed UTC times on a grid of its *interval* (OKX: 1 h, 2 h, 4 h or 8 h per
instrument, changed by OKX for volatile instruments; Binance/Bybit BTC and ETH: 8 h at 00:00, 08:00,
16:00). The interval of a settlement is the time since the previous settlement when that is one of the
allowed intervals; after a data gap (a missing day, a listing) it is taken from the next settlement, and
failing that from the last known interval. A settlement is *on schedule* when its time is a whole
multiple of its interval since the epoch (00:00 UTC is on every grid) -- i.e. it falls on the
instrument's own grid.

Rows of the raw data that are not on any grid (OKX lists an instrument mid-hour: its first row, e.g.
SLERF-USDT-SWAP at 2024-11-21 16:16, VANA-USDT-SWAP at 2024-12-17 12:02) are not settlements of a
schedule: :func:`split_off_schedule` separates them so that the loaders report them instead of
settling them.

Units: times are int64 ns since the epoch (UTC); intervals are hours (int).
"""

from __future__ import annotations

import numpy as np

HOUR_NS = 3_600_000_000_000
ALLOWED_HOURS = (1, 2, 4, 8)
"""Funding intervals the venues use (OKX funding-rate rules: 1/2/4/8 h; Binance/Bybit 8 h for BTC/ETH,
4 h or 1 h for some other symbols)."""


def split_off_schedule(times: np.ndarray) -> np.ndarray:
    """Mask of the times (int64 ns, one instrument, sorted) that lie on no funding grid (not a whole
    UTC hour). Shape: like ``times``."""
    return (np.asarray(times, dtype=np.int64) % HOUR_NS) != 0


def infer_intervals(times: np.ndarray, default_hours: int = 8) -> np.ndarray:
    """The interval (hours) of each settlement of one instrument.

    Args:
        times: int64 ns, strictly increasing, whole hours.
        default_hours: the interval when no neighbour tells (an instrument with a single settlement).
    Returns:
        int64 array like ``times``: the gap to the previous settlement if it is an allowed interval,
        else the gap to the next one if allowed, else the last interval seen (forward), else
        ``default_hours``.
    Raises:
        ValueError: ``times`` not strictly increasing.
    """
    t = np.asarray(times, dtype=np.int64)
    n = t.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    gaps = np.diff(t)
    if (gaps <= 0).any():
        raise ValueError("settlement times must be strictly increasing")
    gap_h = gaps // HOUR_NS
    ok = np.isin(gap_h, ALLOWED_HOURS) & (gaps % HOUR_NS == 0)
    out = np.zeros(n, dtype=np.int64)
    out[1:] = np.where(ok, gap_h, 0)                     # gap to the previous settlement
    nxt = np.zeros(n, dtype=np.int64)
    nxt[:-1] = np.where(ok, gap_h, 0)                    # gap to the next settlement
    out = np.where(out == 0, nxt, out)
    if (out == 0).any():                                 # isolated settlements: carry the last known interval
        known = np.where(out > 0, np.arange(n), -1)
        np.maximum.accumulate(known, out=known)
        first = out[out > 0][0] if (out > 0).any() else default_hours
        out = np.where(known >= 0, out[np.maximum(known, 0)], first)
    return out


def off_schedule(times: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Mask of settlements not on their own grid: time not a whole multiple of ``interval`` hours since
    the epoch, or an interval that is not an allowed one. Shapes: like ``times``."""
    t = np.asarray(times, dtype=np.int64)
    iv = np.asarray(intervals, dtype=np.int64)
    bad_iv = ~np.isin(iv, ALLOWED_HOURS)
    return bad_iv | (t % (np.where(bad_iv, 1, iv) * HOUR_NS) != 0)


def segments(times: np.ndarray, intervals: np.ndarray) -> list[tuple[int, int, int]]:
    """The schedule as ``(first settlement ns, last settlement ns, interval hours)`` runs of one
    interval, oldest first."""
    t = np.asarray(times, dtype=np.int64)
    iv = np.asarray(intervals, dtype=np.int64)
    if t.size == 0:
        return []
    cut = np.flatnonzero(np.diff(iv)) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [t.size])) - 1
    return [(int(t[a]), int(t[b]), int(iv[a])) for a, b in zip(starts, ends)]


def missing_settlements(times: np.ndarray, intervals: np.ndarray) -> int:
    """How many settlements of the schedule the series lacks between its first and last one (data
    gaps: e.g. the 44 missing OKX days): sum over gaps of gap / interval - 1."""
    t = np.asarray(times, dtype=np.int64)
    if t.size < 2:
        return 0
    iv = np.asarray(intervals, dtype=np.int64)[1:] * HOUR_NS
    return int(np.maximum(np.diff(t) // iv - 1, 0).sum())
