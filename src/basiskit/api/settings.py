"""API settings (passed to ``create_app``; nothing is read from the environment after that)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from basiskit.errors.exceptions import StopRun
from basiskit.runs.background import DEFAULT_MAX_QUEUED
from basiskit.runs.validate import DEFAULT_MAX_STEPS

ENV_TOKEN = "BASISKIT_API_TOKEN"
DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: a backtest request is a few hundred bytes


class ApiTokenUnusable(StopRun):
    """``BASISKIT_API_TOKEN`` (or ``ApiSettings.token``) is set but empty, blank, or has surrounding
    whitespace (a client cannot send that in a header): refused at start-up."""

    code = "API-008"


def check_token(token: str | None) -> str | None:
    """``token`` if usable (None: no token). Raises ApiTokenUnusable (API-008); the message never
    shows the token."""
    if token is None:
        return None
    if not token.strip():
        raise ApiTokenUnusable(f"{ENV_TOKEN} is set but {'empty' if not token else 'only whitespace'}: set a secret, "
                               "or unset it to serve without a token (loopback only)", field="token")
    if token != token.strip():
        raise ApiTokenUnusable(f"{ENV_TOKEN} starts or ends with whitespace, which an Authorization header cannot "
                               "carry: remove it", field="token")
    return token


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ApiSettings:
    """Attributes:
        data_dir: catalog, SQLite database (unless ``database_url``) and ``results/<run-id>/`` folders.
        source_dir: raw data for the catalog import (None: ``$BASISKIT_DATA_SOURCE`` or ``../shared/data``).
        database_url: SQLAlchemy URL (None: SQLite at ``<data_dir>/basiskit.db``).
        token: bearer token required on ``/api/v1/*`` (None: no token; only allowed on loopback).
        host: the address the server binds (decides whether a token is required).
        results_dir: where API runs write their files (None: ``<data_dir>/results``).
        workers: background backtest threads.
        max_steps: largest clock grid a submitted backtest may have (None: no limit).
        max_queued: backtests that may wait for a worker; one more is refused (429, API-006).
        max_body_bytes: largest request body; a larger one is refused (413, API-007).
    """

    data_dir: Path
    source_dir: Path | None = None
    database_url: str | None = None
    token: str | None = None
    host: str = "127.0.0.1"
    results_dir: Path | None = None
    workers: int = 1
    max_steps: int | None = DEFAULT_MAX_STEPS
    max_queued: int = DEFAULT_MAX_QUEUED
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @property
    def results(self) -> Path:
        return Path(self.results_dir) if self.results_dir else Path(self.data_dir) / "results"

    @classmethod
    def from_env(cls, data_dir: Path, host: str = "127.0.0.1", **kwargs) -> "ApiSettings":
        """Settings with ``token`` from ``$BASISKIT_API_TOKEN`` and ``database_url`` from
        ``$BASISKIT_DATABASE_URL`` unless given. Raises ApiTokenUnusable (API-008) for a token that is
        set but empty or blank."""
        kwargs.setdefault("token", check_token(os.environ.get(ENV_TOKEN)))
        kwargs.setdefault("database_url", os.environ.get("BASISKIT_DATABASE_URL") or None)
        return cls(data_dir=Path(data_dir), host=host, **kwargs)
