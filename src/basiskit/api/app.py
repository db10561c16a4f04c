"""``create_app(settings)``: the FastAPI application (OpenAPI at ``/openapi.json``, docs at ``/docs``,
the web dashboard at ``/``).

Built per call, no module state: the app owns its run store (migrated on creation), catalog,
background runner and health registry (``app.state.ctx``). Start-up marks runs left
``queued``/``running`` by a dead process ``interrupted`` and imports the catalog if needed;
shutdown stops the runner (running backtests are recorded ``interrupted``) and closes the store.

Limits: at most ``settings.max_queued`` backtests wait for a worker (one more: 429, API-006, with
Retry-After); request bodies above ``settings.max_body_bytes`` are refused (413, API-007). Error
messages, stored run errors and health errors carry no server paths (``errors.PathScrubber``).

Raises:
    ConfigError (field ``host``): a non-loopback ``settings.host`` without ``settings.token``.
    ApiTokenUnusable (API-008): ``settings.token`` set but empty, blank or with surrounding spaces.
    PathUnusable (RUN-012): the data dir or the results dir is a file or not writable.
    UnsupportedDatabase (STORE-003): a database URL that is not SQLite or PostgreSQL.
    StoreUnavailable: the database cannot be reached.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import Depends, FastAPI

from basiskit import __version__, service
from basiskit.api import errors
from basiskit.api.assets import Assets
from basiskit.api.auth import token_dependency
from basiskit.api.context import AppContext
from basiskit.api.limits import BodyLimit
from basiskit.api.routes import backtests, dashboard, strategies, sweeps, system
from basiskit.api.routes import live  # /api/v1/live and the /live page
from basiskit.api.routes import funding
from basiskit.api.settings import ApiSettings, check_token, is_loopback
from basiskit.config.loader import ConfigError
from basiskit.data.catalog import Catalog
from basiskit.data.errors import DataError
from basiskit.health import HealthCheck, HealthRegistry
from basiskit.persistence.protocol import RunStore
from basiskit.persistence.sql import SqlRunStore
from basiskit.persistence.url import database_url
from basiskit.runs.background import BackgroundRunner
from basiskit.runs.folder import check_writable_dir

log = logging.getLogger(__name__)


class _RequestMetrics:
    """ASGI middleware: records every HTTP request's outcome (5xx = error) and duration."""

    def __init__(self, app, check: HealthCheck) -> None:  # noqa: ANN001
        self.app = app
        self.check = check

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_wrapper(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            ok = status[0] < 500
            self.check.record(ok, time.perf_counter() - t0, None if ok else f"HTTP {status[0]} on {scope.get('path')}")


def _catalog_probe(catalog: Catalog):
    def probe() -> None:
        if not catalog.source_dir.is_dir():
            raise DataError(f"source data directory is gone: {catalog.source_dir}")
    return probe


def create_app(settings: ApiSettings, *, store: RunStore | None = None, catalog: Catalog | None = None) -> FastAPI:
    """The API for ``settings``. ``store``/``catalog`` may be injected (tests); by default a
    ``SqlRunStore`` on ``settings.database_url`` (or SQLite in ``settings.data_dir``) and a catalog in
    ``settings.data_dir``."""
    check_token(settings.token)
    if not is_loopback(settings.host) and not settings.token:
        raise ConfigError(f"binding to {settings.host} (not loopback) needs a token: set BASISKIT_API_TOKEN",
                          field="host")
    data = settings.data_dir
    check_writable_dir(data, "data_dir", "data folder")
    check_writable_dir(settings.results, "results_dir", "results folder")
    data.mkdir(parents=True, exist_ok=True)
    store = store if store is not None else SqlRunStore(database_url(data, settings.database_url))
    catalog = catalog if catalog is not None else Catalog(data, settings.source_dir)
    health = HealthRegistry()
    health.register("database", probe=store.ping)
    health.register("catalog", probe=_catalog_probe(catalog))
    runner_check = health.register("backtests", min_samples=3)
    api_check = health.register("api", window=1000, min_samples=20)
    runner = BackgroundRunner(store, catalog, settings.results, settings.workers, runner_check, settings.max_queued)
    context = AppContext(settings, store, catalog, runner, health, api_check)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        recovered = service.recover_interrupted(store)
        if recovered:
            log.warning("marked %d run(s) interrupted: %s", len(recovered), ", ".join(recovered))
        try:
            catalog.ensure_imported()
        except DataError as exc:  # runs will fail with the data error; health shows it
            log.error("catalog import failed: %s", exc)
            health.get("catalog").record(False, 0.0, str(exc))
        try:
            yield
        finally:
            runner.shutdown(wait=True)
            store.close()

    app = FastAPI(title="basiskit", version=__version__, lifespan=lifespan,
                  description="Backtests of market-neutral crypto yield strategies: submit, poll, read results. "
                              "Errors are JSON {\"error\": {\"code\", \"message\", \"field\", ...}}; "
                              "codes: GET /api/v1/errors.")
    app.state.ctx = context
    app.state.scrub = errors.PathScrubber([("<results>", settings.results), ("<data>", data),
                                           ("<source>", getattr(catalog, "source_dir", None))])
    errors.install(app)
    protected = [Depends(token_dependency(settings.token))] if settings.token else []
    auth_responses = errors.responses(401) if settings.token else {}
    for router in (strategies.router, backtests.router, sweeps.router, dashboard.report_router, system.errors_router):
        app.include_router(router, dependencies=protected, responses=auth_responses)
    app.include_router(funding.router, dependencies=protected, responses=auth_responses)
    app.include_router(system.health_router)
    app.include_router(dashboard.page_router(Assets()))  # pages hold no data: no token
    app.include_router(live.router, responses=errors.responses(401)), app.include_router(live.page_router)  # token always
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(_RequestMetrics, check=api_check)  # outermost: 413s are counted too
    return app
