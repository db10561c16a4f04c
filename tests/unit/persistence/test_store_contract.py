"""One contract for every RunStore: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

import math
from dataclasses import replace
import time

import pytest

from basiskit.errors.exceptions import RunCancelled, RunConflict, RunNotFound
from basiskit.persistence import (EquityPoint, EventRecord, MemoryRunStore, NewRun, OrderRecord, PositionRecord,
                                  RunResults, RunStatus, SqlRunStore, TradeRecord, TransferRecord)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "memory":
        s = MemoryRunStore()
    elif request.param == "sqlite":
        s = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    else:
        s = SqlRunStore(request.getfixturevalue("pg_url"))
    yield s
    s.close()


def _results(run_id: str) -> RunResults:
    return RunResults(
        equity=[EquityPoint(i, 1_700_000_000_000_000_000 + i * 3_600_000_000_000, 100.0 + i, 0.0, -0.5 * i)
                for i in range(5)],
        orders=[OrderRecord(0, 10, "wallet", "transfer", "USDT", None, 50.0, "bybit.spot", None, "move"),
                OrderRecord(1, 10, "bybit.spot", "spot_trade", "BTC", "buy", 0.001, reason="buy")],
        trades=[TradeRecord(0, 10, "wallet", "transfer", "USDT", None, 50.0, 1.0, 0.0, "USDT", 0.0, "filled",
                            to_venue="bybit.spot", reason="move"),
                TradeRecord(1, 10, "bybit.spot", "spot_trade", "BTCUSDT", "buy", 0.001, 42000.0, 0.042, "USDT", 0.0,
                            "failed", "INSUFFICIENT", reason="buy")],
        events=[EventRecord(0, 10, "strategy", "decision", {"action": "entry_full", "reason": "initial entry"}),
                EventRecord(1, 10, "execution", "order", {"venue": "wallet", "amount": 50.0}),
                EventRecord(2, 20, "risk", "assessment", {"net_delta_usd": float("nan"), "ratios": {"a": 0.5}})],
        transfers=[TransferRecord(run_id, 10, "transfer", "USDT", 50.0, "wallet", "bybit.spot", run_id=run_id),
                   TransferRecord(run_id, 5, "deposit", "USDT", 100.0, None, "wallet", run_id=run_id)],
    )


def test_lifecycle_queued_running_finished(store):
    rec = store.create_run(NewRun("r1", "btc_basis", {"mode": "btc_basis", "capital": 1000.0}, owner="h:1"))
    assert rec.status is RunStatus.QUEUED and rec.started_at is None and rec.created_at.tzinfo is not None
    store.start_run("r1", owner="h:2", progress_total=5)
    store.update_progress("r1", 3, 5)
    got = store.get_run("r1")
    assert (got.status, got.progress_done, got.progress_total, got.owner) == (RunStatus.RUNNING, 3, 5, "h:2")
    with pytest.raises(RunConflict) as exc:
        store.summary("r1")
    assert exc.value.code == "RUN-005"
    store.finish_run("r1", {"final_equity": 104.0, "sharpe": float("inf")}, {"mode": "btc_basis"}, _results("r1"), 1.25)
    got = store.get_run("r1")
    assert got.status is RunStatus.FINISHED and got.duration_seconds == 1.25
    assert got.progress_done == 5 and got.finished_at >= got.started_at >= got.created_at
    assert got.config == {"mode": "btc_basis"} and got.request == {"mode": "btc_basis", "capital": 1000.0}
    assert store.summary("r1") == {"final_equity": 104.0, "sharpe": None}  # inf is not JSON


def test_summaries_in_one_call_only_for_runs_that_have_one(store):
    for rid in ("a", "b", "c"):
        store.create_run(NewRun(rid, "btc_basis", {}))
    store.finish_run("a", {"apr": 0.1}, None, RunResults())
    store.finish_run("c", {"apr": float("nan"), "final_equity": 5.0}, None, RunResults())
    store.fail_run("b", {"code": "DATA-002", "message": "x"})
    assert store.summaries(["c", "b", "a", "missing", "a"]) == {"a": {"apr": 0.1}, "c": {"apr": None, "final_equity": 5.0}}
    assert store.summaries([]) == {}


def test_results_pages_in_order(store):
    store.create_run(NewRun("r1", "btc_basis", {}))
    store.finish_run("r1", {}, None, _results("r1"))
    eq = store.equity("r1", limit=2, offset=1)
    assert eq.total == 5 and [p.step for p in eq.items] == [1, 2] and eq.items[1].net_delta == -1.0
    tr = store.trades("r1")
    assert [t.status for t in tr.items] == ["filled", "failed"] and tr.items[1].error_code == "INSUFFICIENT"
    assert [o.operation for o in store.orders("r1").items] == ["transfer", "spot_trade"]
    ev = store.events("r1")
    assert ev.total == 3 and ev.items[2].data == {"net_delta_usd": None, "ratios": {"a": 0.5}}
    assert [e.kind for e in store.events("r1", component="execution").items] == ["order"]
    assert store.events("r1", kind="assessment").total == 1
    assert [t.kind for t in store.transfers(run_id="r1")] == ["deposit", "transfer"]  # clock order
    with pytest.raises(RunNotFound):
        store.equity("nope")


def test_listing_newest_first_with_filters_and_pages(store):
    for i, mode in enumerate(["btc_basis", "pure_lending", "btc_basis"]):
        store.create_run(NewRun(f"r{i}", mode, {}))
        time.sleep(0.002)
    store.fail_run("r1", {"code": "DATA-002", "message": "x"})
    page = store.list_runs()
    assert [r.id for r in page.items] == ["r2", "r1", "r0"] and page.total == 3
    assert [r.id for r in store.list_runs(mode="btc_basis").items] == ["r2", "r0"]
    failed = store.list_runs(status=RunStatus.FAILED)
    assert [r.id for r in failed.items] == ["r1"] and failed.items[0].error["code"] == "DATA-002"
    second = store.list_runs(limit=1, offset=1)
    assert [r.id for r in second.items] == ["r1"] and second.total == 3


def test_a_finished_run_stores_its_strategy_state(store):
    """The strategy's snapshot at the end goes in with the run's results (one transaction), under the
    run's id; a failed run stores none; deleting the run deletes it."""
    state = {"entered": True, "targets": {"spot_qty": 1.5, "perp_sizes": {"binance.perp": -0.75}}, "action": "hold"}
    store.create_run(NewRun("r1", "btc_basis", {}, status=RunStatus.RUNNING))
    assert store.load_state("r1") is None
    store.finish_run("r1", {"a": 1}, None, replace(_results("r1"), strategy_state=state))
    assert store.load_state("r1") == state
    store.create_run(NewRun("r2", "btc_basis", {}, status=RunStatus.RUNNING))
    store.fail_run("r2", {"code": "RUN-007", "message": "boom"})
    assert store.load_state("r2") is None
    store.delete_run("r1")
    assert store.load_state("r1") is None


