"""``/health`` and ``/api/v1/errors``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from basiskit.api.context import AppContext, ctx
from basiskit.api.errors import scrubber
from basiskit.api.schemas import ErrorCodeList, HealthOut
from basiskit.errors.codes import REGISTRY

health_router = APIRouter(tags=["system"])
errors_router = APIRouter(prefix="/api/v1", tags=["system"])


@health_router.get("/health", response_model=HealthOut,
                   responses={503: {"model": HealthOut, "description": "unhealthy"}},
                   summary="healthy / degraded / unhealthy, with each component's last update, error rate and "
                           "processing time (503 when unhealthy)")
def health(request: Request, c: AppContext = Depends(ctx)) -> JSONResponse:
    report = c.health.report()
    scrub = scrubber(request)  # /health is served without a token: no server paths in its errors
    for comp in report.get("components", {}).values():
        if comp.get("last_error"):
            comp["last_error"] = scrub(comp["last_error"])
    return JSONResponse(HealthOut.model_validate(report).model_dump(mode="json"),
                        status_code=503 if report["status"] == "unhealthy" else 200)


@errors_router.get("/errors", response_model=ErrorCodeList, summary="The error-code registry")
def error_codes() -> dict:
    return {"items": [e.as_dict() for e in REGISTRY.values()]}
