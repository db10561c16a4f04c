"""Health checks: components register, record what they do, and a report rolls them up.

A component's check keeps its last update time, a window of recent outcomes (ok/error with the
processing time, seconds) and, optionally, a probe run at report time (e.g. ``SELECT 1``). Status:

* ``unhealthy``: the probe failed, or the error rate over the window >= ``unhealthy_error_rate``,
  or nothing was recorded for longer than 2 x ``max_age_s``;
* ``degraded``: error rate >= ``degraded_error_rate``, or no update for longer than ``max_age_s``;
* ``healthy`` otherwise. An idle component with no ``max_age_s`` stays healthy.

The report's status is the worst component's. Error rates count only once ``min_samples`` outcomes
are in the window. Times: ``last_update`` ISO-8601 UTC, ``age_seconds``, processing times in ms.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
_RANK = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class HealthCheck:
    """One component's check. ``clock`` returns wall time in seconds (injectable for tests)."""

    name: str
    probe: Callable[[], None] | None = None
    max_age_s: float | None = None
    degraded_error_rate: float = 0.1
    unhealthy_error_rate: float = 0.5
    window: int = 100
    min_samples: int = 5
    clock: Callable[[], float] = time.time
    _samples: deque = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    last_update: float | None = field(init=False, default=None)
    last_error: str | None = field(init=False, default=None)
    total: int = field(init=False, default=0)
    errors: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not 0 <= self.degraded_error_rate <= self.unhealthy_error_rate <= 1:
            raise ValueError(f"{self.name}: need 0 <= degraded_error_rate <= unhealthy_error_rate <= 1")
        self._samples = deque(maxlen=self.window)

    def record(self, ok: bool, seconds: float = 0.0, error: str | None = None) -> None:
        """One outcome: ``ok``, its processing time in seconds, and an error text when not ok."""
        with self._lock:
            self._samples.append((bool(ok), float(seconds)))
            self.last_update = self.clock()
            self.total += 1
            if not ok:
                self.errors += 1
                self.last_error = error

    def touch(self) -> None:
        """An update with nothing to measure (a heartbeat)."""
        with self._lock:
            self.last_update = self.clock()

    def snapshot(self) -> dict[str, Any]:
        """``{"status", "last_update", "age_seconds", "error_rate", "samples", "processing_ms": {"mean",
        "p95", "max"}, "total", "errors", "last_error"}``; runs the probe first when there is one."""
        probe_error = None
        if self.probe is not None:
            t0 = time.perf_counter()
            try:
                self.probe()
                self.record(True, time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - a failing probe is the finding, not an error here
                probe_error = f"{type(exc).__name__}: {exc}"
                self.record(False, time.perf_counter() - t0, probe_error)
        with self._lock:
            samples = list(self._samples)
            last = self.last_update
            last_error, total, errors = self.last_error, self.total, self.errors
        now = self.clock()
        age = None if last is None else max(0.0, now - last)
        n = len(samples)
        rate = sum(1 for ok, _ in samples if not ok) / n if n else 0.0
        times = sorted(s * 1000.0 for _, s in samples)
        status = HEALTHY
        counted = n >= self.min_samples
        if counted and rate >= self.degraded_error_rate:
            status = DEGRADED
        if self.max_age_s is not None and (age is None or age > self.max_age_s):
            status = DEGRADED
        if probe_error is not None or (counted and rate >= self.unhealthy_error_rate) or (
                self.max_age_s is not None and age is not None and age > 2 * self.max_age_s):
            status = UNHEALTHY
        return {
            "status": status,
            "last_update": _iso(last),
            "age_seconds": age,
            "error_rate": rate,
            "samples": n,
            "processing_ms": {"mean": sum(times) / n if n else None,
                              "p95": times[min(n - 1, int(0.95 * n))] if n else None,
                              "max": times[-1] if n else None},
            "total": total,
            "errors": errors,
            "last_error": probe_error or last_error,
        }


class HealthRegistry:
    """Registered checks by component name; :meth:`report` rolls them up."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._checks: dict[str, HealthCheck] = {}

    def register(self, name: str, **kwargs: Any) -> HealthCheck:
        """Register component ``name`` (keywords as :class:`HealthCheck`) and return its check.

        Raises:
            ValueError: ``name`` is registered already.
        """
        if name in self._checks:
            raise ValueError(f"health check {name!r} is registered already")
        check = HealthCheck(name, clock=kwargs.pop("clock", self.clock), **kwargs)
        self._checks[name] = check
        return check

    def get(self, name: str) -> HealthCheck:
        return self._checks[name]

    def report(self) -> dict[str, Any]:
        """``{"status": worst status, "checked_at": ISO time, "components": {name: snapshot}}``."""
        components = {name: c.snapshot() for name, c in sorted(self._checks.items())}
        worst = max((c["status"] for c in components.values()), key=_RANK.__getitem__, default=HEALTHY)
        return {"status": worst, "checked_at": _iso(self.clock()), "components": components}