def test_delete_removes_everything_but_not_a_running_run(store):
    store.create_run(NewRun("r1", "btc_basis", {}))
    store.finish_run("r1", {"a": 1}, None, _results("r1"))
    store.create_run(NewRun("r2", "btc_basis", {}, status=RunStatus.RUNNING))
    with pytest.raises(RunConflict) as exc:
        store.delete_run("r2")
    assert exc.value.code == "RUN-006"
    store.delete_run("r1")
    assert store.get_run("r1") is None and store.transfers(run_id="r1") == []
    with pytest.raises(RunNotFound):
        store.events("r1")
    with pytest.raises(RunNotFound):
        store.delete_run("r1")
    with pytest.raises(RunConflict):
        store.create_run(NewRun("r2", "btc_basis", {}))


def test_mark_interrupted_only_touches_dead_owners(store):
    store.create_run(NewRun("alive", "btc_basis", {}, status=RunStatus.RUNNING, owner="h:1"))
    store.create_run(NewRun("dead", "btc_basis", {}, status=RunStatus.RUNNING, owner="h:2"))
    store.create_run(NewRun("queued", "btc_basis", {}, owner="h:2"))
    store.create_run(NewRun("done", "btc_basis", {}, owner="h:2"))
    store.finish_run("done", {"x": 1}, None, RunResults())
    assert store.mark_interrupted(lambda owner: owner == "h:1") == ["dead", "queued"]
    for rid in ("dead", "queued"):
        r = store.get_run(rid)
        assert r.status is RunStatus.INTERRUPTED and r.error["code"] == "RUN-003" and r.finished_at is not None
    assert store.get_run("alive").status is RunStatus.RUNNING
    assert store.get_run("done").status is RunStatus.FINISHED and store.summary("done") == {"x": 1}


