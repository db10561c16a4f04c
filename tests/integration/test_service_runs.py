"""Runs through the service layer: files, event logs, the store, failures -- on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from basiskit import service
from basiskit.cli.main import app as cli
from basiskit.engine.backtest import BacktestInputError, BacktestRequest
from basiskit.errors.exceptions import InternalError, RunInterrupted
from basiskit.persistence import RunStatus, SqlRunStore
from basiskit.runs.execute import execute_backtest


@pytest.fixture
def store(db_url):
    s = SqlRunStore(db_url)
    yield s
    s.close()


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_recorded_run_matches_its_files(store, catalog, tmp_path):
    req = BacktestRequest("btc_basis", "2024-03-01", "2024-07-01", 100_000.0,
                          deposits=(("2024-04-01", 25_000.0),), withdrawals=(("2024-05-15", 40_000.0),))
    res = service.backtest(req, tmp_path / "out", catalog=catalog, store=store)
    out, rid = res.out_dir, res.run_id
    run = store.get_run(rid)
    assert run.status is RunStatus.FINISHED and run.origin == "cli" and run.config["mode"] == "btc_basis"
    assert store.summary(rid) == json.loads((out / "summary.json").read_text())
    with (out / "equity.csv").open() as fh:
        eq_rows = list(csv.DictReader(fh))
    eq = store.equity(rid, limit=100_000)
    assert eq.total == len(eq_rows) == res.outcome.summary["steps"]
    assert [p.equity for p in eq.items] == pytest.approx([float(r["equity"]) for r in eq_rows], rel=1e-9)  # csv: 10 digits
    with (out / "trades.csv").open() as fh:
        trade_rows = list(csv.DictReader(fh))
    trades = store.trades(rid, limit=100_000)
    assert trades.total == len(trade_rows) > 0
    assert [(t.venue, t.operation, t.status) for t in trades.items] == \
           [(r["venue"], r["operation"], r["status"]) for r in trade_rows]
    transfers = store.transfers(run_id=rid)
    assert [(t.kind, t.amount) for t in transfers if t.kind != "transfer"] == [("deposit", 25_000.0), ("withdrawal", 40_000.0)]
    assert sum(1 for t in transfers if t.kind == "transfer") == sum(1 for r in trade_rows if r["operation"] == "transfer")


def test_event_logs_per_component_and_their_csv(store, catalog, tmp_path):
    req = BacktestRequest("btc_basis", "2024-01-01", "2025-09-29", 100_000.0)  # margin top-ups re-target the book
    res = service.backtest(req, tmp_path / "out", catalog=catalog, store=store)
    out, rid = res.out_dir, res.run_id
    files = {p.name: _jsonl(p) for p in (out / "events").glob("*_events.jsonl")}
    assert {"strategy_events.jsonl", "execution_events.jsonl", "risk_events.jsonl", "binance.perp_events.jsonl",
            "bybit.perp_events.jsonl"} <= set(files)
    every = [e for events in files.values() for e in events]
    for name, events in files.items():
        assert all(e["component"] == name[: -len("_events.jsonl")] for e in events), name
    assert all(e["run_id"] == rid and e["timestamp"].endswith("Z") and isinstance(e["clock_ns"], int) for e in every)
    with (out / "events.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(every) == store.events(rid, limit=100_000).total
    assert [int(r["clock_ns"]) for r in rows] == sorted(int(r["clock_ns"]) for r in rows)

    engine_events = _jsonl(out / "events.jsonl")  # the engine's own trace is the reference
    decisions = [e for e in engine_events if e["kind"] == "decision"]
    strategy = files["strategy_events.jsonl"]
    assert [(e["action"], e["reason"]) for e in strategy if e["kind"] == "decision"] == \
           [(e["action"], e["reason"]) for e in decisions]
    steps_rebalanced = {e["timestamp"] for e in decisions if e["action"] in ("entry_partial", "exit_partial")}
    assert steps_rebalanced, "this period has re-targets"
    assert {e["timestamp"] for e in strategy if e["kind"] == "rebalance"} == steps_rebalanced
    assessments = [e for e in files["risk_events.jsonl"] if e["kind"] == "assessment"]
    assert {e["timestamp"] for e in assessments} == {e["timestamp"] for e in decisions}
    assert all(set(e["margin_ratios"]) == {"binance.perp", "bybit.perp"} for e in assessments)
    orders = [e for e in files["execution_events.jsonl"] if e["kind"] == "order"]
    trades = sum(1 for events in files.values() for e in events if e["kind"] == "trade")
    assert len(orders) == trades == sum(e["orders"] for e in decisions)
    funding = [e for e in engine_events if e["kind"] == "funding" and e["component"] == "binance.perp"]
    assert len([e for e in files["binance.perp_events.jsonl"] if e["kind"] == "funding"]) == len(funding) > 0


@pytest.mark.parametrize("req,field", [
    (BacktestRequest("btc_basys", "2024-03-01", "2024-03-15", 1.0), "mode"),
    (BacktestRequest("btc_basis", "2024-03-15", "2024-03-01", 1.0), "end"),
    (BacktestRequest("btc_basis", "2024-03-01", "2024-03-15", 0.0), "capital"),
    (BacktestRequest("btc_basis", "2024-03-01", "2024-03-15", 1.0, overrides={"hedge_alocation": {"x": 1}}),
     "config.hedge_alocation"),
    (BacktestRequest("btc_basis", "2023-03-01", "2024-03-15", 1.0), "start"),
    (BacktestRequest("btc_basis", "2024-03-01", "2024-03-15", 1.0, withdrawals=(("2024-03-05", -1.0),)),
     "withdrawals[0].amount"),
])
def test_malformed_requests_record_nothing(store, catalog, tmp_path, req, field):
    with pytest.raises(Exception) as exc:
        service.backtest(req, tmp_path / "out", catalog=catalog, store=store)
    assert getattr(exc.value, "field", None) == field and 400 <= exc.value.status < 500
    assert store.list_runs().total == 0 and not (tmp_path / "out").exists()


def test_a_crash_inside_the_run_is_recorded_failed_with_its_code(store, catalog, tmp_path):
    def boom(i, n):
        if i > 0:
            raise RuntimeError("disk on fire")

    with pytest.raises(InternalError):
        service.backtest(BacktestRequest("btc_basis", "2024-03-01", "2024-03-15", 1000.0), tmp_path / "out",
                         catalog=catalog, store=store, progress=boom, run_id="crash-1")
    run = store.get_run("crash-1")
    assert run.status is RunStatus.FAILED and run.error["code"] == "RUN-007" and "disk on fire" in run.error["message"]
    err = _jsonl(tmp_path / "out" / "events" / "engine_events.jsonl")
    assert err[0]["kind"] == "error" and err[0]["code"] == "RUN-007" and err[0]["run_id"] == "crash-1"


def test_a_stop_request_interrupts_the_run(store, catalog, tmp_path):
    with pytest.raises(RunInterrupted):
        execute_backtest(BacktestRequest("btc_basis", "2024-03-01", "2024-06-01", 1000.0), catalog, run_id="stop-1",
                         out_dir=tmp_path / "out", store=store, should_stop=lambda: True)
    run = store.get_run("stop-1")
    assert run.status is RunStatus.INTERRUPTED and run.error["code"] == "RUN-003"


def test_cli_records_its_runs_and_rejects_bad_input(db_url, catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("BASISKIT_DATABASE_URL", db_url)
    runner = CliRunner()
    ok = runner.invoke(cli, ["backtest", "pure_lending", "--start", "2024-03-01", "--end", "2024-03-08", "--out",
                             str(tmp_path / "o"), "--data-dir", str(catalog.data_dir)])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(cli, ["backtest", "pure_lending", "--start", "2024-03-01", "--end", "2024-03-08",
                              "--capital", "-5", "--data-dir", str(catalog.data_dir)])
    assert bad.exit_code == 2 and "RUN-001" in bad.output and "capital" in bad.output
    listed = runner.invoke(cli, ["runs", "--data-dir", str(catalog.data_dir)], env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and "1 run(s)" in listed.output and "finished" in listed.output
    store = SqlRunStore(db_url)
    try:
        runs = store.list_runs().items
        assert [(r.mode, r.status, r.origin) for r in runs] == [("pure_lending", RunStatus.FINISHED, "cli")]
    finally:
        store.close()


def test_cli_api_refuses_a_public_address_without_a_token(monkeypatch, tmp_path):
    monkeypatch.delenv("BASISKIT_API_TOKEN", raising=False)
    res = CliRunner().invoke(cli, ["api", "--host", "0.0.0.0", "--port", "8999", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "BASISKIT_API_TOKEN" in res.output


def test_service_rejects_a_period_longer_than_the_step_limit():
    with pytest.raises(BacktestInputError) as exc:
        service.validate_backtest(BacktestRequest("btc_basis", "2024-01-01", "2025-09-01", 1000.0,
                                                  overrides={"step_seconds": 1}), max_steps=1_000_000)
    assert exc.value.field == "end"
