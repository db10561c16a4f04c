"""The web dashboard and run reports.

``page_router(assets)``: ``GET /`` (the dashboard page) and ``GET /static/{name}`` (its script,
stylesheet and plotly.js). They hold no data, so they are served without the API token, and they
are left out of the OpenAPI schema. A name that is not a shipped file is a 404 (API-003).

``report_router``: ``GET /api/v1/backtests/{run_id}/report``, a finished run's self-contained
``report.html`` (written on first request when the run's folder lacks it). Errors: 404 RUN-004
(unknown run), 404 RUN-008 (its results files are gone), 409 RUN-005 (not finished), 409 RUN-011
(its results folder has no completion marker).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException

from basiskit import service
from basiskit.api.assets import Asset, Assets
from basiskit.api.context import AppContext, ctx
from basiskit.api.errors import responses
from basiskit.api.routes.common import RUN_ID_PATH

report_router = APIRouter(prefix="/api/v1", tags=["backtests"])


def _serve(asset: Asset, request: Request) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def page_router(assets: Assets) -> APIRouter:
    """The dashboard's routes, serving files from ``assets``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def index(request: Request) -> Response:
        return _serve(assets.get("index.html"), request)

    @router.get("/static/{name}")
    def static(name: str, request: Request) -> Response:
        asset = assets.get(name)
        if asset is None:
            raise HTTPException(404, f"no static file {name!r}")
        return _serve(asset, request)

    return router


@report_router.get("/backtests/{run_id}/report", response_class=FileResponse,
                   responses={200: {"content": {"text/html": {}}, "description": "the report page (self-contained)"},
                              **responses(404, 409, 422)},
                   summary="A finished run's HTML report: equity, drawdown, attribution and risk charts, no external "
                           "requests")
def get_report(run_id: str = RUN_ID_PATH, c: AppContext = Depends(ctx)) -> FileResponse:
    path = service.run_report(c.store, run_id, c.catalog)
    return FileResponse(path, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
