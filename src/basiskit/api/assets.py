"""The dashboard's static files: the pages shipped in ``basiskit/api/static`` and plotly.js from the
installed ``plotly`` package. Read on first request and kept in memory by an ``Assets`` instance
(one per app), each with a gzip copy and an ETag.

Errors: ``Assets.get`` returns None for any name that is not a shipped file (no path is ever built
from the name); a shipped file missing from the installation raises ``FileNotFoundError``.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Callable

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
PAGE_FILES = ("index.html", "app.js", "app.css")
PLOTLY = "plotly.min.js"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def _shipped(name: str) -> Callable[[], bytes]:
    return lambda: (resources.files("basiskit.api") / "static" / name).read_bytes()


def _plotly() -> bytes:
    from plotly.offline import get_plotlyjs  # the bundle that ships with the installed plotly

    return get_plotlyjs().encode("utf-8")


class Assets:
    """The files the dashboard may load, by name: ``PAGE_FILES`` and ``plotly.min.js``."""

    def __init__(self) -> None:
        self._loaders: dict[str, Callable[[], bytes]] = {n: _shipped(n) for n in PAGE_FILES}
        self._loaders[PLOTLY] = _plotly
        self._cache: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def names(self) -> tuple[str, ...]:
        return tuple(self._loaders)

    def get(self, name: str) -> Asset | None:
        """The asset called ``name``, or None when no such file is served."""
        loader = self._loaders.get(name)
        if loader is None:
            return None
        with self._lock:
            asset = self._cache.get(name)
            if asset is None:
                body = loader()
                suffix = name[name.rfind("."):]
                asset = Asset(body, gzip.compress(body, 6), _TYPES[suffix],
                              '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
                self._cache[name] = asset
            return asset
