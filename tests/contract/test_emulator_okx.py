"""The emulator's OKX v5 dialect through ccxt's own ``okx`` class: its signature check (key, secret,
passphrase), the prices it serves (Bybit's recording under OKX's names, ``emulator.price_sources``) with
OKX's own funding, contract sizes, the funding account (deposit, transfer to trading, withdrawal with its
status) -- each checked against the replay's state or the recorded data, not against the dialect."""

from __future__ import annotations

import asyncio
import secrets

import ccxt
import ccxt.async_support as ccxt_async
import pytest

NS_MS = 1_000_000


def _run(emulator, body, **creds):
    from basiskit.emulator.server import ccxt_config

    cfg = ccxt_config("okx", emulator.url)
    env = emulator.test_env
    keys = {"apiKey": env["OKX_API_KEY"], "secret": env["OKX_API_SECRET"], "password": env["OKX_API_PASSPHRASE"]}
    keys.update(creds)

    async def run():
        client = ccxt_async.okx({**cfg["ccxt"], "urls": cfg["urls"], "options": cfg["options"], **keys})
        try:
            return await body(client)
        finally:
            await client.close()
    return asyncio.run(run())


@pytest.mark.parametrize("which", ["secret", "password", "apiKey"])
def test_a_wrong_secret_passphrase_or_key_is_refused(emulator, which):
    async def body(c):
        await c.fetch_balance({"type": "trading"})
    with pytest.raises(ccxt.AuthenticationError) as exc:
        _run(emulator, body, **{which: "wrong-" + secrets.token_hex(8)})
    env = emulator.test_env
    assert all(env[k] not in str(exc.value) for k in ("OKX_API_SECRET", "OKX_API_PASSPHRASE"))


def test_prices_are_bybits_recording_and_funding_okxs(emulator, catalog):
    replay = emulator.emulator.replay

    async def body(c):
        await c.load_markets()
        return (await c.fetch_mark_price("ETH/USDT:USDT"), await c.fetch_tickers(["BTC/USDT"]),
                await c.fetch_funding_rate_history("BTC/USDT:USDT", limit=5), c.markets)
    mark, tickers, hist, markets = _run(emulator, body)
    t = replay.t
    perp = catalog.load("perp.bybit.ETHUSDT")
    open_now = float(perp.loc[perp.index.as_unit("ns").asi8 <= t, "open"].iloc[-1])
    assert mark["markPrice"] == pytest.approx(open_now, rel=1e-12)  # the bar that opened at or before t
    spot = catalog.load("spot.bybit.BTCUSDT")
    mid = float(spot.loc[spot.index.as_unit("ns").asi8 <= t, "open"].iloc[-1])
    bt = tickers["BTC/USDT"]
    assert (bt["bid"] + bt["ask"]) / 2 == pytest.approx(mid, rel=1e-12) and bt["bid"] < bt["ask"]
    f = catalog.load("funding.okx.BTCUSDT")
    idx = f.index.as_unit("ns").asi8
    want = f.loc[idx <= t, "funding_rate"].iloc[-5:]
    assert [r["fundingRate"] for r in hist] == pytest.approx(list(want)), "OKX's own settled rates, oldest first"
    assert [r["timestamp"] * NS_MS for r in hist] == list(idx[idx <= t][-5:])
    assert markets["BTC/USDT:USDT"]["contractSize"] == 0.01 and markets["ETH/USDT:USDT"]["contractSize"] == 0.1


def test_funding_account_deposit_transfer_and_withdrawal(emulator):
    """A deposit to the funding account is credited after the network's delay, moves to the trading
    account (``okx.perp``), and a withdrawal leaves the funding account ``pending`` until its delay passed."""
    replay = emulator.emulator.replay
    funding0 = replay.balances("okx.funding").get("USDT", 0.0)
    emulator.deposit("okx.funding", "USDT", 300.0, "TRC20")
    emulator.advance(steps=1)  # TRC20 deposits are credited after 120 s
    trading0 = replay.balances("okx.perp")["USDT"]

    async def move(c):
        dep = await c.fetch_deposits("USDT")
        bal = await c.fetch_balance({"type": "funding"})
        await c.transfer("USDT", 100.0, "funding", "trading")
        w = await c.withdraw("USDT", 50.0, "TQ7nZ2emulatorAddr", {"network": "TRC20"})
        return dep, bal, w, await c.fetch_withdrawals("USDT")
    dep, bal, w, ws = _run(emulator, move)
    assert dep[-1]["status"] == "ok" and dep[-1]["amount"] == 300.0
    assert bal["USDT"]["total"] == pytest.approx(funding0 + 300.0)
    fee = replay.params["okx"].transfers["USDT"]["TRC20"].withdrawal_fee
    assert replay.balances("okx.perp")["USDT"] == pytest.approx(trading0 + 100.0)
    assert replay.balances("okx.funding")["USDT"] == pytest.approx(funding0 + 150.0)
    mine = [x for x in ws if x["id"] == w["id"]]
    assert len(mine) == 1 and mine[0]["status"] == "pending" and mine[0]["amount"] == pytest.approx(50.0 - fee)
    emulator.advance(steps=1)  # TRC20 withdrawals complete after 300 s

    async def later(c):
        return await c.fetch_withdrawals("USDT")
    assert [x["status"] for x in _run(emulator, later) if x["id"] == w["id"]] == ["ok"]
