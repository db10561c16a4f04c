"""Registry of error codes: one entry per failure a component can report.

A code is ``<COMPONENT>-<NNN>`` (``STRAT-003``). Each entry gives the component, a severity, a
one-line message, the resolution a person should apply, the recovery policy (what the run does
next, see :mod:`basiskit.errors.exceptions`) and the HTTP status the API answers with.

Components: ``STRAT`` strategies, ``DATA`` data catalog and feeds, ``VENUE`` venue adapters,
``EXEC`` execution manager, ``RISK`` risk monitor and gate, ``CONFIG`` configuration, ``RUN`` run
requests and run lifecycle, ``SWEEP`` parameter sweeps, ``STORE`` persistence, ``API`` the HTTP layer.

Raises:
    KeyError: :func:`lookup` of an unregistered code (the message lists the component's codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    INFO = "info"          # nothing to do
    WARNING = "warning"    # the run goes on; look at it when convenient
    ERROR = "error"        # this request/decision failed; the rest goes on
    CRITICAL = "critical"  # the run stopped; a person must look


class Policy(str, Enum):
    """What the code's raiser does next (the three branches of the exception tree)."""

    STOP = "stop"    # stop the run (or reject the request) and report
    SKIP = "skip"    # skip this decision/order, continue with the next step
    RETRY = "retry"  # retry with exponential backoff, then stop


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    component: str
    severity: Severity
    message: str
    resolution: str
    policy: Policy
    http_status: int = 500

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "component": self.component, "severity": self.severity.value,
                "message": self.message, "resolution": self.resolution, "policy": self.policy.value,
                "http_status": self.http_status}


