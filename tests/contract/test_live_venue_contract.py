"""The venue contract (``venue_contract.py``) over the live ccxt adapters (``basiskit.venues.live``),
against the exchange emulator (``basiskit.emulator``) on 127.0.0.1: ccxt's own ``binance`` / ``bybit``
classes pointed at it by URL, signed requests checked with the emulator's key.

Rules checked per account: surface, the ledger never written, value conserved through market steps
(funding settlements included) and fills, fees booked, refusals change nothing, one trade per order
stamped at the venue's time, and the venue's own balances and positions equal the fold of the events
(after fills and after days of funding). On a unified venue (Bybit's UTA, OKX's trading account: one USDT
balance for spot and perp) the world holds both sub-accounts, whose USDT must add up to the venue's one
balance (``CcxtAccount.account``: a sub-account's USDT is the venue's less its sibling's). Rule 7 (checkpoint/restore) is not asked of a live venue: a
fill at a real venue cannot be undone, so atomic groups are for on-chain transactions only.
"""

from __future__ import annotations

import math
import secrets

import pytest

from basiskit.domain.orders import Operation, Order, OrderType, Side
from basiskit.domain.portfolio import Portfolio
from basiskit.config.loader import ConfigError
from basiskit.venues.live import build_live_accounts

import venue_contract as C
from live_world import ACCOUNTS, live_world

O = Operation


def _adapters(emulator, venue: str, portfolio: Portfolio, env: dict | None = None, extra: dict | None = None) -> dict:
    from basiskit.emulator.server import ccxt_config

    cfg = ccxt_config(venue, emulator.url)
    return build_live_accounts(venue, ACCOUNTS[venue], portfolio.ledger, portfolio.attribution,
                               {"urls": cfg["urls"]["api"], "options": cfg["options"], "ccxt": cfg["ccxt"], "fill_timeout_s": 5.0,
                                **(extra or {})},
                               env or emulator.test_env)


def _spot(acc, side, amount, token="BTC", cid=None):
    return Order(O.SPOT_TRADE, acc, amount, token, side, client_order_id=cid or f"{acc}-{secrets.token_hex(4)}")


def _perp(acc, side, amount, token="BTC", cid=None):
    return Order(O.PERP_TRADE, acc, amount, token, side, client_order_id=cid or f"{acc}-{secrets.token_hex(4)}")


CASES = {
    "binance.spot": ([(_spot, Side.BUY, 0.2, "BTC"), (_spot, Side.SELL, 0.05, "BTC")],
                     [(_spot, Side.SELL, 100.0, "BTC"), (_spot, Side.BUY, 1_000.0, "BTC"), (_spot, Side.BUY, 1.0, "SOL")]),
    "binance.perp": ([(_perp, Side.SELL, 0.5, "BTC"), (_perp, Side.BUY, 0.2, "BTC"), (_perp, Side.SELL, 4.0, "ETH")],
                     [(_perp, Side.SELL, 10_000.0, "BTC"), (_perp, Side.BUY, 1.0, "SOL"), (_spot, Side.BUY, 1.0, "BTC")]),
    "bybit.spot": ([(_spot, Side.BUY, 0.2, "BTC"), (_spot, Side.BUY, 2.0, "ETH"), (_spot, Side.SELL, 0.05, "BTC")],
                   [(_spot, Side.SELL, 100.0, "BTC"), (_spot, Side.BUY, 1_000.0, "ETH")]),
    "bybit.perp": ([(_perp, Side.BUY, 2.0, "ETH"), (_perp, Side.SELL, 3.0, "ETH"), (_perp, Side.SELL, 0.3, "BTC")],
                   [(_perp, Side.BUY, 50_000.0, "ETH")]),
    "okx.spot": ([(_spot, Side.BUY, 0.2, "BTC"), (_spot, Side.BUY, 2.0, "ETH"), (_spot, Side.SELL, 0.05, "BTC")],
                 [(_spot, Side.SELL, 100.0, "BTC"), (_spot, Side.BUY, 1_000.0, "ETH"), (_spot, Side.BUY, 1.0, "SOL")]),
    "okx.perp": ([(_perp, Side.SELL, 0.5, "BTC"), (_perp, Side.BUY, 2.0, "ETH"), (_perp, Side.SELL, 0.3, "BTC")],
                 [(_perp, Side.BUY, 50_000.0, "ETH"), (_spot, Side.BUY, 1.0, "BTC")]),
}


