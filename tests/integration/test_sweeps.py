"""Parameter sweeps on the real data: the same sweep gives the same trials serially, on a 2-worker
process pool and on a local Ray cluster; a sweep killed with SIGKILL half-way runs only its missing
trials when the same command runs again; walk-forward scores each window's best parameters out of
sample; the files (heatmap PNG included) are written; the same on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from basiskit import service
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.persistence.sql import SqlRunStore
from basiskit.sweeps import run_sweep
from basiskit.sweeps.executors import PoolExecutor, RayExecutor, SerialExecutor

TIMING = {"loop_seconds", "steps_per_second", "run_id"}
PARAMS = ["target_ltv=0.7:0.85:0.05", "hedge_allocation.binance=0.25,0.5,0.75"]


def numbers(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in TIMING}


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray cluster (2 CPUs) for the whole session; RayExecutor uses it as it is."""
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield time.perf_counter() - t0
    finally:
        ray.shutdown()


def _sweep(tmp_path: Path, name: str, catalog, executor, **kw):
    spec = service.sweep_spec("usdt_market_neutral", "2024-06-01", "2024-06-15", 100_000, PARAMS,
                              objective="total_return", **kw)
    store = SqlRunStore(f"sqlite:///{tmp_path / name}.db")
    try:
        res = run_sweep(spec, catalog, store, executor, out_dir=tmp_path / name, png=False)
        summaries = {r["index"]: numbers(store.summary(r["run_id"])) for r in res.rows}
    finally:
        executor.close()
        store.close()
    return spec, res, summaries


@pytest.mark.parametrize("sampler,kw", [("random", {"trials": 6}), ("tpe", {"trials": 6, "batch": 3})])
def test_serial_pool_and_ray_give_the_same_trials(catalog, tmp_path, ray_local, sampler, kw):
    spec, serial, s_sum = _sweep(tmp_path, "serial", catalog, SerialExecutor(), sampler=sampler, **kw)
    _, pool, p_sum = _sweep(tmp_path, "pool", catalog, PoolExecutor(2), sampler=sampler, **kw)
    _, ray_, r_sum = _sweep(tmp_path, "ray", catalog, RayExecutor("local", 2), sampler=sampler, **kw)
    assert [r["state"] for r in serial.rows] == ["complete"] * 6
    key = lambda res: [(r["index"], r["params"], r["value"], r["metrics"]) for r in res.rows]  # noqa: E731
    assert key(serial) == key(pool) == key(ray_)
    assert s_sum == p_sum == r_sum
    assert os.getpid() not in pool.peak_rss_mb and os.getpid() not in ray_.peak_rss_mb, "trials ran in the workers"
    assert set(serial.peak_rss_mb) == {os.getpid()}
    # a trial's result is the plain backtest of its parameters (not a number the sweep made up)
    row = serial.rows[4]
    direct = run_backtest(spec.request(row["params"]), catalog).summary
    assert row["value"] == direct["total_return"] and s_sum[4] == numbers(direct)
    alloc = spec.trial_overrides(row["params"])["hedge_allocation"]
    assert alloc["binance"] + alloc["bybit"] == pytest.approx(1.0)


