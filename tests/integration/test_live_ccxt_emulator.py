"""A live btc_basis session through the ccxt adapters against the exchange emulator (`--live --emulator`):
every order goes to the emulated Binance / Bybit through ccxt's own classes (signed requests, the
session's credentials from the environment, given to the emulator too), the wallet's transfers to the
exchange accounts arrive as the emulator's deposits, the emulator's clock is stepped by the session.
Replaying two recorded days, the session makes the backtest's orders (sequence, sides, prices, outcomes;
amounts truncated to each venue's lot step, as ccxt sends them) -- as the emulator itself recorded
them -- and ends at the backtest's equity within the bound the rounding sets; the exchange accounts'
balances and positions the session ends with are the emulator's own. Bybit is a unified trading account
(one USDT balance for spot and perp, as the real venue): the session's ``bybit.spot`` and ``bybit.perp``
USDT add up to it, and the session's spot -> perp margin moves on Bybit are bookkeeping (no venue call)."""

from __future__ import annotations

import math
import secrets

from basiskit.domain.time import to_ns
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.live_service import LiveRequest, open_live_store, start_session

START, END = "2024-08-01T00:00:00Z", "2024-08-03T00:00:00Z"
LOT_STEP = {"bybit.spot": 1e-6, "binance.perp": 1e-5, "bybit.perp": 1e-3}
"""The emulated markets' amount steps (BTCUSDT: Bybit spot basePrecision, Binance USD-M quantityPrecision 5,
Bybit linear qtyStep): ccxt truncates an order's amount to them, as the real venues require."""


def _range(catalog, account: str, token: str) -> float:
    """High - low of the instrument's hourly bars over the period (USDT)."""
    venue, kind = account.split(".")
    df = catalog.load(f"{kind}.{venue}.{token}USDT")
    w = df[(df.index >= START) & (df.index <= END)]
    return float(w["high"].max() - w["low"].min())


def unified(balances: dict) -> dict:
    """``balances`` ((account, token) -> units) with a unified venue's sub-accounts' USDT summed into one
    ``(venue, "USDT")`` entry (the venue's one balance; ``emulator.replay.UNIFIED``); zeros dropped."""
    from basiskit.emulator.replay import UNIFIED

    out: dict = {}
    for (acc, tok), v in balances.items():
        venue = acc.split(".")[0]
        k = (venue, tok) if venue in UNIFIED and tok == "USDT" and acc.split(".")[-1] in ("spot", "perp") else (acc, tok)
        out[k] = out.get(k, 0.0) + v
    return {k: v for k, v in out.items() if abs(v) > 1e-12}


def _orders(trades):
    return [(t.order.venue, t.order.operation.value, t.order.side.value if t.order.side else None, t.order.token,
             t.order.amount, t.status.value, t.executed_amount, t.price) for t in trades]


