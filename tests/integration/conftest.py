"""A live API server per test (uvicorn in a thread), on SQLite and on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings

from liveserver import serve_in_thread


class Api:
    def __init__(self, client: httpx.Client, app, settings: ApiSettings) -> None:
        self.client = client
        self.app = app
        self.settings = settings

    @property
    def store(self):
        return self.app.state.ctx.store


@pytest.fixture
def api(db_url, catalog, tmp_path):
    settings = ApiSettings(data_dir=tmp_path / "home", database_url=db_url)
    app = create_app(settings, catalog=catalog)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60.0) as client:
        yield Api(client, app, settings)


NOTES = pytest.StashKey[list]()


@pytest.fixture
def closing_note(request):
    """``note(text)``: print ``text`` in pytest's terminal summary (e.g. how many schemathesis cases ran)."""
    return request.config.stash.setdefault(NOTES, []).append


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for note in config.stash.get(NOTES, []):
        terminalreporter.write_line(note)
