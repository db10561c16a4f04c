"""A live btc_basis session through the ccxt adapters against the exchange emulator (`--live --emulator`):
every order goes to the emulated Binance / Bybit through ccxt's own classes (signed requests, the
session's credentials from the environment, given to the emulator too), the wallet's transfers to the
exchange accounts arrive as the emulator's deposits, the emulator's clock is stepped by the session.

At the venues' real lot sizes (``Replay(venue_lots=True)``: the emulated markets state -- and enforce --
the venue configs' BTCUSDT amount steps and minimums, which the session reads from ccxt's markets), the
session makes exactly the orders of a backtest with the same lot sizes switched on (sequence, sides,
amounts, prices, outcomes), as the emulator itself recorded them, and ends at its equity to 1e-9; the
exchange accounts' balances and positions the session ends with are the emulator's own. Bybit is a unified
trading account (one USDT balance for spot and perp, as the real venue): the session's ``bybit.spot`` and
``bybit.perp`` USDT add up to it, and the session's spot -> perp margin moves on Bybit are bookkeeping (no
venue call)."""

from __future__ import annotations

import secrets

from basiskit.domain.lots import LotSize
from basiskit.domain.time import to_ns
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.live_service import LiveRequest, open_live_store, start_session

START, END = "2024-08-01T00:00:00Z", "2024-08-03T00:00:00Z"
REAL_LOTS = {"bybit.spot": LotSize(0.000001, 0.000048, 1.0), "binance.perp": LotSize(0.001, 0.001, 100.0),
             "bybit.perp": LotSize(0.001, 0.001, 5.0)}
"""BTCUSDT lot sizes (step, minimum amount, minimum notional USDT) as the venues publish them: Bybit spot
lotSizeFilter basePrecision / minOrderQty / minOrderAmt, Binance USD-M LOT_SIZE stepSize / minQty and
MIN_NOTIONAL, Bybit linear qtyStep / minOrderQty / minNotionalValue (sources in configs/venues/*.yaml)."""
LOTS_ON = {"venues": {"bybit": {"spot": {"lot_sizes": {"enabled": True}}, "perp": {"lot_sizes": {"enabled": True}}},
                      "binance": {"perp": {"lot_sizes": {"enabled": True}}}}}


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


def _on_grid(amount: float, step: float) -> bool:
    """Whether ``amount`` is a whole number of ``step`` s (to float precision)."""
    k = round(amount / step)
    return k >= 1 and abs(amount - k * step) <= 1e-12


def test_live_session_through_ccxt_at_real_lot_sizes_makes_the_backtests_orders(catalog, tmp_path, monkeypatch):
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer

    key, secret = "t-" + secrets.token_hex(6), secrets.token_hex(16)
    for v in ("BINANCE", "BYBIT"):
        monkeypatch.setenv(f"{v}_API_KEY", key)
        monkeypatch.setenv(f"{v}_API_SECRET", secret)
    monkeypatch.delenv("BASISKIT_LIVE_CRASH_AT", raising=False)
    backtest = run_backtest(BacktestRequest("btc_basis", START, END, 100_000.0, overrides=LOTS_ON), catalog)
    data = tmp_path / "data"
    with EmulatorServer(Replay(catalog, START, "2024-08-04", venue_lots=True), {key: secret}) as srv:
        store = open_live_store(data)
        try:  # no lot override for the session: its lots are the emulated markets' (ccxt's markets)
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
    # the session read the lot sizes from ccxt's markets (the emulator's exchangeInfo / instruments-info)
    assert {a: sim.venues.accounts[a].lot("BTC") for a in REAL_LOTS} == REAL_LOTS
    bt, live = _orders(backtest.loop.trades), _orders(sim.loop.trades)
    assert len(bt) >= 6 and any(o[1] == "transfer" for o in bt) and any(o[1] == "perp_trade" for o in bt)
    assert live == bt  # sequence, sides, amounts, outcomes, fills, prices: exact
    for o in bt:  # every exchange order on its market's grid and above its minimums
        if o[1] != "transfer":
            lot = REAL_LOTS[o[0]]
            assert o[5] == "filled" and _on_grid(o[4], lot.step), o
            assert o[4] >= lot.min_amount and o[4] * o[7] >= lot.min_notional * (1 - 1e-3), o
    # one hedge size: the spot bought = the shorts sold (both legs on the 0.001 grid)
    spot = sum(o[4] for o in bt if o[0] == "bybit.spot" and o[2] == "buy")
    shorts = sum(o[4] for o in bt if o[1] == "perp_trade" and o[2] == "sell")
    assert abs(spot - shorts) <= 1e-12 and _on_grid(spot, 0.001)
    # the venue's own record: each exchange order, in the order it arrived, at the backtest's amount and price
    bt_venue = [(o.order.venue, o.order.token, o.order.side.value, o.order.amount, o.executed_amount, o.price)
                for o in backtest.loop.trades if o.order.operation.value != "transfer"]
    assert len(emu_fills) == len(bt_venue)
    for got, want in zip(emu_fills, bt_venue):
        assert got[:5] == want[:5] and abs(got[5] - want[5]) <= 1e-9 * want[5]
    # the wallet's transfers reached the venue as deposits, all credited
    assert sorted(deposits) == sorted((o.order.to_venue, o.order.token, o.order.amount, "completed")
                                      for o in backtest.loop.trades if o.order.operation.value == "transfer")
    assert abs(sim.loop.equity[-1] - backtest.loop.equity[-1]) <= 1e-9 * backtest.loop.equity[-1]
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
    # amounts to a few steps: the session rounds to the markets' 1e-12 lots (btc_basis rounds each short down to
    # the step and the spot to their sum; a re-target's order is target - held, each rounded: a few steps off
    # the lot-free backtest's, bounded here by 10 steps)
    for got, want in zip(live, bt):
        assert abs(got[4] - want[4]) <= 1e-11 * max(1.0, want[4] * 1e3 if got[1] == "transfer" else 1.0), (got, want)
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