@pytest.mark.parametrize("account", sorted(CASES))
def test_live_adapter_contract(emulator, account):
    venue = account.split(".")[0]
    portfolio = Portfolio()
    adapters = _adapters(emulator, venue, portfolio)
    try:
        adapter = adapters[account]
        # a unified venue's sub-accounts share one balance: the world holds both (the sibling's funding moves it)
        world = live_world(emulator, adapters if adapter.shared else {account: adapter}, portfolio)
        fills, refusals = CASES[account]
        C.check_surface(adapter)
        for _ in range(3):
            C.step(world)
        C.check_fold(world, adapter)
        for make, side, amt, tok in refusals:
            C.check_refusal(world, adapter, make(account, side, amt, tok))
        for make, side, amt, tok in fills:
            C.check_fill(world, adapter, make(account, side, amt, tok))
        for _ in range(30):  # across funding settlements (00:00, 08:00, 16:00 UTC)
            C.step(world)
        C.check_fold(world, adapter)
        if adapter.perp:
            kinds = {getattr(e, "kind", None) for e in world.log}
            assert "funding" in kinds, f"{account}: no funding settled over 30 hours with positions open"
            paid = sum(e.amount for e in world.log if getattr(e, "kind", None) == "funding")
            venue_paid = sum(e.amount for e in emulator.emulator.replay.funding_paid[account])
            assert math.isclose(paid, venue_paid, rel_tol=1e-12, abs_tol=1e-9), (paid, venue_paid)
    finally:
        next(iter(adapters.values())).close()


def test_resting_limit_order_fills_through_poll(emulator):
    """A limit buy rests at the venue and its fill arrives through ``poll`` with the venue's price."""
    portfolio = Portfolio()
    adapters = _adapters(emulator, "binance", portfolio)
    try:
        perp = adapters["binance.perp"]
        world = live_world(emulator, {"binance.perp": perp}, portfolio)
        C.step(world)
        mark = perp.mark_price("ETH")
        order = Order(O.PERP_TRADE, "binance.perp", 0.5, "ETH", Side.BUY, order_type=OrderType.LIMIT,
                      limit_price=mark * 1.5, client_order_id="lim-" + secrets.token_hex(4))
        out = perp.submit([order])
        assert len(out) == 1 and out[0].kind == "order_status" and out[0].status == "accepted", out
        emulator.advance(steps=1)  # the venue fills the order at its next price
        got = perp.poll(emulator.emulator.replay.t)
        fills = [e for e in got if getattr(e, "kind", None) == "trade"]
        # a buy limit above the price crosses at once: the venue fills it (taker) at the price plus slippage
        assert len(fills) == 1 and fills[0].ok and fills[0].executed_amount == pytest.approx(0.5), got
        assert fills[0].price <= order.limit_price
        portfolio.apply(fills[0])
        C.check_fold(world, perp)
    finally:
        perp.close()