def test_transitions_of_a_missing_run_raise(store):
    for call in (lambda: store.start_run("x"), lambda: store.update_progress("x", 1, 2),
                 lambda: store.fail_run("x", {}), lambda: store.finish_run("x", {}, None, RunResults())):
        with pytest.raises(RunNotFound):
            call()
    assert store.get_run("x") is None


def test_strategy_tables(store):
    store.save_positions("s1", [PositionRecord("binance.perp", "BTC", -0.5), PositionRecord("bybit.spot", "BTC", 0.5)])
    store.save_positions("s1", [PositionRecord("bybit.spot", "BTC", 0.25)])  # replaces
    store.save_positions("s2", [PositionRecord("okx.perp", "ETH", -1.0)])
    assert store.positions("s1") == [PositionRecord("bybit.spot", "BTC", 0.25)]
    assert store.positions("none") == []
    store.add_transfers([TransferRecord("s1", 30, "withdrawal", "USDT", 10.0, "wallet"),
                         TransferRecord("s1", 20, "transfer", "USDT", 5.0, "wallet", "binance.perp", "pending"),
                         TransferRecord("s2", 25, "deposit", "USDT", 7.0, None, "wallet")])
    assert [(t.timestamp, t.status) for t in store.transfers(strategy_id="s1")] == [(20, "pending"), (30, "filled")]
    assert store.load_state("s1") is None
    store.save_state("s1", {"entered": True, "targets": {"q": 1.5, "bad": math.nan}}, run_id="live-1")
    store.save_state("s1", {"entered": False, "targets": {"q": 2.0}})
    assert store.load_state("s1") == {"entered": False, "targets": {"q": 2.0}}


def test_ping(store):
    store.ping()


def test_cancel_ends_a_queued_run_at_once_and_flags_a_running_one(store):
    store.create_run(NewRun("q", "btc_basis", {}, owner="h:1"))
    store.create_run(NewRun("r", "btc_basis", {}, status=RunStatus.RUNNING, owner="h:1"))
    store.create_run(NewRun("f", "btc_basis", {}))
    store.finish_run("f", {"x": 1}, None, RunResults())
    assert not store.cancel_requested("r")

    q = store.request_cancel("q")
    assert q.status is RunStatus.CANCELLED and q.error["code"] == "RUN-010" and q.finished_at is not None
    with pytest.raises(RunCancelled):  # a runner picking it up afterwards must not run it
        store.start_run("q", owner="h:2")
    assert store.get_run("q").status is RunStatus.CANCELLED

    r = store.request_cancel("r")
    assert r.status is RunStatus.RUNNING and r.cancel_requested_at is not None and store.cancel_requested("r")
    assert store.request_cancel("r").cancel_requested_at == r.cancel_requested_at  # idempotent
    with pytest.raises(RunConflict):  # still running: not deleted before its runner stops it
        store.delete_run("r")
    store.fail_run("r", {"code": "RUN-010", "message": "cancelled at step 3"}, RunStatus.CANCELLED)
    got = store.get_run("r")
    assert got.status is RunStatus.CANCELLED and got.error["code"] == "RUN-010" and got.finished_at is not None

    assert store.request_cancel("f").status is RunStatus.FINISHED and not store.cancel_requested("f")
    assert [x.id for x in store.list_runs(status=RunStatus.CANCELLED).items] == ["r", "q"]
    assert store.mark_interrupted(lambda owner: False) == []  # ended runs are never touched
    store.delete_run("r")
    assert store.get_run("r") is None
    for call in (lambda: store.request_cancel("nope"), lambda: store.cancel_requested("nope")):
        with pytest.raises(RunNotFound):
            call()


def test_mark_interrupted_leaves_a_row_that_moved_on_meanwhile(store):
    if isinstance(store, MemoryRunStore):
        pytest.skip("the memory store checks and marks under one lock: no row can move meanwhile")
    store.create_run(NewRun("a", "btc_basis", {}, status=RunStatus.RUNNING, owner="h:1"))
    store.create_run(NewRun("b", "btc_basis", {}, status=RunStatus.RUNNING, owner="h:1"))

    def is_alive(owner):  # while the check runs, "b" finishes (another process wrote it)
        if store.get_run("b").status is RunStatus.RUNNING:
            store.finish_run("b", {"x": 1}, None, RunResults())
        return False

    assert store.mark_interrupted(is_alive) == ["a"]
    assert store.get_run("b").status is RunStatus.FINISHED