def test_live_session_through_ccxt_on_the_emulator_makes_the_backtests_orders(catalog, tmp_path, monkeypatch):
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer

    key, secret = "t-" + secrets.token_hex(6), secrets.token_hex(16)
    for v in ("BINANCE", "BYBIT"):
        monkeypatch.setenv(f"{v}_API_KEY", key)
        monkeypatch.setenv(f"{v}_API_SECRET", secret)
    monkeypatch.delenv("BASISKIT_LIVE_CRASH_AT", raising=False)
    backtest = run_backtest(BacktestRequest("btc_basis", START, END, 100_000.0), catalog)
    data = tmp_path / "data"
    with EmulatorServer(Replay(catalog, START, "2024-08-04"), {key: secret}) as srv:
        store = open_live_store(data)
        try:
            res = start_session(LiveRequest("btc_basis", "live", 100_000.0, replay=(START, END), emulator=srv.url,
                                            strategy_id="ccxt"), catalog, store, data)
        finally:
            store.close()
        replay = srv.emulator.replay
        emu_orders = sorted((o for acc in replay.by_client.values() for o in acc.values()), key=lambda o: o.order_id)
        emu_fills = [(o.account, o.order.token, o.order.side.value, o.order.amount,
                      sum(f.qty for f in o.fills), sum(f.qty * f.price for f in o.fills) / sum(f.qty for f in o.fills))
                     for o in emu_orders]
        emu_balances = {k: v for k, v in replay.portfolio.ledger.balances.items() if abs(v) > 1e-12}
        emu_positions = {(a, t): p[0] for a in replay.accounts for t, p in replay.positions(a).items()}
        deposits = [(m.target, m.token, m.amount, m.status) for m in replay.movements if m.kind == "deposit"]
        assert replay.t == to_ns(END)  # the session stepped the emulator's clock to its own end
    sim = res.outcome.sim
    assert res.status["state"] == "finished"
    bt, live = _orders(backtest.loop.trades), _orders(sim.loop.trades)
    assert len(bt) >= 6 and any(o[1] == "transfer" for o in bt) and any(o[1] == "perp_trade" for o in bt)
    # the same orders in sequence, sides, prices and outcomes; the amounts are the backtest's truncated to the
    # venue's lot step (ccxt sends amount_to_precision: the emulated markets state the venues' real steps), the
    # wallet's transfers exact
    assert [o[:4] + o[5:6] + o[7:] for o in live] == [o[:4] + o[5:6] + o[7:] for o in bt]
    for got, want in zip(live, bt):
        step = LOT_STEP.get(got[0], 0.0)
        assert got[4] == got[6]  # the session books what the venue filled
        if step:
            assert abs(got[4] - math.floor(want[4] / step + 1e-9) * step) <= 1e-12 and 0.0 <= want[4] - got[4] < step
        else:
            assert got[4] == want[4]
    # the venue's own record: each exchange order, in the order it arrived, at the backtest's amount and price
    bt_venue = [(o.order.venue, o.order.token, o.order.side.value, o.order.amount, o.executed_amount, o.price)
                for o in backtest.loop.trades if o.order.operation.value != "transfer"]
    assert len(emu_fills) == len(bt_venue)
    live_venue = [o for o in live if o[1] != "transfer"]
    for got, want, mine in zip(emu_fills, bt_venue, live_venue):
        assert got[:3] == want[:3] and abs(got[3] - mine[4]) <= 1e-12 and abs(got[4] - mine[6]) <= 1e-12
        assert abs(got[5] - want[5]) <= 1e-9 * want[5]
    # the wallet's transfers reached the venue as deposits, all credited
    assert sorted(deposits) == sorted((o.order.to_venue, o.order.token, o.order.amount, "completed")
                                      for o in backtest.loop.trades if o.order.operation.value == "transfer")
    # equity: the backtest's less what the rounding left unhedged -- bounded by each order's rounding remainder
    # x (the instrument's price range over the period + a price x 0.2 % for its fees and slippage)
    bound = sum((want[4] - got[4]) * (_range(catalog, got[0], got[3]) + want[7] * 2e-3)
                for got, want in zip(live, bt) if got[1] != "transfer")
    gap = abs(sim.loop.equity[-1] - backtest.loop.equity[-1])
    assert 0.0 < bound < 1.0 and gap <= bound, (gap, bound)
    # the session's exchange accounts = the emulator's (balances incl. fees and funding; perp positions)
    # (Bybit's one USDT balance = the sum of the session's two sub-accounts')
    mine = unified({k: v for k, v in sim.loop.final_balances.items() if k[0] != "wallet"})
    emu_balances = unified(emu_balances)
    assert ("bybit", "USDT") in mine and set(mine) == set(emu_balances)
    assert all(abs(mine[k] - emu_balances[k]) <= 1e-9 * max(1.0, abs(v)) for k, v in emu_balances.items())
    assert {k: v[0] for k, v in sim.loop.final_positions.items() if v[0]} == emu_positions


WEEK_END = "2024-08-08T00:00:00Z"  # 33 orders: entry, re-targets, margin moved between venues (withdrawals)


