"""The shared clock: the only source of time in a run.

Times are int64 nanoseconds since the Unix epoch, UTC. A backtest clock is a regular grid from
``start`` to ``end`` inclusive with any positive step (1 hour by default); nothing downstream assumes
hourly steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NS_PER_SECOND = 1_000_000_000
SECONDS_PER_YEAR = 365.0 * 24 * 3600  # annualisation basis for APR/APY (365-day year)


def to_ns(value: str | pd.Timestamp) -> int:
    """Parse ``YYYY-MM-DD`` or an ISO timestamp (naive = UTC) to int ns.

    Raises:
        ValueError: unparseable value (message names it).
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot parse date {value!r}: expected YYYY-MM-DD") from exc
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value)


def ns_to_iso(ns: int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Clock:
    """Regular grid ``start, start+step, ..., <= end`` (ns)."""

    start_ns: int
    end_ns: int
    step_seconds: int = 3600

    def __post_init__(self) -> None:
        if self.step_seconds <= 0:
            raise ValueError(f"step must be positive seconds, got {self.step_seconds}")
        if self.end_ns < self.start_ns:
            raise ValueError(f"end {ns_to_iso(self.end_ns)} is before start {ns_to_iso(self.start_ns)}")

    def grid(self) -> np.ndarray:
        step = self.step_seconds * NS_PER_SECOND
        n = (self.end_ns - self.start_ns) // step + 1  # integer maths: float arange loses the last step
        return self.start_ns + step * np.arange(n, dtype=np.int64)
