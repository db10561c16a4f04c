"""The emulator's unified accounts (Bybit's unified trading account, OKX's trading account) through ccxt's
own ``bybit`` / ``okx`` classes: ONE USDT balance for spot and perp, whichever account type ccxt asks for;
a spot market buy is paid from it (notional at the ask plus the taker fee, from the venue config), the
spot simulator keeping no USDT of its own; a spot buy larger than what the perp's margin can release is
refused; Bybit has no SPOT / CONTRACT wallets to transfer between. Checked against the replay's ledger and
its venue parameters, not against the dialect."""

from __future__ import annotations

import asyncio
import secrets

import ccxt
import ccxt.async_support as ccxt_async
import pytest


def _run(emulator, venue: str, body):
    from basiskit.emulator.server import ccxt_config

    cfg = ccxt_config(venue, emulator.url)
    env = emulator.test_env
    keys = {"apiKey": env[f"{venue.upper()}_API_KEY"], "secret": env[f"{venue.upper()}_API_SECRET"]}
    if venue == "okx":
        keys["password"] = env["OKX_API_PASSPHRASE"]

    async def run():
        client = getattr(ccxt_async, venue)({**cfg["ccxt"], "urls": cfg["urls"], "options": cfg["options"], **keys})
        try:
            return await body(client)
        finally:
            await client.close()
    return asyncio.run(run())


def _wallet(balance: dict, venue: str) -> dict:
    """The wallet balances (without unrealised PnL: ccxt's ``total`` is OKX's equity) in the raw answer, where
    the live venue config says they are (``wallet_balance``)."""
    from basiskit.venues.live.config import load_live_venue

    wb = load_live_venue(venue).accounts["perp"].wallet_balance
    rows = balance["info"]
    for k in wb.path:
        rows = rows[k]
    return {r[wb.key]: float(r[wb.field]) for r in rows}


SPOT_PARAMS = {"bybit": ({"type": "spot"}, {"type": "swap"}), "okx": ({"type": "trading"}, {"type": "trading"})}


@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_one_usdt_balance_for_spot_and_perp_pays_the_spot_buys(emulator, venue):
    replay = emulator.emulator.replay
    spot_acc, perp_acc = f"{venue}.spot", f"{venue}.perp"
    pool0 = replay.venue_balances(venue)["USDT"]
    btc0 = replay.portfolio.ledger.get(spot_acc, "BTC")
    ask = replay.book_ticker(spot_acc, "BTC")[1]
    taker = replay.fee_rates(spot_acc)[1]
    qty = 0.01
    extra = {"marketUnit": "baseCoin"} if venue == "bybit" else {"tgtCcy": "base_ccy"}

    async def body(c):
        await c.load_markets()
        a, b = [await c.fetch_balance(p) for p in SPOT_PARAMS[venue]]
        await c.create_order("BTC/USDT", "market", "buy", qty, None,
                             {"clientOrderId": "u" + secrets.token_hex(6), **extra})
        after = await c.fetch_balance(SPOT_PARAMS[venue][0])
        with pytest.raises(ccxt.InsufficientFunds):  # more than the pool can release: refused, nothing moves
            await c.create_order("BTC/USDT", "market", "buy", 10 * pool0 / ask, None,
                                 {"clientOrderId": "u" + secrets.token_hex(6), **extra})
        return a, b, after, c.options.get("enableUnifiedAccount")
    spot_view, perp_view, after, uta = _run(emulator, venue, body)
    # one balance, read the same whichever account type ccxt asks for, = the replay's pool
    assert _wallet(spot_view, venue)["USDT"] == _wallet(perp_view, venue)["USDT"] == pytest.approx(pool0, abs=1e-6)
    if venue == "bybit":
        assert uta is True  # ccxt read a unified trading account from the venue
    # the spot buy: notional at the ask plus the taker fee, paid from the one balance
    cost = qty * ask * (1 + taker)
    assert _wallet(after, venue)["USDT"] == pytest.approx(pool0 - cost, abs=1e-6)
    assert replay.venue_balances(venue)["USDT"] == pytest.approx(pool0 - cost, abs=1e-9)
    assert replay.portfolio.ledger.get(spot_acc, "BTC") == pytest.approx(btc0 + qty, abs=1e-12)
    assert after["BTC"]["total"] == pytest.approx(btc0 + qty, abs=1e-9)
    assert replay.portfolio.ledger.get(spot_acc, "USDT") == 0.0  # the spot simulator keeps none between calls
    assert replay.holder(spot_acc, "USDT") == perp_acc and replay.holder(perp_acc, "BTC") == spot_acc


def test_bybit_unified_account_has_no_spot_or_contract_wallet(emulator):
    async def body(c):
        await c.load_markets()
        for call in (lambda: c.privateGetV5AccountWalletBalance({"accountType": "SPOT"}),
                     lambda: c.transfer("USDT", 1.0, "spot", "swap")):
            with pytest.raises(ccxt.BadRequest):
                await call()
    _run(emulator, "bybit", body)
