"""The emulator's answers to bad requests, as the venues answer them, and its control endpoints."""

from __future__ import annotations

import json
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from basiskit.config.loader import ConfigError


def _get(url: str) -> tuple[int, dict]:
    try:
        with urlopen(url, timeout=10) as r:  # noqa: S310 - the test's own loopback server
            return r.status, json.loads(r.read())
    except HTTPError as e:
        return e.code, json.loads(e.read())


def test_binance_public_errors(emulator):
    base = emulator.url + "/binance"
    assert _get(base + "/fapi/v1/premiumIndex?symbol=DOGEUSDT") == (400, {"code": -1121, "msg": "Invalid symbol."})
    code, body = _get(base + "/fapi/v1/klines?symbol=BTCUSDT&interval=1w")
    assert code == 400 and body["code"] == -1102 and "interval '1w'" in body["msg"]
    code, body = _get(base + "/fapi/v1/klines?symbol=BTCUSDT&interval=1m")  # finer than the replay's bars
    assert code == 400 and body["code"] == -1102 and "3600 s" in body["msg"]
    code, body = _get(base + "/api/v3/account?timestamp=1")
    assert code == 401 and body["code"] == -2014


def test_bybit_public_errors(emulator):
    code, body = _get(emulator.url + "/bybit/v5/market/tickers?category=inverse")
    assert code == 200 and body["retCode"] == 10001 and "inverse" in body["retMsg"]
    code, body = _get(emulator.url + "/bybit/v5/account/wallet-balance?accountType=SPOT")
    assert code == 200 and body["retCode"] == 10003


def test_klines_are_the_recorded_closed_bars(emulator, catalog):
    code, rows = _get(emulator.url + "/binance/fapi/v1/klines?symbol=ETHUSDT&interval=1h&limit=5")
    assert code == 200 and len(rows) == 5
    t = emulator.emulator.replay.t
    df = catalog.load("perp.binance.ETHUSDT")
    idx = df.index.as_unit("ns").asi8
    for r in rows:
        open_ns = r[0] * 1_000_000
        assert open_ns + 3600 * 10**9 <= t  # closed by the replay's time
        row = df.iloc[int((idx == open_ns).nonzero()[0][0])]
        assert [float(x) for x in r[1:5]] == [row.open, row.high, row.low, row.close]


def test_control_endpoints_refuse_bad_bodies(emulator):
    for path, body in (("/emulator/advance", {"nothing": 1}), ("/emulator/deposit", {"account": "binance.spot"}),
                       ("/emulator/fault", {"path": "/x", "kind": "explode"})):
        req = Request(emulator.url + path, data=json.dumps(body).encode(), method="POST",
                      headers={"Content-Type": "application/json"})
        with pytest.raises(HTTPError) as exc:
            urlopen(req, timeout=10)  # noqa: S310
        assert exc.value.code == 400 and "error" in json.loads(exc.value.read())


def test_deposit_is_credited_after_the_network_delay(emulator):
    replay = emulator.emulator.replay
    before = replay.balances("binance.spot").get("USDT", 0.0)
    out = emulator.deposit("binance.spot", "USDT", 123.0, "TRC20")
    assert out["status"] == "pending" and replay.balances("binance.spot").get("USDT", 0.0) == before
    emulator.advance(steps=1)
    assert replay.balances("binance.spot")["USDT"] == pytest.approx(before + 123.0, abs=1e-9)


def test_capital_for_an_unknown_account_is_a_config_error(catalog):
    from basiskit.emulator.replay import Replay

    with pytest.raises(ConfigError, match="kraken.spot"):
        Replay(catalog, "2024-03-01", "2024-03-02", capital={("kraken.spot", "USDT"): 1.0})


def test_minute_bar_replay_through_ccxt(catalog):
    """``bars="1m"``: the 1-minute perp files replayed on a 60 s grid; ccxt's fetch_ohlcv('1m') returns the
    recorded minute bars closed by the replay's time, and a market order fills at the minute's price."""
    import asyncio
    import secrets

    import ccxt.async_support as ccxt

    from basiskit.emulator.minute_bars import MinuteBars
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer, ccxt_config

    key, secret = secrets.token_hex(8), secrets.token_hex(24)
    replay = Replay(catalog, "2025-09-27T06:30", "2025-09-27T07:30", step_s=60, bars="1m",
                    capital={("bybit.perp", "USDT"): 10_000.0})
    rec = MinuteBars(catalog).load("perp.bybit.ETHUSDT")
    idx = rec.index.as_unit("ns").asi8
    with EmulatorServer(replay, {key: secret}) as srv:
        srv.advance(steps=15)
        cfg = ccxt_config("bybit", srv.url)

        async def run():
            ex = ccxt.bybit({"apiKey": key, "secret": secret, **cfg["ccxt"], "urls": cfg["urls"],
                             "options": cfg["options"]})
            try:
                bars = await ex.fetch_ohlcv("ETH/USDT:USDT", "1m", limit=10)
                o = await ex.create_order("ETH/USDT:USDT", "market", "buy", 0.1, None, {"clientOrderId": "m1"})
                trades = await ex.fetch_my_trades("ETH/USDT:USDT", None, None, {"orderId": o["id"]})
                return bars, trades
            finally:
                await ex.close()
        bars, trades = asyncio.run(run())
    assert len(bars) == 10
    for b in bars:
        k = int((idx == b[0] * 1_000_000).nonzero()[0][0])
        assert b[1:5] == [rec.open.iloc[k], rec.high.iloc[k], rec.low.iloc[k], rec.close.iloc[k]]
        assert b[0] * 1_000_000 + 60 * 10**9 <= replay.t
    k = int((idx == replay.t).nonzero()[0][0])
    slip = replay.slippage("bybit.perp")
    assert trades[0]["price"] == pytest.approx(rec.open.iloc[k] * (1 + slip), rel=1e-12)
