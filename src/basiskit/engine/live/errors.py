"""Errors of live and paper sessions (codes LIVE-00x, ``errors.codes``)."""

from __future__ import annotations

from basiskit.errors.exceptions import InvalidInput, StopRun


class CircuitBreakerTripped(StopRun):
    """LIVE-001: the session's loss reached ``emergency_stop_loss_pct``; the runner stops."""

    code = "LIVE-001"


class RecoveryConflict(StopRun):
    """LIVE-003: the venue and the stored session disagree in a way recovery cannot settle."""

    code = "LIVE-003"


class LiveInputError(InvalidInput, ValueError):
    """LIVE-004: a bad live request (mode, data mode, credentials, a ``live.*`` key)."""

    code = "LIVE-004"


class LiveSessionNotFound(StopRun):
    """LIVE-005: no session with that id, or it is not running."""

    code = "LIVE-005"
