"""The exception tree: each branch says what to do next.

::

    BasiskitError                      .code (see codes.py), .field, .policy, .to_dict()
    ├── StopRun                        stop the run (or reject the request) and report it
    │   ├── InvalidInput               the request is wrong: fix the named field and resubmit (HTTP 4xx)
    │   │   ├── BacktestInputError     RUN-001   capital, dates, flows      (engine/backtest.py)
    │   │   ├── ConfigError            CONFIG-001 unknown key, bad value    (config/loader.py)
    │   │   │   └── UnknownModeError   STRAT-003                            (strategies/registry.py)
    │   │   ├── DataCoverageError      DATA-002  period not covered (also a DataError; runs/coverage.py)
    │   │   └── SweepInputError        SWEEP-001 a bad --param, objective, sampler, walk-forward spec
    │   ├── SweepNotFound              SWEEP-003 no sweep with that id
    │   ├── SweepConflict              SWEEP-004 the same sweep runs in another live process
    │   ├── ExecutorUnavailable        SWEEP-002 the process pool or Ray cluster cannot run trials
    │   ├── DataError                  DATA-003  missing/invalid data       (data/errors.py)
    │   │   ├── MalformedHeader        DATA-005  CSV header line malformed  (data/errors.py)
    │   │   └── ImplausibleValue       DATA-006..012 a value check failed (data/checks.py)
    │   ├── AccountingError            RUN-002   attribution != equity change (engine/backtest.py)
    │   ├── RunNotFound                RUN-004
    │   ├── RunConflict                RUN-005 / RUN-006 (not finished, still running)
    │   ├── RunInterrupted             RUN-003   the process is stopping (shutdown, SIGINT, SIGTERM)
    │   ├── RunCancelled               RUN-010   stopped on request (DELETE of an active run)
    │   ├── ResultsIncomplete          RUN-011   a results folder without its completion marker (runs/folder.py)
    │   ├── PathUnusable               RUN-012   --out / data dir is a file, inside a file or read-only
    │   ├── UnsupportedDatabase        STORE-003 a database URL that is not SQLite or PostgreSQL
    │   ├── ApiTokenUnusable           API-008   BASISKIT_API_TOKEN empty or blank (api/settings.py)
    │   ├── RequestTooLarge            API-007   request body above the limit (api/limits.py)
    │   ├── RunFilesMissing            RUN-008   a results file a report needs (reports/rundata.py)
    │   ├── PngExportError             RUN-009   no browser for the PNG export (reports/png.py)
    │   └── InternalError              RUN-007 / API-005
    ├── SkipDecision                   skip this decision/order; the next step decides again
    │   ├── DecisionFailed             STRAT-001
    │   ├── OrderGenerationFailed      STRAT-002
    │   ├── OrderRejected              VENUE-002 / EXEC-001
    │   ├── IllegalTransition          EXEC-004  a change the order state table refuses (domain/order_state.py)
    │   ├── DuplicateOrderId           EXEC-005  a client order id reused for another order (engine/order_registry.py)
    │   └── UnknownOrder               EXEC-007  a cancel of a client order id the run does not know (engine/execution.py)
    └── RetryWithBackoff               transient: retry with exponential backoff, then stop
        ├── VenueUnavailable           VENUE-001
        ├── FeedUnavailable            DATA-004
        ├── StoreUnavailable           STORE-001
        └── QueueFull                  API-006   the run queue is full: HTTP 429 + Retry-After (runs/background.py)

Every class carries a default ``code``; an instance may carry another (``code=`` keyword) and the
request ``field`` it is about (``field=`` keyword, e.g. ``"capital"`` or ``"config.hedge_allocation"``).
Constructors otherwise behave like ``Exception`` (positional message arguments).
"""

from __future__ import annotations

from basiskit.errors.codes import ErrorCode, Policy, lookup


