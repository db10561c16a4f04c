"""``/api/v1/funding``: ranked funding opportunities across venues and instruments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query

from basiskit import funding_service
from basiskit.api.context import AppContext, ctx
from basiskit.api.errors import responses
from basiskit.api.routes.common import NAME

router = APIRouter(prefix="/api/v1", tags=["funding"])


@router.get("/funding/opportunities", responses=responses(422),
            summary="Funding opportunities ranked by net APR (spread less four taker legs and transfers)")
def opportunities(at: str | None = Query(None, description="ISO time (UTC); default: the last settlement", max_length=40),
                  top: int = Query(20, ge=1, le=5000, description="how many to return"),
                  cross_only: bool = Query(False, description="only the same perpetual on two venues"),
                  hold_days: float = Query(30.0, ge=0.01, le=3650, description="holding period, days"),
                  notional: float = Query(100_000.0, ge=1.0, le=1e10, description="notional per leg, USDT"),
                  c: AppContext = Depends(ctx)) -> dict[str, Any]:
    kinds = ("cross_venue",) if cross_only else ("cross_venue", "perp_spot")
    return funding_service.scan(c.catalog, at, top, kinds, notional, hold_days)


@router.get("/funding/instruments", summary="Every funding series: venue, instrument, settlements, current interval")
def instruments(venue: str | None = Query(None, pattern=r"^[a-z]{1,20}$", description="only this venue's series"),
                c: AppContext = Depends(ctx)) -> dict[str, Any]:
    return {"items": [i for i in funding_service.instruments(c.catalog) if venue is None or i["venue"] == venue]}


@router.get("/funding/rates/{venue}/{instrument}", responses=responses(404, 422),
            summary="Settled funding of one series with its settlement schedule")
def rates(venue: str = Path(pattern=NAME, description="binance, bybit or okx"),
          instrument: str = Path(pattern=NAME, description="e.g. BTCUSDT or BTC-USDT-SWAP"),
          start: str | None = Query(None, max_length=40, description="ISO time (UTC), exclusive"),
          end: str | None = Query(None, max_length=40, description="ISO time (UTC), inclusive"),
          limit: int = Query(10_000, ge=1, le=100_000, description="the last this many settlements"),
          c: AppContext = Depends(ctx)) -> dict[str, Any]:
    return funding_service.rates(c.catalog, venue, instrument, start, end, limit)