def test_internal_transfer_and_withdrawal_status(emulator):
    """On Bybit's unified account a spot -> perp transfer is bookkeeping: the sub-accounts' split moves at
    once, the venue's one USDT balance and its transfer records do not, and the two sub-accounts still add
    up to it; a withdrawal to a configured address leaves now and reaches ``completed`` once the network's
    delay passed on the venue's clock."""
    from basiskit.emulator.server import ccxt_config

    portfolio = Portfolio()
    cfg = ccxt_config("bybit", emulator.url)
    adapters = build_live_accounts("bybit", ACCOUNTS["bybit"], portfolio.ledger, portfolio.attribution,
                                   {"urls": cfg["urls"]["api"], "options": cfg["options"], "ccxt": cfg["ccxt"],
                                    "addresses": {"wallet": {"USDT": "TQ7nZ2emulatorAddr"}}}, emulator.test_env)
    try:
        spot, perp = adapters["bybit.spot"], adapters["bybit.perp"]
        world = live_world(emulator, adapters, portfolio)
        C.step(world)
        replay = emulator.emulator.replay
        assert spot.shared and perp.shared
        before = perp.account().balances.get("USDT", 0.0)
        total, moves = spot.venue_balance()["USDT"], len(replay.movements_of("bybit", "transfer"))
        assert total == pytest.approx(replay.venue_balances("bybit")["USDT"], abs=1e-9)
        order = Order(O.TRANSFER, "bybit.spot", 1_000.0, "USDT", to_venue="bybit.perp",
                      client_order_id="t-" + secrets.token_hex(4))
        assert spot.is_bookkeeping(order)
        tr = spot.submit([order])[0]
        assert tr.ok and tr.deltas == (("bybit.spot", "USDT", -1_000.0), ("bybit.perp", "USDT", 1_000.0))
        portfolio.apply(tr)
        assert perp.account().balances["USDT"] == pytest.approx(before + 1_000.0, abs=1e-9)
        # nothing moved at the venue: its one balance = the sum of the two sub-accounts, before and after
        assert spot.venue_balance()["USDT"] == total and len(replay.movements_of("bybit", "transfer")) == moves
        assert portfolio.ledger.get("bybit.spot", "USDT") + portfolio.ledger.get("bybit.perp", "USDT") == \
            pytest.approx(total, abs=1e-9)
        C.check_fold(world, spot)
        C.check_fold(world, perp)
        w = spot.submit([Order(O.TRANSFER, "bybit.spot", 500.0, "USDT", to_venue="wallet",
                               client_order_id="w-" + secrets.token_hex(4))])[0]
        fee = emulator.emulator.replay.params["bybit"].transfers["USDT"]["TRC20"].withdrawal_fee
        assert w.ok and w.deltas == (("bybit.spot", "USDT", -500.0), ("transit", "USDT", 500.0 - fee))
        assert w.pnl == (("fees", "bybit.spot", -fee),)
        portfolio.apply(w)
        statuses, arrived = [], []
        for _ in range(3):  # the venue's clock passes the network's delay (TRC20: 300 s)
            emulator.advance(steps=1)
            for e in spot.poll(emulator.emulator.replay.t):
                portfolio.apply(e)
                statuses += [e.data["status"]] if e.kind == "withdrawal_status" else []
                arrived += [e] if e.kind == "transfer_arrived" else []
        assert statuses == ["completed"], statuses
        assert len(arrived) == 1 and portfolio.ledger.get("wallet", "USDT") == pytest.approx(500.0 - fee)
        assert portfolio.ledger.get("transit", "USDT") == pytest.approx(0.0, abs=1e-9)
        assert spot.poll(emulator.emulator.replay.t) == []
    finally:
        spot.close()


def test_okx_withdrawal_leaves_from_the_funding_account(emulator):
    """OKX withdraws from its funding account: the adapter moves the amount from the trading account there
    (``withdraw_from: funding``), withdraws, and reports ``completed`` once the network's delay passed."""
    portfolio = Portfolio()
    adapters = _adapters(emulator, "okx", portfolio, extra={"addresses": {"wallet": {"USDT": "TQ7nZ2emulatorAddr"}}})
    perp = adapters["okx.perp"]
    replay = emulator.emulator.replay
    try:
        world = live_world(emulator, {"okx.perp": perp}, portfolio)
        C.step(world)
        funding0 = replay.balances("okx.funding").get("USDT", 0.0)
        w = perp.submit([Order(O.TRANSFER, "okx.perp", 400.0, "USDT", to_venue="wallet",
                               client_order_id="w-" + secrets.token_hex(4))])[0]
        fee = replay.params["okx"].transfers["USDT"]["TRC20"].withdrawal_fee
        assert w.ok and w.deltas == (("okx.perp", "USDT", -400.0), ("transit", "USDT", 400.0 - fee)), w
        portfolio.apply(w)
        assert replay.balances("okx.funding").get("USDT", 0.0) == pytest.approx(funding0)  # passed through
        C.check_fold(world, perp)
        statuses = []
        for _ in range(2):  # TRC20: 300 s
            emulator.advance(steps=1)
            statuses += [e.data["status"] for e in perp.poll(replay.t) if e.kind == "withdrawal_status"]
        assert statuses == ["completed"], statuses
    finally:
        perp.close()


