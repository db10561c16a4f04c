"""Fixtures of the browser tests: the system Chromium (missing = the tests FAIL, with the install
command), a live API server per test (uvicorn in a thread, SQLite in tmp_path, the session's
catalog), a page that records its requests, and ``shot_dir`` for screenshots
(``$BASISKIT_TEST_OUTPUT/e2e/<test>/``, default ``test-output/e2e/<test>/``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings

from browsercheck import launch_chromium
from liveserver import serve_in_thread, wait_for

VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop: never past this module's tests
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'", pytrace=False)
    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # checked by the tests: the dashboard must not throw
    return pg


@pytest.fixture
def shot_dir(request) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    d = Path(os.environ.get("BASISKIT_TEST_OUTPUT", "test-output")) / "e2e" / name
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("*.png"):
        old.unlink()
    return d


class Server:
    """A live API: ``url``, an httpx ``client`` on it, and helpers to run backtests through the API."""

    def __init__(self, url: str, client: httpx.Client, app) -> None:
        self.url = url
        self.client = client
        self.app = app

    def run(self, body: dict, timeout: float = 120.0) -> dict:
        """Submit ``body`` and wait until it has finished; returns the run (fails the test otherwise)."""
        r = self.client.post("/api/v1/backtests", json=body)
        assert r.status_code == 202, r.text
        run = wait_for(self.client, r.json()["id"], {"finished", "failed", "interrupted"}, timeout)
        assert run["status"] == "finished", run["error"]
        return run


def _serve(catalog, tmp_path: Path, token: str | None = None):
    settings = ApiSettings(data_dir=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'basiskit.db'}", token=token)
    app = create_app(settings, catalog=catalog)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60.0, headers=headers) as client:
        yield Server(url, client, app)


@pytest.fixture
def server(catalog, tmp_path):
    yield from _serve(catalog, tmp_path)


@pytest.fixture
def token_server(catalog, tmp_path):
    yield from _serve(catalog, tmp_path, token="e2e-secret-token")
