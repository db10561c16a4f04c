"""SIGKILL the API server while a backtest runs: after a restart the run is ``interrupted`` (never
stuck ``running``) and the runs that had finished are intact -- on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx

from basiskit.persistence import RunStatus, SqlRunStore

from liveserver import ApiProcess, wait_for

SHORT = {"mode": "btc_basis", "start": "2024-03-01", "end": "2024-03-15", "capital": 100000.0}
# ~1,440,000 30-second steps of the mode whose steps are the least often quiet (its dust trigger): several
# seconds of loop, long enough to be killed mid-run
LONG = {"mode": "eth_leveraged_restaking", "start": "2024-05-13", "end": "2025-09-25", "capital": 50.0,
        "config": {"step_seconds": 30}}


def test_sigkill_mid_run_leaves_it_interrupted_and_finished_runs_intact(db_url, catalog, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(catalog.catalog_dir, home / "catalog")  # skip the import; same source files
    env = {"BASISKIT_DATA_SOURCE": str(catalog.source_dir),
           "BASISKIT_DATABASE_URL": "" if db_url.startswith("sqlite") else db_url}
    sqlite_url = f"sqlite:///{(home / 'basiskit.db').resolve()}"
    store_url = sqlite_url if db_url.startswith("sqlite") else db_url

    first = ApiProcess(home, env, tmp_path / "server1.log")
    try:
        first.wait_ready()
        with httpx.Client(base_url=first.url, timeout=30) as c:
            done_id = c.post("/api/v1/backtests", json=SHORT).json()["id"]
            done = wait_for(c, done_id, {"finished", "failed"})
            assert done["status"] == "finished", done
            summary = c.get(f"/api/v1/backtests/{done_id}/summary").json()
            equity = c.get(f"/api/v1/backtests/{done_id}/equity", params={"limit": 100000}).json()
            events = c.get(f"/api/v1/backtests/{done_id}/events", params={"limit": 100000}).json()
            long_id = c.post("/api/v1/backtests", json=LONG).json()["id"]
            deadline = time.monotonic() + 60
            while True:
                run = c.get(f"/api/v1/backtests/{long_id}").json()
                if run["status"] == "running" and run["progress"]["done"] > 0:
                    break
                assert run["status"] in ("queued", "running") and time.monotonic() < deadline, run
                time.sleep(0.05)
            assert run["progress"]["done"] < run["progress"]["total"]
    finally:
        first.kill()

    store = SqlRunStore(store_url)
    try:  # what the kill left behind: the row is still "running"
        assert store.get_run(long_id).status is RunStatus.RUNNING
    finally:
        store.close()

    second = ApiProcess(home, env, tmp_path / "server2.log")
    try:
        second.wait_ready()
        with httpx.Client(base_url=second.url, timeout=30) as c:
            run = c.get(f"/api/v1/backtests/{long_id}").json()
            assert run["status"] == "interrupted" and run["error"]["code"] == "RUN-003" and run["finished_at"]
            assert c.get(f"/api/v1/backtests/{long_id}/summary").status_code == 409
            kept = c.get(f"/api/v1/backtests/{done_id}").json()
            assert kept["status"] == "finished" and kept["progress"]["done"] == kept["progress"]["total"]
            assert c.get(f"/api/v1/backtests/{done_id}/summary").json() == summary
            assert c.get(f"/api/v1/backtests/{done_id}/equity", params={"limit": 100000}).json() == equity
            assert c.get(f"/api/v1/backtests/{done_id}/events", params={"limit": 100000}).json() == events
            assert json.loads((Path(kept["out_dir"]) / "summary.json").read_text()) == summary
            listed = {r["id"]: r["status"] for r in c.get("/api/v1/backtests").json()["items"]}
            assert listed == {done_id: "finished", long_id: "interrupted"}
            again = c.post("/api/v1/backtests", json=SHORT).json()["id"]  # the restarted server still runs
            assert wait_for(c, again, {"finished", "failed"})["status"] == "finished"
            assert c.get(f"/api/v1/backtests/{again}/summary").json()["final_equity"] == summary["final_equity"]
    finally:
        second.stop()
