"""Every error leaves the API as JSON ``{"error": {"code", "message", "field", "details", "severity",
"resolution"}}`` with the registry code's HTTP status (see ``basiskit.errors.codes``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from basiskit.api.schemas import ErrorResponse
from basiskit.errors.codes import lookup
from basiskit.errors.exceptions import BasiskitError

log = logging.getLogger(__name__)

_HTTP_CODES = {401: "API-002", 404: "API-003", 405: "API-004"}


def error_json(status: int, code: str, message: str, field: str | None = None,
               details: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    e = lookup(code)
    body = {"code": code, "message": message, "field": field, "details": details, "severity": e.severity.value,
            "resolution": e.resolution}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _loc_field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(BasiskitError)
    async def _basiskit(_req: Request, exc: BasiskitError) -> JSONResponse:
        body = exc.to_dict()
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_json(exc.status, exc.code, str(body["message"]), exc.field, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": "body" if e.get("type") == "json_invalid" else _loc_field(e.get("loc", ())),
                    "message": str(e.get("msg", ""))} for e in exc.errors()]
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        return error_json(422, "API-001", f"{first['field']}: {first['message']}", first["field"], details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "API-001" if exc.status_code < 500 else "API-005")
        field = "body" if exc.status_code == 400 else None  # FastAPI's only 400: an unparseable body
        return error_json(exc.status_code, code, str(exc.detail), field, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_json(500, "API-005", f"internal error ({type(exc).__name__})")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error body for ``statuses``."""
    text = {400: "the body cannot be parsed", 401: "missing or wrong token", 404: "not found", 409: "conflict with the run's state",
            422: "invalid request (the field is named)", 503: "a dependency is unavailable"}
    return {s: {"model": ErrorResponse, "description": text.get(s, "error")} for s in statuses}
