"""Health checks: statuses from error rate, staleness and probes."""

from __future__ import annotations

import pytest

from basiskit.health import HealthRegistry


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def test_error_rate_moves_a_component_from_healthy_to_degraded_to_unhealthy():
    clock = Clock()
    reg = HealthRegistry(clock)
    c = reg.register("venue", degraded_error_rate=0.1, unhealthy_error_rate=0.5, min_samples=5, window=10)
    for _ in range(9):
        c.record(True, 0.010)
    c.record(False, 0.030, "timeout")
    snap = c.snapshot()
    assert snap["status"] == "degraded" and snap["error_rate"] == pytest.approx(0.1)
    assert snap["processing_ms"]["max"] == pytest.approx(30.0) and snap["last_error"] == "timeout"
    for _ in range(5):
        c.record(False, 0.020, "timeout")
    assert c.snapshot()["status"] == "unhealthy"  # window of 10: 6 errors
    for _ in range(10):
        c.record(True, 0.001)
    assert c.snapshot()["status"] == "healthy" and c.snapshot()["errors"] == 6


def test_too_few_samples_do_not_count():
    c = HealthRegistry(Clock()).register("x", min_samples=5)
    c.record(False, 0.1)
    assert c.snapshot()["status"] == "healthy" and c.snapshot()["error_rate"] == 1.0


def test_staleness_with_max_age():
    clock = Clock()
    c = HealthRegistry(clock).register("feed", max_age_s=60)
    assert c.snapshot()["status"] == "degraded"  # never updated
    c.touch()
    clock.t += 30
    snap = c.snapshot()
    assert snap["status"] == "healthy" and snap["age_seconds"] == pytest.approx(30)
    clock.t += 40
    assert c.snapshot()["status"] == "degraded"
    clock.t += 60
    assert c.snapshot()["status"] == "unhealthy"


def test_probe_failure_is_unhealthy_and_the_report_takes_the_worst():
    clock = Clock()
    reg = HealthRegistry(clock)
    reg.register("ok")
    state = {"up": True}

    def probe():
        if not state["up"]:
            raise ConnectionError("refused")

    reg.register("database", probe=probe)
    rep = reg.report()
    assert rep["status"] == "healthy" and set(rep["components"]) == {"ok", "database"}
    assert rep["components"]["database"]["samples"] == 1
    state["up"] = False
    rep = reg.report()
    assert rep["status"] == "unhealthy" and "refused" in rep["components"]["database"]["last_error"]


def test_registration_rules():
    reg = HealthRegistry()
    reg.register("a")
    with pytest.raises(ValueError, match="registered already"):
        reg.register("a")
    with pytest.raises(ValueError):
        reg.register("b", degraded_error_rate=0.6, unhealthy_error_rate=0.5)
