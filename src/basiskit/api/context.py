"""What the routes need, built once by ``create_app`` and kept on ``app.state.ctx``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from basiskit.api.settings import ApiSettings
from basiskit.health import HealthCheck, HealthRegistry
from basiskit.persistence.protocol import RunStore
from basiskit.runs.background import BackgroundRunner


@dataclass
class AppContext:
    settings: ApiSettings
    store: RunStore
    catalog: object
    runner: BackgroundRunner
    health: HealthRegistry
    api_check: HealthCheck


async def ctx(request: Request) -> AppContext:
    return request.app.state.ctx
