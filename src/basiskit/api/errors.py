"""Every error leaves the API as JSON ``{"error": {"code", "message", "field", "details", "severity",
"resolution"}}`` with the registry code's HTTP status (see ``basiskit.errors.codes``).

Messages carry no server paths: :class:`PathScrubber` (installed by ``create_app``) rewrites the
server's folders to labels (``<data>/catalog/...``, ``<results>/<run-id>/summary.json``, ``<source>``,
``<python>``, ...) and any other absolute path to ``<path>/<file name>``. It runs on error bodies, on
stored run errors and on the health report's last errors.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any, Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from basiskit.api.schemas import ErrorResponse
from basiskit.errors.codes import lookup
from basiskit.errors.exceptions import BasiskitError

log = logging.getLogger(__name__)

_HTTP_CODES = {401: "API-002", 404: "API-003", 405: "API-004", 413: "API-007"}
_ABS_PATH = re.compile(r"(?<![\w:/.~<>-])/[^\s'\"`,;()\[\]{}<>|]+")
_URL_ROOTS = {"api", "static", "docs", "openapi.json", "health", "redoc"}  # our own URL paths are not files


class PathScrubber:
    """``scrub(text)``: ``text`` with server folders replaced by labels (see module docstring).
    ``roots``: label -> folder, most specific first wins (longer paths are replaced first)."""

    def __init__(self, roots: Iterable[tuple[str, str | Path | None]] = ()) -> None:
        pkg = Path(__file__).resolve().parents[1]
        base = [("<basiskit>", pkg), ("<python>", sys.prefix), ("<python>", sys.base_prefix),
                ("<python>", sysconfig.get_paths().get("purelib")), ("<cwd>", Path.cwd()), ("<home>", Path.home()),
                ("<tmp>", tempfile.gettempdir())]
        pairs: dict[str, str] = {}
        for label, root in [*roots, *base]:
            if not root:
                continue
            for form in {str(root), os.path.abspath(root), os.path.realpath(root)}:
                form = form.rstrip("/")
                if len(form) > 1 and form not in pairs:
                    pairs[form] = label
        self._roots = sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def _generic(self, m: re.Match) -> str:
        path = m.group(0)
        first = path.lstrip("/").split("/", 1)[0]
        if first in _URL_ROOTS or not first or not os.path.isdir("/" + first):
            return path
        name = path.rstrip("/.").rsplit("/", 1)[-1]
        return f"<path>/{name}" if name else "<path>"

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        for root, label in self._roots:
            text = re.sub(re.escape(root) + r"(?=/|\b|$)", label, text)
        return _ABS_PATH.sub(self._generic, text)


_NO_SCRUB = PathScrubber()


def scrubber(request: Request | None) -> PathScrubber:
    app = getattr(request, "app", None)
    return getattr(getattr(app, "state", None), "scrub", None) or _NO_SCRUB


def error_json(status: int, code: str, message: str, field: str | None = None,
               details: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
               scrub: PathScrubber | None = None) -> JSONResponse:
    scrub = scrub or _NO_SCRUB
    message = scrub(message)
    if details:
        details = [{**d, "message": scrub(d.get("message"))} for d in details]
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
    async def _basiskit(req: Request, exc: BasiskitError) -> JSONResponse:
        body = exc.to_dict()
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if getattr(exc, "retry_after", None) is not None:
            headers = {**(headers or {}), "Retry-After": str(int(exc.retry_after))}
        return error_json(exc.status, exc.code, str(body["message"]), exc.field, exc.details, headers, scrubber(req))

    @app.exception_handler(RequestValidationError)
    async def _validation(req: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": "body" if e.get("type") == "json_invalid" else _loc_field(e.get("loc", ())),
                    "message": str(e.get("msg", ""))} for e in exc.errors()]
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        return error_json(422, "API-001", f"{first['field']}: {first['message']}", first["field"], details,
                          scrub=scrubber(req))

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "API-001" if exc.status_code < 500 else "API-005")
        field = "body" if exc.status_code == 400 else None  # FastAPI's only 400: an unparseable body
        return error_json(exc.status_code, code, str(exc.detail), field, headers=getattr(exc, "headers", None),
                          scrub=scrubber(req))

    @app.exception_handler(Exception)
    async def _internal(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_json(500, "API-005", f"internal error ({type(exc).__name__})")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error body for ``statuses``."""
    text = {400: "the body cannot be parsed", 401: "missing or wrong token", 404: "not found", 409: "conflict with the run's state",
            413: "request body too large", 422: "invalid request (the field is named)",
            429: "the run queue is full (see Retry-After)", 503: "a dependency is unavailable"}
    return {s: {"model": ErrorResponse, "description": text.get(s, "error")} for s in statuses}
