"""Plain records the run stores take and return (no SQLAlchemy objects leak out of a store).

Units as in :mod:`basiskit.persistence.models`: ``timestamp`` int ns UTC (clock time), wall times
timezone-aware UTC datetimes, money in the share-class currency (USDT), amounts in token units.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from basiskit.errors.exceptions import RunCancelled, RunInterrupted


class RunStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process stopped (signal, kill, crash, shutdown) before it ended
    CANCELLED = "cancelled"      # stopped on request (DELETE of an active run)


ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
ENDED = (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.CANCELLED)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def interrupted_error() -> dict[str, Any]:
    """The error body of a run whose process stopped while it was queued or running (RUN-003)."""
    return RunInterrupted("the process running this run stopped before it finished").to_dict()


def cancelled_error(detail: str = "cancelled before it started") -> dict[str, Any]:
    """The error body of a run stopped on request (RUN-010)."""
    return RunCancelled(detail).to_dict()


_JSON_KEYS = {True: "true", False: "false", None: "null"}  # how json writes these keys


def clean_json(obj: Any) -> Any:
    """``obj`` with NaN/inf floats replaced by None and keys as strings (PostgreSQL JSON rejects NaN;
    keys as ``json`` writes them: ``1`` -> ``"1"``, ``True`` -> ``"true"``, other non-strings ``str(key)``)."""
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {(k if isinstance(k, str) else _JSON_KEYS[k] if k is None or isinstance(k, bool) else str(k)):
                clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    return obj


def json_text(obj: Any) -> str:
    """``json.dumps(clean_json(obj))``, without copying ``obj`` when it needs no cleaning (nearly always:
    json itself refuses NaN/inf and keys it cannot write, and only then is ``obj`` cleaned)."""
    try:
        return json.dumps(obj, allow_nan=False)
    except (ValueError, TypeError):
        return json.dumps(clean_json(obj))


def finite_or_none(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else float(x)


@dataclass(frozen=True)
class NewRun:
    """A run to create. ``request``: the run request as JSON (mode, start, end, capital, overrides...)."""

    id: str
    mode: str
    request: dict[str, Any]
    origin: str = "api"  # cli | api
    kind: str = "backtest"
    status: RunStatus = RunStatus.QUEUED
    owner: str | None = None
    out_dir: str | None = None


@dataclass(frozen=True)
class RunRecord:
    id: str
    kind: str
    mode: str
    status: RunStatus
    origin: str
    request: dict[str, Any]
    config: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    progress_done: int
    progress_total: int | None
    error: dict[str, Any] | None
    out_dir: str | None
    owner: str | None
    cancel_requested_at: datetime | None = None  # set by request_cancel while it runs


@dataclass(frozen=True, slots=True)
class EquityPoint:
    step: int
    timestamp: int
    equity: float | None
    net_deposits: float | None
    net_delta: float | None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    seq: int
    timestamp: int
    venue: str
    operation: str
    token: str
    side: str | None
    amount: float
    to_venue: str | None = None
    atomic_group_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TradeRecord:
    seq: int
    timestamp: int
    venue: str
    operation: str
    instrument: str
    side: str | None
    amount: float
    price: float | None
    fee: float | None
    fee_currency: str
    gas: float | None
    status: str
    error_code: str | None = None
    to_venue: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    timestamp: int
    component: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    # ``data`` as JSON text when the writer already has it (the event log's line): stored as it is
    data_json: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PositionRecord:
    venue: str
    instrument: str
    size: float


@dataclass(frozen=True, slots=True)
class TransferRecord:
    strategy_id: str
    timestamp: int
    kind: str  # deposit | withdrawal | transfer
    token: str
    amount: float
    from_venue: str | None = None
    to_venue: str | None = None
    status: str = "filled"
    run_id: str | None = None


@dataclass
class RunResults:
    """Everything a finished run stores besides its summary."""

    equity: list[EquityPoint] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    transfers: list[TransferRecord] = field(default_factory=list)
    # the strategy's snapshot() at the end of the run (JSON), stored as strategy ``run_id``'s state
    strategy_state: dict[str, Any] | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing: ``items`` from ``offset``, ``total`` rows in all."""

    items: list
    total: int
    limit: int
    offset: int


_ORDER_FIELDS = ("seq", "timestamp", "venue", "operation", "token", "side", "amount", "to_venue", "atomic_group_id",
                 "reason")
_TRADE_FIELDS = ("seq", "timestamp", "venue", "operation", "instrument", "side", "amount", "price", "fee",
                 "fee_currency", "gas", "status", "error_code", "to_venue", "reason")
_TRANSFER_FIELDS = ("strategy_id", "timestamp", "kind", "token", "amount", "from_venue", "to_venue", "status", "run_id")


def equity_rows(run_id: str, points) -> Iterable[tuple]:
    """``(run_id, step, timestamp, equity, net_deposits, net_delta)`` per equity point; streamed from
    the run's arrays when ``points`` can (``rows(run_id)``: a minute-step run has ~10^6 of them)."""
    rows = getattr(points, "rows", None)
    if rows is not None:
        return rows(run_id)
    return [(run_id, p.step, p.timestamp, p.equity, p.net_deposits, p.net_delta) for p in points]


def result_rows(run_id: str, results: RunResults) -> list[tuple[str, tuple[str, ...], Iterable[tuple]]]:
    """A finished run's rows as ``(table, columns, rows)``, rows as plain tuples ready for a driver's
    ``executemany`` (event ``data`` as JSON text, see :func:`json_text`), in insert order; the equity
    points' rows may be an iterator (:func:`equity_rows`)."""
    return [
        ("equity_points", ("run_id", "step", "timestamp", "equity", "net_deposits", "net_delta"),
         equity_rows(run_id, results.equity)),
        ("orders", ("run_id", *_ORDER_FIELDS),
         [(run_id, o.seq, o.timestamp, o.venue, o.operation, o.token, o.side, o.amount, o.to_venue, o.atomic_group_id,
           o.reason) for o in results.orders]),
        ("trades", ("run_id", *_TRADE_FIELDS),
         [(run_id, t.seq, t.timestamp, t.venue, t.operation, t.instrument, t.side, t.amount, t.price, t.fee,
           t.fee_currency, t.gas, t.status, t.error_code, t.to_venue, t.reason) for t in results.trades]),
        ("events", ("run_id", "seq", "timestamp", "component", "kind", "data"),
         [(run_id, e.seq, e.timestamp, e.component, e.kind, e.data_json or json_text(e.data))
          for e in results.events]),
        ("fund_transfers", _TRANSFER_FIELDS,
         [(t.strategy_id, t.timestamp, t.kind, t.token, t.amount, t.from_venue, t.to_venue, t.status, t.run_id)
          for t in results.transfers]),
    ]
