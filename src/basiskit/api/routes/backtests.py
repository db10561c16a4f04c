"""``/api/v1/backtests``: submit (runs in the background; 429 when the queue is full), list, status,
results, cancel (DELETE of a queued/running run) and delete (DELETE of an ended run)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from basiskit import service
from basiskit.api.context import AppContext, ctx
from basiskit.api.errors import PathScrubber, responses, scrubber
from basiskit.api.routes.common import LIMIT_ROWS, LIMIT_RUNS, NAME, OFFSET, RUN_ID_PATH, clock_time, to_request
from basiskit.api.schemas import (BacktestIn, EquityCurveOut, EquityPage, EventPage, RunList, RunOut, Submitted,
                                  TradePage)
from basiskit.persistence.records import Page, RunRecord, RunStatus

router = APIRouter(prefix="/api/v1", tags=["backtests"])


def links(run_id: str) -> dict[str, str]:
    base = f"/api/v1/backtests/{run_id}"
    return {"self": base, "summary": f"{base}/summary", "equity": f"{base}/equity", "trades": f"{base}/trades",
            "events": f"{base}/events", "equity_curve": f"{base}/equity/curve", "report": f"{base}/report"}


def timed_page(page: Page, limit: int, offset: int) -> dict[str, Any]:
    """A page of stored rows (dataclasses with a ``timestamp`` in ns) as the API returns it, each row
    with its clock time added."""
    items = [{**asdict(x), **clock_time(x.timestamp)} for x in page.items]
    return {"items": items, "total": page.total, "limit": limit, "offset": offset}


def run_out(r: RunRecord, metrics: dict[str, Any] | None = None, scrub: PathScrubber | None = None) -> dict[str, Any]:
    total = r.progress_total
    error = r.error
    if error and scrub is not None:  # stored error bodies carry the raiser's message: no server paths
        error = {**error, "message": scrub(error.get("message"))}
    return {"id": r.id, "kind": r.kind, "mode": r.mode, "status": r.status, "origin": r.origin,
            "created_at": r.created_at, "started_at": r.started_at, "finished_at": r.finished_at,
            "duration_seconds": r.duration_seconds,
            "progress": {"done": r.progress_done, "total": total,
                         "fraction": (r.progress_done / total) if total else None},
            "request": r.request, "error": error, "out_dir": r.out_dir, "links": links(r.id), "metrics": metrics,
            "cancel_requested_at": r.cancel_requested_at}


@router.post("/backtests", status_code=202, response_model=Submitted, responses=responses(400, 413, 422, 429),
             summary="Submit a backtest; it runs in the background (poll GET /api/v1/backtests/{id}); 429 with "
                     "Retry-After when the queue is full")
def submit(body: BacktestIn, response: Response, c: AppContext = Depends(ctx)) -> Submitted:
    rec = service.submit_backtest(to_request(body.mode, body), c.store, c.runner, c.catalog, c.settings.max_steps)
    response.headers["Location"] = links(rec.id)["self"]
    return Submitted(id=rec.id, status=rec.status, links=links(rec.id))


@router.get("/backtests", response_model=RunList, responses=responses(422), summary="List runs, newest first")
def list_backtests(request: Request, status: RunStatus | None = Query(None),
                   mode: str | None = Query(None, pattern=NAME), limit: int = LIMIT_RUNS, offset: int = OFFSET,
                   c: AppContext = Depends(ctx)) -> dict:
    page = service.list_runs(c.store, status, mode, limit, offset)
    metrics = service.runs_metrics(c.store, page.items)
    scrub = scrubber(request)
    return {"items": [run_out(r, metrics.get(r.id), scrub) for r in page.items], "total": page.total, "limit": limit,
            "offset": offset}


@router.get("/backtests/{run_id}", response_model=RunOut, responses=responses(404, 422),
            summary="Status, progress (steps done/total), timings, request and error of a run")
def get_backtest(request: Request, run_id: str = RUN_ID_PATH, c: AppContext = Depends(ctx)) -> dict:
    rec = service.get_run(c.store, run_id)
    return run_out(rec, service.runs_metrics(c.store, [rec]).get(rec.id), scrubber(request))


@router.get("/backtests/{run_id}/summary", response_model=dict[str, Any], responses=responses(404, 409, 422),
            summary="The run's summary.json (409 until the run has finished, or while its results folder lacks its "
                    "completion marker: RUN-011)")
def get_summary(run_id: str = RUN_ID_PATH, c: AppContext = Depends(ctx)) -> dict:
    return service.run_summary(c.store, run_id)


@router.get("/backtests/{run_id}/equity", response_model=EquityPage, responses=responses(404, 422),
            summary="Equity points (one per clock step)")
def get_equity(run_id: str = RUN_ID_PATH, limit: int = LIMIT_ROWS, offset: int = OFFSET,
               c: AppContext = Depends(ctx)) -> dict:
    return timed_page(service.run_equity(c.store, run_id, limit, offset), limit, offset)


@router.get("/backtests/{run_id}/equity/curve", response_model=EquityCurveOut, responses=responses(404, 409, 422),
            summary="A finished run's equity curve in share-class units, downsampled to at most `points` steps")
def get_equity_curve(run_id: str = RUN_ID_PATH,
                     points: int = Query(1000, ge=2, le=20_000, description="largest number of points returned"),
                     c: AppContext = Depends(ctx)) -> dict:
    curve = service.run_equity_curve(c.store, run_id, points)
    times = pd.to_datetime(pd.Series(curve["timestamp"], dtype="int64"), unit="ns", utc=True)
    return {**curve, "timestamp": times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()}


@router.get("/backtests/{run_id}/trades", response_model=TradePage, responses=responses(404, 422),
            summary="Trades (one per order: fills and failures)")
def get_trades(run_id: str = RUN_ID_PATH, limit: int = LIMIT_ROWS, offset: int = OFFSET,
               c: AppContext = Depends(ctx)) -> dict:
    return timed_page(service.run_trades(c.store, run_id, limit, offset), limit, offset)


@router.get("/backtests/{run_id}/events", response_model=EventPage, responses=responses(404, 422),
            summary="The run's event log, optionally one component or kind")
def get_events(run_id: str = RUN_ID_PATH, component: str | None = Query(None, pattern=NAME),
               kind: str | None = Query(None, pattern=NAME), limit: int = LIMIT_ROWS, offset: int = OFFSET,
               c: AppContext = Depends(ctx)) -> dict:
    return timed_page(service.run_events(c.store, run_id, component, kind, limit, offset), limit, offset)


@router.delete("/backtests/{run_id}", status_code=204, response_class=Response,
               responses={202: {"model": RunOut, "description": "the run was queued or running: it is cancelled "
                                "(a queued run at once; a running one stops at its next progress tick and ends "
                                "`cancelled`); the body is the run as it is now"},
                          204: {"description": "the ended run and its results folder are deleted"},
                          **responses(404, 422)},
               summary="Cancel a queued or running run (202), or delete an ended run with its results folder (204)")
def delete_backtest(request: Request, run_id: str = RUN_ID_PATH, c: AppContext = Depends(ctx)) -> Response:
    rec = service.delete_run(c.store, run_id, runner=c.runner)
    if rec is None:
        return Response(status_code=204)
    body = RunOut.model_validate(run_out(rec, None, scrubber(request))).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": links(rec.id)["self"]})
