"""The shared clock: the only source of time in a run.

Times are int64 nanoseconds since the Unix epoch, UTC (``domain.time``). A backtest clock is a regular
grid from ``start`` to ``end`` inclusive with any positive step (1 hour by default); nothing downstream
assumes hourly steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from basiskit.domain.time import NS_PER_SECOND, SECONDS_PER_YEAR, ns_to_iso, to_ns

__all__ = ["Clock", "NS_PER_SECOND", "SECONDS_PER_YEAR", "ns_to_iso", "to_ns"]
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