class BasiskitError(Exception):
    """Base of every error the project raises on purpose.

    Attributes:
        code: registry code (``"RUN-001"``); :attr:`error` is its registry entry.
        field: dotted name of the request field at fault, or None.
        http_status: the API status to answer with; None = the registry's.
    """

    code: str = "API-005"
    field: str | None = None
    details: list[dict[str, str]] | None = None  # every field error, when there are several
    http_status: int | None = None

    def __init__(self, *args: object, code: str | None = None, field: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field

    @property
    def error(self) -> ErrorCode:
        return lookup(self.code)

    @property
    def policy(self) -> Policy:
        return self.error.policy

    @property
    def status(self) -> int:
        return self.http_status or self.error.http_status

    def to_dict(self) -> dict[str, object]:
        """``{"code", "message", "field", "details", "severity", "resolution"}`` (the API's error body)."""
        e = self.error
        return {"code": self.code, "message": str(self) or e.message, "field": self.field, "details": self.details,
                "severity": e.severity.value, "resolution": e.resolution}


class StopRun(BasiskitError):
    """Stop the run (or reject the request); a person must act on the message."""

    code = "RUN-007"


class InvalidInput(StopRun):
    """The request is wrong; nothing was started or written. Fix ``field`` and resubmit."""

    code = "RUN-001"


class RunNotFound(StopRun):
    code = "RUN-004"


class RunConflict(StopRun):
    """The run is not in a state that allows this (RUN-005 not finished, RUN-006 still running)."""

    code = "RUN-005"


class RunInterrupted(StopRun):
    """The process is shutting down; the run is recorded as ``interrupted``."""

    code = "RUN-003"


class RunCancelled(StopRun):
    """The run was stopped on request; it is recorded as ``cancelled``."""

    code = "RUN-010"


class ResultsIncomplete(StopRun):
    """A results folder lacks its completion marker (``run.json``), or the marker does not match the
    files: the run did not finish writing it (killed, failed, still running)."""

    code = "RUN-011"


class PathUnusable(StopRun):
    """A folder a run must write to cannot be used (a file, a path inside a file, not writable);
    ``field`` names the option (``out``, ``data_dir``, ``results_dir``)."""

    code = "RUN-012"


class UnsupportedDatabase(StopRun):
    """The database URL names a backend or driver other than SQLite or PostgreSQL (psycopg)."""

    code = "STORE-003"


class RunFilesMissing(StopRun):
    """A run's results folder lacks a file (or it cannot be parsed); the message names it."""
    code = "RUN-008"


class SweepInputError(InvalidInput, ValueError):
    """A sweep request is wrong (``field`` names the option, e.g. ``param.target_ltv``, ``objective``);
    nothing was run or recorded."""

    code = "SWEEP-001"


class SweepNotFound(StopRun):
    code = "SWEEP-003"


class SweepConflict(StopRun):
    """The same sweep (same study) is being run by another live process."""

    code = "SWEEP-004"


class ExecutorUnavailable(StopRun):
    """The trials' executor (process pool, Ray) could not start or failed; finished trials are kept."""

    code = "SWEEP-002"


class InternalError(StopRun):
    code = "RUN-007"


class SkipDecision(BasiskitError):
    """Skip this decision (or order) and go on with the next clock step."""

    code = "STRAT-001"


class DecisionFailed(SkipDecision):
    code = "STRAT-001"


class OrderGenerationFailed(SkipDecision):
    code = "STRAT-002"


class OrderRejected(SkipDecision):
    code = "VENUE-002"


class IllegalTransition(SkipDecision):
    """An order change the state table refuses (a status change not in ``TRANSITIONS``, a fill beyond
    the remaining quantity); the order keeps its state. See :mod:`basiskit.domain.order_state`."""

    code = "EXEC-004"


class DuplicateOrderId(SkipDecision):
    """A client order id already names another order of the run; nothing was submitted."""

    code = "EXEC-005"


class UnknownOrder(SkipDecision):
    """No order of the run has this client order id (a cancel of it); nothing was cancelled."""

    code = "EXEC-007"


class RetryWithBackoff(BasiskitError):
    """Transient: retry with exponential backoff (see :func:`basiskit.errors.retry.with_backoff`),
    then stop with the same code."""

    code = "STORE-001"


class VenueUnavailable(RetryWithBackoff):
    code = "VENUE-001"


class FeedUnavailable(RetryWithBackoff):
    code = "DATA-004"


class StoreUnavailable(RetryWithBackoff):
    code = "STORE-001"
