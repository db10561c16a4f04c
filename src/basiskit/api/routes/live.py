"""``/api/v1/live``: paper and live sessions (``basiskit.live_service``).

    POST   /api/v1/live                 start a session (202: its id; it runs in a thread of the server)
    GET    /api/v1/live                 every session, newest first (state, equity, ...)
    GET    /api/v1/live/{run_id}        status: equity (USD(T)), positions, open orders, last heartbeat,
                                        feed ages (seconds), entries paused
    DELETE /api/v1/live/{run_id}        stop it (202; recorded interrupted, its book stays stored)
    GET    /api/v1/live/{run_id}/events its event log (``kind`` filter, the last ``limit`` lines)

Live endpoints need the API token **always**, also on loopback and also when the server was started
without one (then they answer 401 API-002: set BASISKIT_API_TOKEN): they place orders. The page
``GET /live`` (no data in it) shows a running session and polls its status.

Errors: 401 API-002, 404 LIVE-005 (unknown session, or a stop of a session not running),
422 LIVE-004 / CONFIG-001 (a bad request).
"""

from __future__ import annotations

import hmac
import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from basiskit import live_service
from basiskit.api.errors import responses
from basiskit.api.auth import Unauthorized
from basiskit.api.context import AppContext, ctx
from basiskit.errors.exceptions import BasiskitError

_bearer = HTTPBearer(auto_error=False, description="the server's BASISKIT_API_TOKEN (always required here)")


async def live_token(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    token = request.app.state.ctx.settings.token
    if not token:
        raise Unauthorized("live sessions place orders: the server needs a token (set BASISKIT_API_TOKEN) and "
                           "every request must send it, also on loopback")
    given = (creds.credentials if creds is not None else "").encode()
    if not hmac.compare_digest(given, token.encode()):
        raise Unauthorized("missing or wrong API token")


router = APIRouter(prefix="/api/v1/live", tags=["live"], dependencies=[Depends(live_token)])


class LiveStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: str = Field(description="strategy mode, e.g. btc_basis")
    execution_mode: Literal["paper", "live"] = Field(description="paper: simulated fills; live: real orders")
    capital: float = Field(default=100_000.0, gt=0, description="share-class units (USDT)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="mode config overrides (as --set)")
    live: dict[str, Any] = Field(default_factory=dict, description="live.* settings (emergency_stop_loss_pct, ...)")
    replay: list[str] | None = Field(default=None, min_length=2, max_length=2,
                                     description="[start, end] of a recorded period to replay (YYYY-MM-DD)")
    speed: float = Field(default=0.0, ge=0, description="replay clock: virtual seconds per second (0: fastest)")
    strategy_id: str | None = Field(default=None, max_length=80, description="the persisted book's key")
    emulator: str | None = Field(default=None, max_length=200, pattern=r"^http://(127\.0\.0\.1|localhost):\d+/?$",
                                 description="URL of an exchange emulator on loopback: its streams and clock "
                                             "(no replay)")


class _Sessions:
    """The server's running sessions (threads) and their stop flags."""

    def __init__(self) -> None:
        self.threads: dict[str, threading.Thread] = {}
        self.stop: dict[str, threading.Event] = {}
        self.errors: dict[str, str] = {}
        self.lock = threading.Lock()


def _sessions(request: Request) -> _Sessions:
    s = getattr(request.app.state, "live_sessions", None)
    if s is None:
        s = request.app.state.live_sessions = _Sessions()
    return s


def _store(c: AppContext):
    from basiskit.persistence.live_sql import SqlLiveStore

    url = getattr(c.store, "url", None)
    if url is None:
        from basiskit.persistence.live_store import MemoryLiveStore

        return MemoryLiveStore()
    return SqlLiveStore(url)


@router.post("", status_code=202, responses=responses(400, 413, 422), summary="Start a paper or live session")
def start(body: LiveStartIn, request: Request, c: AppContext = Depends(ctx)) -> JSONResponse:
    req = live_service.LiveRequest(body.mode, body.execution_mode, body.capital, body.overrides, body.live,
                                   tuple(body.replay) if body.replay else None, body.speed, None, body.strategy_id,
                                   emulator=body.emulator)
    live_service.validate_request(req)
    run_id = live_service.new_session_id(body.mode)
    sessions = _sessions(request)
    flag = threading.Event()
    data = c.settings.data_dir

    def work() -> None:
        store = _store(c)
        try:
            live_service.start_session(req, c.catalog, store, data, run_id=run_id, should_stop=flag.is_set,
                                       origin="api")
        except BasiskitError as exc:
            sessions.errors[run_id] = f"{exc.code}: {exc}"
        except Exception as exc:  # noqa: BLE001 - recorded as the session's error
            sessions.errors[run_id] = f"{type(exc).__name__}: {exc}"
        finally:
            store.close()

    th = threading.Thread(target=work, name=f"live-{run_id}", daemon=True)
    with sessions.lock:
        sessions.threads[run_id], sessions.stop[run_id] = th, flag
    th.start()
    return JSONResponse({"run_id": run_id, "state": "starting", "status_url": f"/api/v1/live/{run_id}"}, 202)


@router.get("", summary="Every session, newest first")
def list_sessions(c: AppContext = Depends(ctx)) -> dict:
    return {"items": live_service.list_sessions(c.settings.data_dir)}


@router.get("/{run_id}", responses=responses(404, 422), summary="A session's status: equity, positions, open orders, last heartbeat, feed ages")
def status(run_id: str, request: Request, c: AppContext = Depends(ctx)) -> dict:
    sessions = _sessions(request)
    try:
        st = live_service.session_status(c.settings.data_dir, run_id)
    except BasiskitError:
        if run_id in sessions.threads:  # started, its folder not made yet
            return {"run_id": run_id, "state": "starting", "error": sessions.errors.get(run_id)}
        raise
    if run_id in sessions.errors:
        st["error_message"] = sessions.errors[run_id]
    return st


@router.delete("/{run_id}", status_code=202, responses=responses(404, 409, 422), summary="Stop a running session")
def stop(run_id: str, request: Request, c: AppContext = Depends(ctx)) -> JSONResponse:
    st = live_service.stop_session(c.settings.data_dir, run_id)
    flag = _sessions(request).stop.get(run_id)
    if flag is not None:
        flag.set()
    return JSONResponse({"run_id": run_id, "state": "stopping", "was": st.get("state")}, 202)


@router.get("/{run_id}/events", responses=responses(404, 422), summary="A session's event log (heartbeats, decisions, orders, recovery, ...)")
def events(run_id: str, c: AppContext = Depends(ctx), kind: str | None = Query(None, max_length=64),
           limit: int = Query(200, ge=1, le=5000)) -> dict:
    return {"items": live_service.session_events(c.settings.data_dir, run_id, kind, limit)}


page_router = APIRouter(include_in_schema=False)


def _page_file(name: str) -> bytes:
    from importlib.resources import files

    return files("basiskit.api.static").joinpath(name).read_bytes()


@page_router.get("/live")
def live_page() -> Response:
    """The live session page (no data in it: it asks the API, with the token)."""
    return Response(_page_file("live.html"), media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@page_router.get("/live/page.js")
def live_script() -> Response:
    return Response(_page_file("live.js"), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
