"""Kill anywhere against the exchange emulator: a live btc_basis session through the ccxt adapters
(`basiskit live --live --emulator URL`, credentials from the environment) is killed with SIGKILL at each
point of an order's and a transfer's life (engine/live/journal.py's crash points, chosen from an
uninterrupted reference session as in test_live_kill_anywhere.py, plus a spot order the venue took
or filled before the session stored its answer, and a withdrawal from Binance to Bybit in transit) and restarted with the same strategy
id: recovery looks the journal's open orders up at the venue by client order id, the wallet's transfers
by their deposit's transaction id, adopts the venue's balances and positions (``CcxtAccount.account``)
and resumes after the emulator's clock. Every time: no client order id reaches the emulator twice (it
counts them), no deposit twice, nothing left in flight, the session's exchange balances and positions
equal the emulator's, the spot long still hedged by the perp shorts. Bybit is a unified trading account:
its one USDT balance equals the sum of the session's ``bybit.spot`` and ``bybit.perp`` USDT (to 1e-9,
less what ccxt's 8-decimal USDT precision cut off Binance's withdrawals to it), after every restart."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from livekill import order_points, runner_env, session_dir, session_events, session_store
from test_live_ccxt_emulator import unified

MODE, START, END = "btc_basis", "2024-08-01", "2024-08-08"
BIN = Path(sys.executable).parent / "basiskit"
KEY, SECRET = "k-" + secrets.token_hex(6), secrets.token_hex(16)


def _emulator(catalog):
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer

    return EmulatorServer(Replay(catalog, START, "2024-08-09"), {KEY: SECRET})


def _runner(data: Path, url: str, sid: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = runner_env(crash, BINANCE_API_KEY=KEY, BINANCE_API_SECRET=SECRET, BYBIT_API_KEY=KEY, BYBIT_API_SECRET=SECRET)
    return subprocess.run([str(BIN), "live", MODE, "--live", "--emulator", url, "--replay", START, "--replay", END,
                           "--data-dir", str(data), "--strategy-id", sid], env=env, capture_output=True, text=True,
                          timeout=300)


def _venue(replay) -> dict:
    with replay.lock:
        return {"balances": {k: v for k, v in replay.portfolio.ledger.balances.items() if abs(v) > 1e-12},
                "positions": {(a, t): p[0] for a in replay.accounts for t, p in replay.positions(a).items()},
                "orders": {cid: o for acc in replay.by_client.values() for cid, o in acc.items()},
                "submissions": dict(replay.submissions),
                "deposits": [(m.txid, m.target, m.amount, m.status) for m in replay.movements if m.kind == "deposit"
                             and m.txid.startswith("0x") and not m.txid.startswith("0xemu")],
                "withdrawals": [(m.source, m.amount, m.status) for m in replay.movements if m.kind == "withdrawal"],
                "bybit_usdt": replay.venue_balances("bybit").get("USDT", 0.0),
                "bybit_arrived": [m.amount for m in replay.movements if m.kind == "deposit" and m.venue == "bybit"
                                  and m.txid.startswith("0xemu") and m.status == "completed"]}


@pytest.fixture(scope="module")
def reference(catalog, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill_emu_reference")
    data = session_dir(catalog, folder)
    with _emulator(catalog) as srv:
        done = _runner(data, srv.url, "ref")
        assert done.returncode == 0, done.stderr[-3000:]
        state = _venue(srv.emulator.replay)
    store = session_store(data)
    journal = store.live_orders("ref")
    store.close()
    return journal, state


def _points(journal) -> dict[str, str]:
    """``livekill.order_points`` and the points of a spot trade, a withdrawal and a bookkeeping move."""
    first_trade = 1 + next(k for k, r in enumerate(journal) if r.operation != "transfer")
    withdrawal = 1 + next(k for k, r in enumerate(journal) if r.operation == "transfer" and r.venue == "binance.perp"
                          and r.status == "arrived")
    # a margin move between Bybit's two sub-accounts: bookkeeping on its unified account (no venue call)
    bookkeeping = 1 + next(k for k, r in enumerate(journal) if r.operation == "transfer" and r.venue == "bybit.perp"
                           and r.to_venue == "bybit.spot")
    return {**order_points(journal),
            "after_submit_trade": f"after_submit:{first_trade}", "after_ack_trade": f"after_ack:{first_trade + 1}",
            "withdrawal_pending": f"after_store:{withdrawal}", "withdrawal_unanswered": f"after_submit:{withdrawal}",
            "bookkeeping_unanswered": f"after_submit:{bookkeeping}"}


def _diff(a: dict, b: dict, tol: float, floor: float = 0.0) -> list:
    """Keys where a and b differ by more than ``tol`` relative or ``floor`` absolute."""
    return [(k, a.get(k, 0.0), b.get(k, 0.0)) for k in set(a) | set(b)
            if abs(a.get(k, 0.0) - b.get(k, 0.0)) > max(floor, tol * abs(b.get(k, 0.0)))]


@pytest.mark.parametrize("point", ["before_submit", "after_submit", "after_ack", "after_submit_trade", "after_ack_trade",
                                   "mid_rebalance", "transfer_pending", "withdrawal_pending",
                                   "withdrawal_unanswered", "bookkeeping_unanswered"])
def test_sigkill_against_the_emulator_then_restart(point, reference, catalog, tmp_path):
    journal_ref, ref_state = reference
    crash = _points(journal_ref)[point]
    data = session_dir(catalog, tmp_path)
    with _emulator(catalog) as srv:
        replay = srv.emulator.replay
        killed = _runner(data, srv.url, "k", crash)
        assert killed.returncode == -9, f"not killed at {crash}: {killed.returncode} {killed.stderr[-2000:]}"
        before = _venue(replay)
        restarted = _runner(data, srv.url, "k")
        assert restarted.returncode == 0, restarted.stderr[-3000:]
        venue = _venue(replay)
    store = session_store(data)
    journal = store.live_orders("k")
    book = store.load_state("k")
    store.close()
    # 0 duplicate orders: no client order id reached the emulator twice, no transfer was deposited twice
    assert venue["submissions"] and max(venue["submissions"].values()) == 1
    assert max(Counter(d[0] for d in venue["deposits"]).values()) == 1
    assert len(venue["deposits"]) == len(ref_state["deposits"])
    # nothing left in flight; every order the emulator has is in the journal with the venue's outcome
    assert [r.client_order_id for r in journal if r.status in ("intent", "submitted")] == []
    mine = {r.client_order_id: r for r in journal}
    for cid, o in venue["orders"].items():
        assert cid in mine, f"the emulator has {cid}, the journal does not"
        assert mine[cid].status == "filled" and abs(mine[cid].filled - sum(f.qty for f in o.fills)) < 1e-12
    # the session's exchange balances and positions (its stored book at the last step) = the emulator's
    balances = {tuple(k.split("|")): v for k, v in book["balances"].items()}
    exchange = {k: v for k, v in balances.items() if k[0] not in ("wallet", "transit")}
    # (to 1e-12 of the capital: ~1e5 USDT crosses the wire as decimal strings, the sums differ in the 8th decimal)
    assert _diff(unified(exchange), unified(venue["balances"]), 1e-9, 1e-7) == []
    # Bybit's one USDT balance = the session's two sub-accounts, to 1e-9 once the withdrawals' 8-decimal cut
    # (the journal's amounts less what the venue credited) is taken off
    sent = sum(r.filled for r in journal if r.operation == "transfer" and r.venue == "binance.perp"
               and r.to_venue == "bybit.spot" and r.status in ("filled", "pending", "arrived"))
    cut = sent - sum(venue["bybit_arrived"])
    assert 0.0 <= cut < 1e-8 * max(1, len(venue["bybit_arrived"]))
    assert exchange.get(("bybit.spot", "USDT"), 0.0) > 0.0 and exchange.get(("bybit.perp", "USDT"), 0.0) > 0.0
    session_sum = exchange[("bybit.spot", "USDT")] + exchange[("bybit.perp", "USDT")]
    assert abs(venue["bybit_usdt"] - (session_sum - cut)) <= 1e-9, (venue["bybit_usdt"], session_sum, cut)
    positions = {tuple(k.split("|")): v[0] for k, v in book["positions"].items()}
    assert _diff(positions, venue["positions"], 1e-12, 1e-12) == []
    # 0 orphaned positions: the spot long and the perp shorts cancel (to the venues' lot steps), as without the crash
    spot = venue["balances"].get(("bybit.spot", "BTC"), 0.0)
    shorts = sum(venue["positions"].values())
    ref_spot = ref_state["balances"].get(("bybit.spot", "BTC"), 0.0)
    assert spot > 0 and abs(spot + shorts) <= 0.01 * spot
    assert abs(spot - ref_spot) <= 0.05 * ref_spot
    # the restart wrote what it found
    found = [e for e in session_events(data) if e["kind"].startswith("recovery_")]
    done = [e for e in found if e["kind"] == "recovery_done"]
    assert sorted(e["attempt"] for e in done) == [1, 2] and {e["mode"] for e in done} == {"live"}
    assert [e for e in found if e["kind"] == "recovery_adopted"][-1]["source"] == "exchange"
    kinds = {e["kind"] for e in found}
    if point == "before_submit":
        assert "recovery_order_not_sent" in kinds and not before["orders"] and not before["deposits"]
    if point.startswith(("after_submit", "after_ack")):
        assert "recovery_order_completed" in kinds
    if point == "after_submit_trade":  # the venue had the spot buy, the journal only its intent: found by client id
        done_ids = {e["client_order_id"] for e in found if e["kind"] == "recovery_order_completed"}
        assert journal_ref[int(crash.split(":")[1]) - 1].client_order_id.replace("ref-", "k-") in done_ids
    if point.startswith("withdrawal"):  # Binance -> Bybit margin on its way when killed: found, re-armed, arrived once
        if point == "withdrawal_pending":
            assert "recovery_transfer_pending" in kinds
        else:  # the journal had only its intent: the venue's withdrawal is found, completed as in transit
            assert any(e["kind"] == "recovery_order_completed" and e["operation"] == "transfer" and e["status"] == "pending"
                       for e in found)
        assert len(venue["withdrawals"]) == len(ref_state["withdrawals"])
        assert all(w[2] == "completed" for w in venue["withdrawals"])
    if point == "bookkeeping_unanswered":  # nothing reached the venue: not sent, the strategy decided afresh
        cid = journal_ref[int(crash.split(":")[1]) - 1].client_order_id.replace("ref-", "k-")
        assert any(e["kind"] == "recovery_order_not_sent" and e["client_order_id"] == cid for e in found)
        pooled = [e for e in found if e["kind"] == "recovery_adopted"][-1]["pooled"]
        assert [r["venue"] for r in pooled] == ["bybit"] and abs(sum(pooled[0]["split"].values())
                                                               - pooled[0]["venue_balance"]) <= 1e-9
    if point == "transfer_pending":
        assert any(d[3] == "pending" for d in before["deposits"]) and "recovery_transfer_pending" in kinds