def test_grid_sweep_files_heatmap_png_and_trial_runs(catalog, tmp_path):
    spec = service.sweep_spec("usdt_market_neutral", "2024-06-01", "2024-06-15", 100_000, PARAMS,
                              objective="total_return", sampler="grid")
    store = SqlRunStore(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        res = run_sweep(spec, catalog, store, SerialExecutor(), out_dir=tmp_path / "out")
        assert len(res.rows) == 12 and res.ran == list(range(12))
        png = (tmp_path / "out" / "heatmap.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width >= 600 and height >= 300
        best = json.loads((tmp_path / "out" / "best.json").read_text())
        values = [r["value"] for r in res.rows]
        assert best["value"] == max(values) and best["run_id"] == res.rows[values.index(max(values))]["run_id"]
        lines = (tmp_path / "out" / "trials.csv").read_text().splitlines()
        assert len(lines) == 13 and lines[0].startswith("index,run_id,state,target_ltv,hedge_allocation.binance,")
        html = (tmp_path / "out" / "sweep.html").read_text()
        assert "chart-heatmap" in html and "chart-parcoords" in html and "Plotly.newPlot" in html
        assert set(json.loads((tmp_path / "out" / "importance.json").read_text())) == {"target_ltv", "hedge_allocation.binance"}
        # each trial is a run of kind "trial" (kept out of the runs listing) with its equity curve
        assert service.list_runs(store).total == 0 and service.list_runs(store, include_trials=True).total == 12
        assert store.get_run(best["run_id"]).kind == "trial" and store.equity(best["run_id"]).total == 15  # daily points
        again = run_sweep(spec, catalog, store, SerialExecutor(), write=False)  # all finished: nothing runs
        assert again.ran == [] and again.skipped == 12
    finally:
        store.close()


def _study_rows(db: Path) -> list[tuple]:
    """(trial number, state, index) of every trial in the sweep's study, read with plain SQL."""
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute(
                "SELECT t.number, t.state, json_extract(a.value_json, '$') FROM trials t "
                "JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.key = 'index' ORDER BY t.number").fetchall()
        except sqlite3.OperationalError:  # the tables do not exist yet
            return []


def test_kill_9_half_way_then_the_same_command_runs_only_the_missing_trials(catalog, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog").symlink_to(catalog.data_dir / "catalog")
    cmd = [sys.executable, "-m", "basiskit.cli.main", "sweep", "usdt_market_neutral", "--start", "2024-05-13",
           "--end", "2025-09-18", "--param", "target_ltv=0.7:0.85:0.05", "--param", "hedge_allocation.binance=0.25,0.75",
           "--param", "delta_drift_threshold=0.02,0.04", "--sampler", "grid", "--objective", "apy", "--workers", "1",
           "--data-dir", str(home), "--no-png"]
    env = {**os.environ, "COLUMNS": "80"}
    db = home / "basiskit.db"
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(1 for _, state, _ in _study_rows(db) if state == "COMPLETE") >= 5:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be killed: " + proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _study_rows(db)
    done_before = {(n, i) for n, state, i in before if state == "COMPLETE"}
    assert 5 <= len(done_before) < 16
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    after = _study_rows(db)
    complete = {(n, i) for n, state, i in after if state == "COMPLETE"}
    assert done_before <= complete, "a finished trial was run again or lost"
    assert sorted(i for _, i in complete) == list(range(16)), "every index finished once"
    new = complete - done_before
    assert sorted(i for _, i in new) == sorted(set(range(16)) - {i for _, i in done_before})
    assert f"({len(new)} run now, {len(done_before)} found finished, 0 failed)" in " ".join(res.stdout.split())
    # a trial in flight at the kill was left RUNNING: it is marked failed and run again
    stale = [(n, i) for n, state, i in before if state == "RUNNING"]
    assert all((n, "FAIL", i) in after for n, i in stale)
    store = SqlRunStore(f"sqlite:///{db}")
    try:
        page = store.list_runs(limit=100)
        assert page.total == 16 and {r.status.value for r in page.items} == {"finished"}
    finally:
        store.close()


def test_walk_forward_scores_each_window_out_of_sample(catalog, tmp_path):
    spec = service.sweep_spec("btc_basis", "2024-03-01", "2024-05-01", 100_000,
                              ["delta_drift_threshold=0.01,0.04"], objective="total_return", sampler="grid",
                              walk_forward="30:15")
    store = SqlRunStore(f"sqlite:///{tmp_path / 'wf.db'}")
    try:
        res = run_sweep(spec, catalog, store, SerialExecutor(), out_dir=tmp_path / "wf", png=False)
        wf = res.info["walk_forward"]
        assert wf["windows"] == 2 and len(res.ran) == 4
        for w in wf["series"]:
            sub = service.get_sweep(store, f"{spec.sweep_id}-w{w['window']:02d}")
            best = max(sub["trials"], key=lambda r: r["value"])
            assert w["params"] == best["params"] and w["train_value"] == best["value"]
            direct = run_backtest(BacktestRequest("btc_basis", w["test_start"], w["test_end"], 100_000.0,
                                                  overrides=dict(best["params"])), catalog).summary
            assert w["test_value"] == direct["total_return"]
        r0, r1 = (w["test_total_return"] for w in wf["series"])
        assert wf["oos_total_return"] == pytest.approx((1 + r0) * (1 + r1) - 1)
        assert (tmp_path / "wf" / "walk_forward.csv").read_text().count("\n") == 3
        listed = service.list_sweeps(store)
        assert [s["id"] for s in listed] == [spec.sweep_id] and listed[0]["progress"]["done"] == 4
    finally:
        store.close()


def test_a_sweep_on_postgresql_resumes_from_its_study(catalog, pg_url, tmp_path):
    spec = service.sweep_spec("usdt_market_neutral", "2024-06-01", "2024-06-15", 100_000, PARAMS,
                              objective="total_return", sampler="grid", trials=4)
    store = SqlRunStore(pg_url)
    try:
        first = run_sweep(spec, catalog, store, SerialExecutor(), write=False)
        assert first.ran == [0, 1, 2, 3]
        more = service.sweep_spec("usdt_market_neutral", "2024-06-01", "2024-06-15", 100_000, PARAMS,
                                  objective="total_return", sampler="grid", trials=6)
        assert more.sweep_id == spec.sweep_id
        second = run_sweep(more, catalog, store, SerialExecutor(), write=False)
        assert second.ran == [4, 5] and second.skipped == 4
        assert [r["index"] for r in service.get_sweep(store, spec.sweep_id)["trials"]] == list(range(6))
    finally:
        store.close()


FLAT = r"""
import json, sys
from basiskit.data.catalog import Catalog
from basiskit.sweeps.spec import SweepSpec, parse_param
from basiskit.sweeps.worker import GC_SLACK_MB, TrialTask, rss_mb, run_trial
cat = Catalog(sys.argv[1], sys.argv[2])
spec = SweepSpec("usdt_market_neutral", "2024-05-13", "2025-09-18", 100000.0, (parse_param("target_ltv=0.7:0.8"),))
seen = []
for k in range(10):
    res = run_trial(TrialTask(k, f"t{k}", {"target_ltv": 0.7 + 0.01 * k}, spec.request({"target_ltv": 0.7 + 0.01 * k}), cat))
    assert res.error is None, res.error
    seen.append(rss_mb())
print(json.dumps({"rss": seen, "slack": GC_SLACK_MB}))
"""


def test_a_worker_s_memory_stays_flat_over_many_trials(catalog, tmp_path):
    """Ten year-long trials in one worker process: its memory after the tenth is within the collection
    slack of its memory after the second (without the worker's collections it grows ~15 MB a trial)."""
    res = subprocess.run([sys.executable, "-c", FLAT, str(catalog.data_dir), str(catalog.source_dir)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    rss = out["rss"]
    assert out["slack"] <= 64 and max(rss[2:]) - rss[1] < 90, rss  # slack + one outcome and noise
