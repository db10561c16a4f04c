"""Kill anywhere: a live btc_basis session against a simulated exchange in its own process is killed
with SIGKILL at each point of an order's and a transfer's life, then restarted with the same
strategy id. Every time: no client order id reaches the exchange twice, no order is left in flight,
the session's balances and positions equal the exchange's, and the book is hedged (no orphaned leg).

The points (``BASISKIT_LIVE_CRASH_AT``, engine/live/journal.py): before the first order is handed over;
after the exchange took an order, before the session stored its answer (``after_submit``); after the
fill was applied in memory, before it was stored (``after_ack``); between two orders of a rebalance
step (``after_store`` at the first leg of a multi-leg rebalance); right after a transfer was accepted
and is in transit (``after_store`` at a delayed transfer). Which order is which comes from an
uninterrupted reference session on its own exchange.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from basiskit.engine.live.sim_exchange import ExchangeClient
from livekill import order_points, runner_env, session_dir, session_events, session_store

MODE, START, END = "btc_basis", "2024-08-01", "2024-08-08"
BIN = Path(sys.executable).parent / "basiskit"


class Exchange:
    def __init__(self, home: Path, folder: Path) -> None:
        self.addr = folder / "exchange.addr"
        self.proc = subprocess.Popen([sys.executable, "-m", "basiskit.engine.live.sim_exchange", MODE, START, END,
                                      "100000", str(self.addr)], env=dict(os.environ, BASISKIT_HOME=str(home)),
                                     stdout=subprocess.DEVNULL, stderr=open(folder / "exchange.err", "w"))
        deadline = time.monotonic() + 120
        while not self.addr.exists():
            assert self.proc.poll() is None, (folder / "exchange.err").read_text()
            assert time.monotonic() < deadline, "the exchange did not start"
            time.sleep(0.1)

    def state(self) -> dict:
        c = ExchangeClient(self.addr)
        try:
            return c.state(c.now() + 1)
        finally:
            c.close()

    def close(self) -> None:
        try:
            c = ExchangeClient(self.addr)
            c.stop()
            c.close()
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.proc.wait(timeout=30)


def _runner(data: Path, ex: Exchange, sid: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = runner_env(crash)
    return subprocess.run([str(BIN), "live", MODE, "--live", "--exchange", str(ex.addr), "--replay", START,
                           "--replay", END, "--data-dir", str(data), "--strategy-id", sid],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def reference(catalog, tmp_path_factory):
    """An uninterrupted session: its journal tells which order is the first leg of a multi-leg
    rebalance and which is a delayed transfer."""
    folder = tmp_path_factory.mktemp("kill_reference")
    data = session_dir(catalog, folder)
    ex = Exchange(Path(catalog.data_dir), folder)
    try:
        done = _runner(data, ex, "ref")
        assert done.returncode == 0, done.stderr
        state = ex.state()
    finally:
        ex.close()
    store = session_store(data)
    journal = store.live_orders("ref")
    store.close()
    return journal, state


def _close(a: dict, b: dict, tol: float = 1e-6) -> list:
    return [(k, a.get(k, 0.0), b.get(k, 0.0)) for k in set(a) | set(b) if abs(a.get(k, 0.0) - b.get(k, 0.0)) > tol]


@pytest.mark.parametrize("point", ["before_submit", "after_submit", "after_ack", "mid_rebalance", "transfer_pending"])
def test_sigkill_then_restart_leaves_no_duplicate_no_orphan_and_the_exchanges_balances(point, reference, catalog,
                                                                                      tmp_path):
    journal_ref, ref_state = reference
    crash = order_points(journal_ref)[point]
    data = session_dir(catalog, tmp_path)
    ex = Exchange(Path(catalog.data_dir), tmp_path)
    try:
        killed = _runner(data, ex, "k", crash)
        assert killed.returncode == -9, f"not killed at {crash}: {killed.returncode} {killed.stderr[-2000:]}"
        before = ex.state()
        restarted = _runner(data, ex, "k")
        assert restarted.returncode == 0, restarted.stderr[-3000:]
        venue = ex.state()
    finally:
        ex.close()
    store = session_store(data)
    journal = store.live_orders("k")
    book = store.load_state("k")
    store.close()
    # 0 duplicate orders: no client order id reached the exchange twice
    assert venue["submits"] and max(venue["submits"].values()) == 1
    # nothing left in flight; every order the exchange has is in the journal with the exchange's outcome
    assert [r.client_order_id for r in journal if r.status in ("intent", "submitted")] == []
    mine = {r.client_order_id: r for r in journal}
    for cid, (status, filled, _price, _venue, op) in venue["orders"].items():
        assert cid in mine, f"the exchange has {cid}, the journal does not"
        expect = {"filled": ("filled", "arrived", "pending")}.get(status, (status,))
        assert mine[cid].status in expect and abs(mine[cid].filled - filled) < 1e-9
    # balances and positions equal the exchange's (the session's stored book at its last step)
    balances = {tuple(k.split("|")): v for k, v in book["balances"].items()}
    assert _close(balances, venue["balances"]) == []
    positions = {tuple(k.split("|")): v[0] for k, v in book["positions"].items()}
    assert _close(positions, {k: v[0] for k, v in venue["positions"].items()}, 1e-9) == []
    # 0 orphaned positions: the spot long and the perp shorts still cancel, as in the uninterrupted run
    spot = venue["balances"].get(("bybit.spot", "BTC"), 0.0)
    shorts = sum(v[0] for v in venue["positions"].values())
    ref_spot = ref_state["balances"].get(("bybit.spot", "BTC"), 0.0)
    assert spot > 0 and abs(spot + shorts) <= 0.01 * spot
    assert abs(spot - ref_spot) <= 0.05 * ref_spot  # the same book as without the crash, within re-pricing
    # the restart wrote what it found
    found = [e for e in session_events(data) if e["kind"].startswith("recovery_")]
    done = [e for e in found if e["kind"] == "recovery_done"]
    assert sorted(e["attempt"] for e in done) == [1, 2] and {e["mode"] for e in done} == {"live"}
    adopted = [e for e in found if e["kind"] == "recovery_adopted"][-1]
    assert adopted["source"] == "exchange"
    kinds = {e["kind"] for e in found}
    if point == "before_submit":
        assert "recovery_order_not_sent" in kinds and not before["orders"]
    if point in ("after_submit", "after_ack"):
        assert "recovery_order_completed" in kinds
    if point == "transfer_pending":
        assert before["in_transit"] and "recovery_transfer_pending" in kinds