def test_bad_credentials_are_refused_and_never_shown(emulator):
    """A wrong secret is refused by the emulator's signature check as Binance refuses it (ccxt's
    AuthenticationError -> ConfigError), and neither the key nor the secret appears in the error or
    the adapter's repr."""
    portfolio = Portfolio()
    env = dict(emulator.test_env)
    env["BINANCE_API_SECRET"] = "wrong-" + secrets.token_hex(16)
    adapters = _adapters(emulator, "binance", portfolio, env)
    try:
        spot = adapters["binance.spot"]
        with pytest.raises(ConfigError) as exc:
            spot.account()
        text = str(exc.value) + repr(spot) + repr(spot.session) + repr(spot.session.credentials)
        for secret in (env["BINANCE_API_KEY"], env["BINANCE_API_SECRET"]):
            assert secret not in text
        assert "Signature" in str(exc.value)
    finally:
        spot.close()


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_stop_order_rests_then_triggers_at_the_venue(emulator, venue):
    """A stop-market buy above the price rests at the venue (Binance USDT-M: an algo order) and fills
    once the price rises through it; one set far above never fills and is cancelled by client id."""
    portfolio = Portfolio()
    adapters = _adapters(emulator, venue, portfolio)
    perp = adapters[f"{venue}.perp"]
    try:
        world = live_world(emulator, {perp.name: perp}, portfolio)
        C.step(world)
        replay = emulator.emulator.replay
        mark = perp.mark_price("BTC")
        # the first step at which the recorded BTC price rises 0.2 % above the mark: the stop's trigger
        trigger = mark * 1.002
        far = Order(O.PERP_TRADE, perp.name, 0.01, "BTC", Side.BUY, order_type=OrderType.STOP, stop_price=mark * 3,
                    client_order_id="far-" + secrets.token_hex(4))
        stop = Order(O.PERP_TRADE, perp.name, 0.01, "BTC", Side.BUY, order_type=OrderType.STOP, stop_price=trigger,
                     client_order_id="stop-" + secrets.token_hex(4))
        for o in (far, stop):
            out = perp.submit([o])
            assert [e.kind for e in out] == ["order_status"] and out[0].status == "accepted", out
        fills = []
        for _ in range(48):
            emulator.advance(steps=1)
            got = perp.poll(replay.t)
            fills += [e for e in got if e.kind == "trade"]
            if fills:
                break
        assert len(fills) == 1 and fills[0].order.client_order_id == stop.client_order_id, fills
        assert fills[0].price >= trigger  # a stop buy fills at or above its trigger
        assert [e.status for e in perp.cancel(far.client_order_id)] == ["cancelled"]
        assert replay.find(perp.name, client_id=far.client_order_id).record.status.value == "cancelled"
    finally:
        perp.close()


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_a_lost_answer_is_not_an_order_sent_twice(emulator, venue):
    """The venue executes a market order but its answer is lost (connection closed): the adapter looks
    the client order id up at the venue, adopts the order it finds and books its fill once -- the venue
    holds exactly one order with that id and the fold of the events equals its balances."""
    portfolio = Portfolio()
    adapters = _adapters(emulator, venue, portfolio)
    perp = adapters[f"{venue}.perp"]
    try:
        world = live_world(emulator, {perp.name: perp}, portfolio)
        C.step(world)
        path = {"binance": "/fapi/v1/order", "bybit": "/v5/order/create", "okx": "/api/v5/trade/batch-orders"}[venue]
        emulator.fault(path, "drop_response", method="POST")
        order = _perp(perp.name, Side.BUY, 0.01, "ETH")
        tr = C.submit(world, perp, order)
        assert tr.ok and tr.executed_amount == pytest.approx(0.01)
        same = [o for o in emulator.emulator.replay.all_orders(perp.name)
                if o.record.client_order_id == order.client_order_id]
        assert len(same) == 1
        C.check_fold(world, perp)
    finally:
        perp.close()


def test_venue_unreachable_is_retried_then_venue_unavailable(emulator):
    """HTTP 503 (ccxt's ExchangeNotAvailable, a NetworkError) is retried with backoff: one refusal is
    absorbed; a venue that keeps refusing ends in VenueUnavailable (RetryWithBackoff)."""
    from basiskit.errors.exceptions import RetryWithBackoff, VenueUnavailable

    portfolio = Portfolio()
    adapters = _adapters(emulator, "binance", portfolio)
    spot = adapters["binance.spot"]
    try:
        emulator.fault("/api/v3/account", "unavailable", method="GET", count=1)
        assert "USDT" in spot.account().balances
        emulator.fault("/api/v3/account", "unavailable", method="GET", count=spot.session.attempts)
        with pytest.raises(VenueUnavailable) as exc:
            spot.account()
        assert isinstance(exc.value, RetryWithBackoff) and exc.value.code == "VENUE-001"
    finally:
        spot.close()
