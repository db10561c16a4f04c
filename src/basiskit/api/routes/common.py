"""Shared path/query parameters and conversions of the routers."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Iterator

from fastapi import Path, Query

from basiskit.api.schemas import BacktestIn, ValidateIn
from basiskit.engine.backtest import BacktestRequest
from basiskit.domain.time import ns_to_iso
from basiskit.strategies.registry import UnknownModeError

NAME = r"^[A-Za-z0-9_.:-]{1,80}$"

MODE_PATH = Path(description="strategy mode (GET /api/v1/strategies)", pattern=NAME)
RUN_ID_PATH = Path(description="run id (as returned by POST /api/v1/backtests)", pattern=NAME)
LIMIT_RUNS = Query(50, ge=1, le=500, description="page size")
LIMIT_ROWS = Query(1000, ge=1, le=100_000, description="page size")
OFFSET = Query(0, ge=0, le=1_000_000_000, description="rows to skip")


@contextmanager
def mode_in_path() -> Iterator[None]:
    """An unknown mode named in the path is a missing resource (404), not a bad body (422)."""
    try:
        yield
    except UnknownModeError as exc:
        exc.http_status = 404
        raise


def iso_date(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def to_request(mode: str, body: BacktestIn | ValidateIn) -> BacktestRequest:
    """The engine's request for ``body`` (dates as ``YYYY-MM-DD``, as the CLI passes them)."""
    return BacktestRequest(mode=mode, start=iso_date(body.start), end=iso_date(body.end), capital=float(body.capital),
                           share_class=body.share_class, overrides=dict(body.config),
                           deposits=tuple((f.date.isoformat(), float(f.amount)) for f in body.deposits),
                           withdrawals=tuple((f.date.isoformat(), float(f.amount)) for f in body.withdrawals))


def clock_time(ns: int) -> dict[str, object]:
    return {"timestamp": ns_to_iso(ns), "clock_ns": int(ns)}