def test_live_session_on_a_fine_lot_emulator_is_the_backtest_to_1e_9(catalog, tmp_path, monkeypatch):
    """The emulator's markets stating a 1e-12 lot step (``Replay(lot_step=...)``; the simulators behind it trade
    any amount): a week through the ccxt adapters -- perp margin moved to the spot account by withdrawals
    from Binance and, on Bybit's unified account, by bookkeeping between its two sub-accounts (no venue
    call) -- makes the backtest's orders (sequence, sides, prices, outcomes exact; amounts to the step) and
    ends at its equity to 1e-9, with Bybit's one USDT balance = the session's two sub-accounts' sum to 1e-9."""
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer

    key, secret = "t-" + secrets.token_hex(6), secrets.token_hex(16)
    for v in ("BINANCE", "BYBIT"):
        monkeypatch.setenv(f"{v}_API_KEY", key)
        monkeypatch.setenv(f"{v}_API_SECRET", secret)
    monkeypatch.delenv("BASISKIT_LIVE_CRASH_AT", raising=False)
    backtest = run_backtest(BacktestRequest("btc_basis", START, WEEK_END, 100_000.0), catalog)
    data = tmp_path / "data"
    with EmulatorServer(Replay(catalog, START, "2024-08-09", lot_step="0.000000000001"), {key: secret}) as srv:
        store = open_live_store(data)
        try:
            res = start_session(LiveRequest("btc_basis", "live", 100_000.0, replay=(START, WEEK_END),
                                            emulator=srv.url, strategy_id="fine"), catalog, store, data)
        finally:
            store.close()
        replay = srv.emulator.replay
        withdrawals = [(m.source, m.amount, m.status) for m in replay.movements if m.kind == "withdrawal"]
        emu_balances = {k: v for k, v in replay.portfolio.ledger.balances.items() if abs(v) > 1e-12}
        bybit_usdt = replay.venue_balances("bybit")["USDT"]  # the unified account's one USDT balance
        venue_moves = replay.movements_of("bybit", "transfer")
        arrived = sorted(m.amount for m in replay.movements if m.kind == "deposit" and m.venue == "bybit"
                         and m.txid.startswith("0xemu"))  # Binance's withdrawals credited on Bybit
    store = open_live_store(data)
    try:
        journal = {r.client_order_id: r for r in store.live_orders("fine")}
    finally:
        store.close()
    sim = res.outcome.sim
    bt, live = _orders(backtest.loop.trades), _orders(sim.loop.trades)
    cross = [o for o in bt if o[1] == "transfer" and o[0] != "wallet" and o[0].split(".")[0] != "bybit"]
    assert len(bt) >= 30 and cross  # margin moved from Binance to Bybit's spot account
    assert [o[:4] + o[5:6] + o[7:] for o in live] == [o[:4] + o[5:6] + o[7:] for o in bt]
    for got, want in zip(live, bt):
        assert abs(got[4] - want[4]) <= 2e-12 * max(1.0, want[4] * 1e3 if got[1] == "transfer" else 1.0), (got, want)
    # every cross-venue transfer left Binance as a withdrawal of amount + the TRC20 fee and arrived
    assert sorted(round(w[1], 6) for w in withdrawals) == sorted(round(o[6], 6) for o in live if o in
                                                                 [x for x in live if x[1] == "transfer" and x[0] == "binance.perp"])
    assert all(w[2] == "completed" for w in withdrawals)
    assert abs(sim.loop.equity[-1] - backtest.loop.equity[-1]) <= 1e-9 * backtest.loop.equity[-1]
    # Bybit's spot <-> perp margin moves: bookkeeping between the sub-accounts, journaled so, nothing sent
    inner = [t for t in sim.loop.trades if t.order.operation.value == "transfer" and t.order.venue.startswith("bybit.")
             and (t.order.to_venue or "").startswith("bybit.")]
    assert inner and all(t.ok for t in inner) and venue_moves == []
    assert all("bookkeeping" in journal[t.order.client_order_id].data for t in inner)
    # the venue's one USDT balance = the sum of the session's two sub-accounts, to 1e-9 -- less what ccxt's
    # USDT precision (8 decimals) cut off the amounts it sent Binance's withdrawals for (the venue credited
    # the truncated amount; the session books its own): measured on the emulator's deposits, ~1e-8 in all
    fb = sim.loop.final_balances
    session_sum = fb.get(("bybit.spot", "USDT"), 0.0) + fb.get(("bybit.perp", "USDT"), 0.0)
    assert fb.get(("bybit.spot", "USDT"), 0.0) > 0.0 and fb.get(("bybit.perp", "USDT"), 0.0) > 0.0
    sent = sorted(t.executed_amount for t in sim.loop.trades if t.order.operation.value == "transfer"
                  and t.order.venue == "binance.perp" and t.order.to_venue == "bybit.spot")
    assert len(sent) == len(arrived) >= 1 and all(0.0 <= a - b < 1e-8 for a, b in zip(sent, arrived))
    cut = sum(sent) - sum(arrived)
    assert abs(bybit_usdt - (session_sum - cut)) <= 1e-9, (bybit_usdt, session_sum, cut)
    # the session's exchange accounts = the emulator's to 1e-12 of the capital (float sums of ~1e5 USDT amounts)
    mine = unified({k: v for k, v in fb.items() if k[0] != "wallet"})
    held = unified({k: v for k, v in emu_balances.items() if k[0] in ("binance.perp", "bybit.spot", "bybit.perp")})
    assert set(held) == set(mine) and all(abs(mine[k] - v) <= 1e-7 for k, v in held.items()), (mine, held)
