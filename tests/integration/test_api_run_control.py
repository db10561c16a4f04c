"""Run control in the API, on a live server with SQLite and PostgreSQL: cancelling (DELETE of an
active run), the bounded queue (429), the request-body limit (413), the results folder's completion
marker (409 RUN-011), and error bodies that never show a server path."""

from __future__ import annotations

import json
import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings
from basiskit.persistence import NewRun, RunStatus
from basiskit.runs.folder import MARKER, is_complete

from liveserver import serve_in_thread, wait_for

SHORT = {"mode": "btc_basis", "start": "2024-03-01", "end": "2024-03-15", "capital": 100000.0}
# ~1,440,000 30-second steps of the mode whose steps are the least often quiet (its dust trigger): still
# running when it is cancelled (a 1-minute btc_basis year loops in under a second)
LONG = {"mode": "eth_leveraged_restaking", "start": "2024-05-13", "end": "2025-09-25", "capital": 50.0,
        "config": {"step_seconds": 30}}


class Server:
    def __init__(self, client: httpx.Client, app, settings: ApiSettings) -> None:
        self.client, self.app, self.settings = client, app, settings

    @property
    def store(self):
        return self.app.state.ctx.store


@pytest.fixture
def serve(db_url, catalog, tmp_path):
    """``with serve(**settings) as server``: a live API with those ApiSettings fields."""
    @contextmanager
    def start(**kwargs) -> Iterator[Server]:
        settings = ApiSettings(data_dir=tmp_path / "home", database_url=db_url, **kwargs)
        app = create_app(settings, catalog=catalog)
        with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60.0) as client:
            yield Server(client, app, settings)
    return start


def _running(c: httpx.Client, run_id: str, timeout: float = 90) -> dict:
    run = wait_for(c, run_id, {"running", "finished", "failed", "cancelled"}, timeout)
    while run["status"] == "running" and not run["progress"]["done"]:
        run = c.get(f"/api/v1/backtests/{run_id}").json()
    assert run["status"] == "running", run
    return run


def test_delete_cancels_running_and_queued_runs_and_the_queue_is_bounded(serve):
    with serve(max_queued=1) as server:
        _cancel_and_queue(server)


def _cancel_and_queue(server: Server) -> None:
    c = server.client
    long_id = c.post("/api/v1/backtests", json=LONG).json()["id"]
    _running(c, long_id)
    queued = c.post("/api/v1/backtests", json=SHORT)
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    queued_id = queued.json()["id"]

    full = c.post("/api/v1/backtests", json=SHORT)  # one runs, one waits: the queue (1) is full
    assert full.status_code == 429 and full.json()["error"]["code"] == "API-006"
    assert int(full.headers["retry-after"]) > 0
    assert server.store.list_runs().total == 2  # nothing recorded for the refused one

    r = c.delete(f"/api/v1/backtests/{queued_id}")  # queued: cancelled at once, never runs
    assert r.status_code == 202 and r.json()["status"] == "cancelled" and r.json()["error"]["code"] == "RUN-010"
    assert r.headers["location"] == f"/api/v1/backtests/{queued_id}"
    again = c.post("/api/v1/backtests", json=SHORT)  # its queue slot is free again
    assert again.status_code == 202
    assert c.delete(f"/api/v1/backtests/{again.json()['id']}").json()["status"] == "cancelled"

    r = c.delete(f"/api/v1/backtests/{long_id}")  # running: flagged, stops at its next progress tick
    assert r.status_code == 202 and r.json()["status"] == "running" and r.json()["cancel_requested_at"]
    run = wait_for(c, long_id, {"cancelled", "finished", "failed"}, timeout=30)
    assert run["status"] == "cancelled" and run["error"]["code"] == "RUN-010", run
    assert 0 < run["progress"]["done"] < run["progress"]["total"] and run["finished_at"]
    assert not is_complete(run["out_dir"]) and not (Path(run["out_dir"]) / MARKER).exists()
    assert c.get(f"/api/v1/backtests/{long_id}/summary").status_code == 409
    assert c.get(f"/api/v1/backtests/{long_id}/report").json()["error"]["code"] == "RUN-005"
    never = c.get(f"/api/v1/backtests/{queued_id}").json()
    assert never["status"] == "cancelled" and never["started_at"] is None and not Path(never["out_dir"]).exists()
    listed = {x["id"]: x["status"] for x in c.get("/api/v1/backtests", params={"status": "cancelled"}).json()["items"]}
    assert set(listed) == {long_id, queued_id, again.json()["id"]}

    assert c.delete(f"/api/v1/backtests/{long_id}").status_code == 204  # ended: deleted, with its folder
    assert not Path(run["out_dir"]).exists() and c.get(f"/api/v1/backtests/{long_id}").status_code == 404
    assert server.app.state.ctx.runner.queued == 0