S, P = Severity, Policy
_ENTRIES = [
    # strategies
    ErrorCode("STRAT-001", "strategy", S.ERROR, "strategy decision failed",
              "check the strategy's inputs at that step in the event log; the step is skipped", P.SKIP, 500),
    ErrorCode("STRAT-002", "strategy", S.ERROR, "order generation failed (an order could not be built)",
              "check the sizes and prices the strategy used; the decision is skipped", P.SKIP, 500),
    ErrorCode("STRAT-003", "strategy", S.ERROR, "unknown strategy mode",
              "use one of the modes listed by `basiskit modes` or GET /api/v1/strategies", P.STOP, 422),
    ErrorCode("STRAT-020", "strategy", S.ERROR, "a saved ML model cannot be used (missing, other format, "
              "corrupt, checksum or feature list mismatch)",
              "re-train and save the model (`basiskit ml-train`), or point to the right file", P.STOP, 422),
    ErrorCode("STRAT-021", "strategy", S.ERROR, "a walk-forward fold has too few training rows in its window",
              "start the run later (the data must reach train_days + embargo before each month) or lower "
              "train_days / min_train_samples", P.STOP, 422),
    # data
    ErrorCode("DATA-001", "data", S.CRITICAL, "data source missing or unreadable",
              "set BASISKIT_DATA_SOURCE to the raw data folder, then `basiskit data import`", P.STOP, 503),
    ErrorCode("DATA-002", "data", S.ERROR, "the data does not cover the requested period",
              "choose a period inside the datasets' ranges (GET /api/v1/strategies/{mode}/requirements) "
              "or give the venue weight 0", P.STOP, 422),
    ErrorCode("DATA-003", "data", S.CRITICAL, "data missing or invalid (catalog, source file or series)",
              "fix the dataset, file or line named in the message, then re-import", P.STOP, 500),
    ErrorCode("DATA-004", "data", S.WARNING, "live feed stale or unavailable",
              "retried with backoff; check the feed's connectivity if it persists", P.RETRY, 503),
    ErrorCode("DATA-005", "data", S.CRITICAL, "malformed CSV header (empty, not UTF-8, a stray carriage return "
              "or control character, a duplicated column name)",
              "fix the header line of the file named in the message, then re-import", P.STOP, 500),
    ErrorCode("DATA-006", "data", S.CRITICAL, "non-positive price in the source data",
              "fix the named line, or choose data_policy.non_positive_price: drop or drop_and_fill", P.STOP, 500),
    ErrorCode("DATA-007", "data", S.CRITICAL, "inconsistent OHLC candle (high below open/close, low above them, "
              "or high below low)",
              "fix the named line, or choose data_policy.ohlc_inconsistent: clip, drop or drop_and_fill", P.STOP, 500),
    ErrorCode("DATA-008", "data", S.CRITICAL, "price spike: a move beyond the stated bound that reverts, or that "
              "the same instrument on other venues does not make",
              "fix the named line, or choose data_policy.spike: drop or drop_and_fill", P.STOP, 500),
    ErrorCode("DATA-009", "data", S.CRITICAL, "funding rate beyond the venue's documented cap",
              "fix the named line (the cap and its source are in basiskit/configs/venues/<venue>.yaml), or "
              "choose data_policy.funding_cap: drop (funding is never invented)", P.STOP, 500),
    ErrorCode("DATA-010", "data", S.CRITICAL, "an index or exchange rate that must not decrease goes backwards",
              "fix the named line, or choose data_policy.index_decreasing: drop", P.STOP, 500),
    ErrorCode("DATA-011", "data", S.CRITICAL, "timestamp outside the date range stated in the file name",
              "fix the named line or the file name, or choose data_policy.timestamp_out_of_range: drop", P.STOP, 500),
    ErrorCode("DATA-012", "data", S.CRITICAL, "timestamp far from both of its neighbours in file order",
              "fix the named line, or choose data_policy.timestamp_outlier: drop", P.STOP, 500),
    # venues
    ErrorCode("VENUE-001", "venue", S.WARNING, "venue unreachable or timed out",
              "retried with backoff; check the venue's status page if it persists", P.RETRY, 503),
    ErrorCode("VENUE-002", "venue", S.ERROR, "venue rejected the request",
              "read the venue's reason in the event; the order is skipped", P.SKIP, 500),
    ErrorCode("VENUE-003", "venue", S.ERROR, "the venue does not offer this operation or instrument",
              "the order is rejected; check the venue names and instruments in the mode config and "
              "basiskit/configs/venues/", P.SKIP, 422),
    ErrorCode("VENUE-004", "venue", S.ERROR, "borrow would exceed the maximum LTV",
              "the order is skipped; borrow less or supply more collateral first", P.SKIP, 500),
    ErrorCode("VENUE-005", "venue", S.ERROR, "withdrawal would leave the health factor below 1",
              "the order is skipped; repay debt before withdrawing collateral", P.SKIP, 500),
    ErrorCode("VENUE-006", "venue", S.WARNING, "no traded price at this step (data gap): order deferred",
              "nothing changed; the strategy decides again when the venue's data resumes", P.SKIP, 500),
    # execution
    ErrorCode("EXEC-001", "execution", S.WARNING, "order failed (e.g. insufficient balance)",
              "the order is skipped; the strategy re-targets at its next decision", P.SKIP, 500),
    ErrorCode("EXEC-002", "execution", S.ERROR, "unknown venue account (an order or a transfer names an account "
              "the run does not have)",
              "use the accounts of the mode's requirements (e.g. binance.perp, bybit.spot, wallet); the order is "
              "skipped", P.SKIP, 500),
    ErrorCode("EXEC-003", "execution", S.ERROR, "flash loan misused (not repaid by the end of its atomic group, "
              "taken outside an atomic group, taken twice, or repaid without one open)",
              "borrow and repay the flash loan inside one atomic group; no leg of a failed group took effect",
              P.SKIP, 500),
    ErrorCode("EXEC-004", "execution", S.ERROR, "illegal order state change (a status change the order state "
              "table refuses, e.g. cancelling a filled order, or a fill beyond the order's quantity)",
              "the change is refused and the order keeps its state (table in domain/order_state.py); "
              "if a venue reported it, reconcile the order against the venue", P.SKIP, 500),
    ErrorCode("EXEC-005", "execution", S.ERROR, "client order id already used by a different order (or of the "
              "form <entry>-tp-<k> / <entry>-sl-<k>, kept for bracket legs)",
              "an id names one order for the whole run: resubmit the same order to get its state, "
              "or give the new order a new client_order_id", P.SKIP, 500),
    ErrorCode("EXEC-006", "execution", S.INFO, "order already submitted (the same client order id and order "
              "again): nothing sent, it is never filled twice",
              "the order keeps its state (ctx.order_status(id)); give a new order a new client_order_id", P.SKIP, 500),
    ErrorCode("EXEC-007", "execution", S.ERROR, "unknown client order id (a cancel of an order the run never "
              "submitted)", "cancel ids the strategy submitted or from ctx.open_orders(); nothing was cancelled",
              P.SKIP, 500),
    ErrorCode("EXEC-008", "execution", S.ERROR, "resting order or bracketed entry in an atomic group (a "
              "transaction has no resting state)",
              "send limit/stop/take-profit orders and entries with take_profit/stop_loss as sequential orders; "
              "the group failed and none of its legs took effect", P.SKIP, 500),
    ErrorCode("EXEC-009", "execution", S.INFO, "order skipped: its amount rounded to the venue's lot step is "
              "below the venue's minimum amount or minimum notional (domain/lots.py)",
              "nothing was sent (an order_skipped event says why); the strategy should not ask for orders below "
              "ctx.lot(account, token).minimum(price)", P.SKIP, 500),
    # risk
    ErrorCode("RISK-001", "risk", S.WARNING, "risk override: orders that add exposure were dropped",
              "the book reduces risk first; check margin on the named accounts", P.SKIP, 500),
    ErrorCode("RISK-002", "risk", S.CRITICAL, "liquidation",
              "raise margin (perp_margin_fraction) or lower the margin_ratio_floor trigger distance", P.STOP, 500),
    ErrorCode("RISK-003", "risk", S.CRITICAL, "risk assessment failed",
              "a position could not be valued; check prices for the named account", P.STOP, 500),
    # configuration
    ErrorCode("CONFIG-001", "config", S.ERROR, "invalid configuration (unknown key or bad value)",
              "fix the key named in the message (see GET /api/v1/strategies/{mode}/config)", P.STOP, 422),
    # run requests and lifecycle
    ErrorCode("RUN-001", "run", S.ERROR, "invalid run request",
              "fix the field named in the message (dates YYYY-MM-DD, end after start, capital > 0)", P.STOP, 422),
    ErrorCode("RUN-002", "run", S.CRITICAL, "accounting error: attribution does not sum to the equity change",
              "a bug: report the run id with its config; the results are not trustworthy", P.STOP, 500),
    ErrorCode("RUN-003", "run", S.WARNING, "run interrupted (the process stopped while it ran)",
              "submit the run again", P.STOP, 409),
    ErrorCode("RUN-004", "run", S.INFO, "run not found", "list runs with GET /api/v1/backtests", P.STOP, 404),
    ErrorCode("RUN-005", "run", S.INFO, "run has no results yet (not finished)",
              "poll GET /api/v1/backtests/{id} until status is finished", P.STOP, 409),
    ErrorCode("RUN-006", "run", S.INFO, "run is still running and cannot be deleted",
              "wait until it ends, then delete it", P.STOP, 409),
    ErrorCode("RUN-007", "run", S.CRITICAL, "run failed with an unexpected error",
              "a bug: report the run id; the traceback is in the server log", P.STOP, 500),
    ErrorCode("RUN-008", "run", S.ERROR, "run results missing or unreadable (a file a report needs)",
              "the message names the file; run the backtest again to rewrite its results folder", P.STOP, 404),
    ErrorCode("RUN-009", "run", S.ERROR, "PNG export failed (no Chrome/Chromium for the image engine)",
              "install Chromium (`apt-get install -y chromium`) or set BROWSER_PATH to a Chrome binary", P.STOP, 500),
    ErrorCode("RUN-010", "run", S.INFO, "run cancelled on request",
              "submit the run again if it is still wanted", P.STOP, 409),
    ErrorCode("RUN-011", "run", S.ERROR, "results folder incomplete (no completion marker run.json, or it does not "
              "match the files)", "the run did not finish writing it (killed, failed or still running): run the "
              "backtest again", P.STOP, 409),
    ErrorCode("RUN-012", "run", S.ERROR, "output or data folder unusable (a file, inside a file, or not writable)",
              "pass a folder you can write to (--out, --data-dir / BASISKIT_HOME)", P.STOP, 500),
    ErrorCode("RUN-013", "run", S.ERROR, "a withdrawal cannot be paid (above the equity at its date, or unpaid at the end)",
              "lower or move the withdrawal, or set allow_partial_withdrawals=true to pay what can be paid", P.STOP, 422),
    # live and paper runs (engine/live)
    ErrorCode("LIVE-001", "live", S.CRITICAL, "circuit breaker: the session lost emergency_stop_loss_pct of its "
              "starting equity (plus net deposits)",
              "look at the positions on the venues before restarting; raise live.emergency_stop_loss_pct only "
              "deliberately", P.STOP, 500),
    ErrorCode("LIVE-002", "live", S.WARNING, "market feed silent longer than its limit: new entries paused "
              "(exits still allowed)", "resumes by itself when the feed is fresh; check the venue's stream if "
              "it persists", P.SKIP, 503),
    ErrorCode("LIVE-003", "live", S.CRITICAL, "recovery: the venue's account and the stored session disagree in a "
              "way the runner cannot settle by itself",
              "compare the venue's orders and positions with the events named in the message", P.STOP, 500),
    ErrorCode("LIVE-004", "live", S.ERROR, "invalid live request (execution mode, data mode, credentials "
              "missing for a live run, a live.* key)", "fix the option or environment variable named in "
              "the message", P.STOP, 422),
    ErrorCode("LIVE-005", "live", S.ERROR, "no live session with that id (or it is not running)",
              "list sessions with `basiskit live status` or GET /api/v1/live", P.STOP, 404),
    # parameter sweeps
    ErrorCode("SWEEP-001", "sweep", S.ERROR, "invalid sweep request (a --param range or list, the objective, the "
              "direction, the sampler, the trial count, the workers or the walk-forward windows)",
              "fix the option named in the message (basiskit sweep --help); nothing was run", P.STOP, 422),
    ErrorCode("SWEEP-002", "sweep", S.CRITICAL, "sweep executor unavailable (the process pool or the Ray cluster "
              "could not start or lost its workers)",
              "check the --ray address (ray status) or run with --workers on the local pool; rerun the same "
              "command: finished trials are kept", P.STOP, 503),
    ErrorCode("SWEEP-003", "sweep", S.INFO, "sweep not found", "list sweeps with GET /api/v1/sweeps", P.STOP, 404),
    ErrorCode("SWEEP-004", "sweep", S.WARNING, "the same sweep is running in another live process",
              "wait for it to end (its progress: GET /api/v1/sweeps/{id}), or stop that process first", P.STOP, 409),
    # persistence
    ErrorCode("STORE-001", "store", S.CRITICAL, "database unavailable",
              "check BASISKIT_DATABASE_URL and that the server accepts connections; retried with backoff",
              P.RETRY, 503),
    ErrorCode("STORE-002", "store", S.CRITICAL, "database migration failed",
              "the schema could not be upgraded; restore from backup or fix the migration", P.STOP, 500),
    ErrorCode("STORE-003", "store", S.CRITICAL, "unsupported database URL",
              "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB in BASISKIT_DATABASE_URL", P.STOP, 500),
    # HTTP layer
    ErrorCode("API-001", "api", S.ERROR, "request does not match the schema",
              "fix the field named in the message (see /openapi.json)", P.STOP, 422),
    ErrorCode("API-002", "api", S.ERROR, "missing or wrong API token",
              "send `Authorization: Bearer <BASISKIT_API_TOKEN>`", P.STOP, 401),
    ErrorCode("API-003", "api", S.INFO, "no such resource", "check the path (see /openapi.json)", P.STOP, 404),
    ErrorCode("API-004", "api", S.INFO, "method not allowed", "check the method (see /openapi.json)", P.STOP, 405),
    ErrorCode("API-005", "api", S.CRITICAL, "internal server error",
              "a bug: report the request; the traceback is in the server log", P.STOP, 500),
    ErrorCode("API-006", "api", S.WARNING, "run queue full",
              "retry after the Retry-After seconds, or cancel queued runs (DELETE /api/v1/backtests/{id})", P.RETRY,
              429),
    ErrorCode("API-007", "api", S.ERROR, "request body too large",
              "send a smaller body (the limit is in the message)", P.STOP, 413),
    ErrorCode("API-008", "api", S.CRITICAL, "API token setting unusable (empty, whitespace, or surrounded by spaces)",
              "set BASISKIT_API_TOKEN to a non-blank secret without surrounding spaces, or unset it", P.STOP, 500),
]

REGISTRY: dict[str, ErrorCode] = {e.code: e for e in _ENTRIES}


def lookup(code: str) -> ErrorCode:
    """The registry entry of ``code``.

    Raises:
        KeyError: unknown code (message lists the codes of the same component prefix).
    """
    try:
        return REGISTRY[code]
    except KeyError:
        prefix = code.split("-")[0]
        same = [c for c in REGISTRY if c.startswith(prefix + "-")]
        raise KeyError(f"unknown error code {code!r}; {prefix} codes: {', '.join(same) or 'none'}") from None


def by_component() -> dict[str, list[ErrorCode]]:
    """Codes grouped by component, in registry order."""
    out: dict[str, list[ErrorCode]] = {}
    for e in _ENTRIES:
        out.setdefault(e.component, []).append(e)
    return out