def test_a_results_folder_without_its_marker_is_refused(serve):
    with serve() as server:
        _marker_checked(server.client)


def _marker_checked(c: httpx.Client) -> None:
    run_id = c.post("/api/v1/backtests", json=SHORT).json()["id"]
    run = wait_for(c, run_id, {"finished", "failed"})
    out = Path(run["out_dir"])
    assert run["status"] == "finished" and json.loads((out / MARKER).read_text())["run_id"] == run_id
    assert c.get(f"/api/v1/backtests/{run_id}/report").status_code == 200
    (out / MARKER).rename(out / "run.json.bak")
    (out / "report.html").unlink()
    for path in ("/summary", "/report"):
        r = c.get(f"/api/v1/backtests/{run_id}{path}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "RUN-011", r.text
    (out / "run.json.bak").rename(out / MARKER)
    (out / "trades.csv").write_text("truncated")
    r = c.get(f"/api/v1/backtests/{run_id}/report")
    assert r.status_code == 409 and "trades.csv" in r.json()["error"]["message"]


def test_request_bodies_above_the_limit_get_413(serve):
    with serve(max_body_bytes=4096) as server:
        _body_limit(server)


def _body_limit(server: Server) -> None:
    c = server.client
    big = {**SHORT, "config": {"pad": "x" * 5000}}
    r = c.post("/api/v1/backtests", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "API-007" and "4,096" in r.json()["error"]["message"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"mode": "btc_basis", "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    r = c.post("/api/v1/backtests", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "API-007"

    def small():
        yield json.dumps({**SHORT, "capital": 0}).encode()

    r = c.post("/api/v1/backtests", content=small(), headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "capital"  # a small chunked body goes through
    assert server.store.list_runs().total == 0
    health = c.get("/health").json()
    assert health["components"]["api"]["errors"] == 0  # 413s are the client's, not server errors


_PATH = re.compile(r"(?<![\w:])/(?:tmp|work|usr|home|root|opt|var|srv|etc|proc)(?:/|\b)")


def test_error_bodies_never_show_server_paths(request, catalog, tmp_path):
    """Every error class the API answers with, and stored run errors and health errors, scanned for
    absolute paths (the data dir, results, the data source, the Python installation). (A run's
    ``out_dir`` field is data, not an error message: it still names the folder.)"""
    source = tmp_path / "source"
    shutil.copytree(catalog.source_dir, source, symlinks=True)
    from basiskit.data.catalog import Catalog
    cat = Catalog(tmp_path / "home", source)
    shutil.copytree(catalog.catalog_dir, cat.catalog_dir)
    settings = ApiSettings(data_dir=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'home' / 'b.db'}",
                           max_queued=0, max_body_bytes=2048)
    app = create_app(settings, catalog=cat)
    store = app.state.ctx.store
    bodies: list[str] = []
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60.0) as c:
        def hit(method: str, path: str, expect: int, **kw) -> dict:
            r = c.request(method, path, **kw)
            assert r.status_code == expect, (path, r.status_code, r.text)
            body = r.json()
            if r.status_code >= 400:
                bodies.append(r.text)
            for item in body.get("items", [body]) if isinstance(body, dict) else []:  # runs: their stored errors
                bodies.append(json.dumps(item.get("error")))
            bodies.extend(json.dumps(comp.get("last_error")) for comp in body.get("components", {}).values())
            return body

        hit("GET", "/api/v1/nothing", 404)                                        # API-003
        hit("PUT", "/api/v1/backtests", 405)                                      # API-004
        hit("POST", "/api/v1/backtests", 422, content=b"{bad", headers={"content-type": "application/json"})
        hit("POST", "/api/v1/backtests", 422, json={**SHORT, "capital": -1})     # API-001
        hit("POST", "/api/v1/backtests", 422, json={**SHORT, "mode": "nope"})    # STRAT-003
        hit("POST", "/api/v1/backtests", 422, json={**SHORT, "config": {"x": 1}})  # CONFIG-001
        hit("POST", "/api/v1/backtests", 422, json={**SHORT, "start": "2023-01-01"})  # DATA-002
        hit("POST", "/api/v1/backtests", 422, json={**SHORT, "end": "2024-02-01"})    # RUN-001
        hit("POST", "/api/v1/backtests", 413, json={**SHORT, "config": {"p": "x" * 3000}})  # API-007
        long_id = hit("POST", "/api/v1/backtests", 202, json=LONG)["id"]  # the one worker is busy, no queue
        assert hit("POST", "/api/v1/backtests", 429, json=SHORT)["error"]["code"] == "API-006"
        hit("DELETE", f"/api/v1/backtests/{long_id}", 202)
        hit("GET", "/api/v1/backtests/missing", 404)                              # RUN-004
        hit("GET", "/api/v1/strategies/nope/config", 404)

        # runs as the runner would leave them: finished with its folder, running, failed with a path in its error
        results = settings.results
        out = results / "done"
        store.create_run(NewRun("done", "btc_basis", {}, status=RunStatus.RUNNING, out_dir=str(out)))
        from basiskit.persistence import RunResults
        store.finish_run("done", {"run_id": "done"}, None, RunResults())
        store.create_run(NewRun("active", "btc_basis", {}, out_dir=str(results / "active")))
        store.create_run(NewRun("bad", "btc_basis", {}, status=RunStatus.RUNNING))
        store.fail_run("bad", {"code": "DATA-003", "message": f"[file {source}/cex/x.csv] unreadable; see "
                               f"{Path(sys.prefix)}/lib/x.py and {tmp_path}/home/results/bad", "severity": "critical",
                               "resolution": "fix it"})
        hit("GET", "/api/v1/backtests/done/report", 404)                         # RUN-008: no folder
        out.mkdir(parents=True)
        (out / "summary.json").write_text("{}")
        assert hit("GET", "/api/v1/backtests/done/summary", 409)["error"]["code"] == "RUN-011"
        assert hit("GET", "/api/v1/backtests/done/report", 409)["error"]["code"] == "RUN-011"
        hit("GET", "/api/v1/backtests/active/summary", 409)                       # RUN-005
        bad = hit("GET", "/api/v1/backtests/bad", 200)
        assert bad["error"]["message"].startswith("[file <source>/cex/x.csv] unreadable")
        hit("GET", "/api/v1/backtests", 200)
        shutil.rmtree(source)                                                   # DATA-001 in /health
        health = hit("GET", "/health", 503)
        assert "<source>" in health["components"]["catalog"]["last_error"]
    for body in bodies:
        for leak in (str(tmp_path), sys.prefix, "site-packages", "/work/"):
            assert leak not in body, body
        assert not _PATH.search(body), body
    assert any("RUN-008" in b for b in bodies) and any("DATA-002" in b for b in bodies)
