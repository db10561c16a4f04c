"""Emulator round trip through ccxt: create order -> acknowledgement, p50 / p99 (milliseconds).

    .venv/bin/python bench/bench_emulator.py [--orders 500] [--venue binance|bybit|both]

Starts the exchange emulator (``basiskit.emulator``) on 127.0.0.1 over a week of the catalog's hourly
bars (manual clock), points ccxt's own async ``binance`` / ``bybit`` classes at it and times, per order,
``await client.create_order(...)`` for a USDT-M / linear perp market order with a client order id
(signed request, HMAC checked by the emulator, filled by the CexPerp simulator), alternating buys and
sells so the position stays small. Also times the live adapter's whole ``submit`` (create, read the
fills, book the trade). Reports p50 / p99 / max and the mean rate; machine-dependent (2 shared cores
here), so it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


async def _ccxt_round_trips(url: str, venue: str, key: str, secret: str, n: int) -> list[float]:
    import ccxt.async_support as ccxt

    from basiskit.emulator.server import ccxt_config

    cfg = ccxt_config(venue, url)
    client = getattr(ccxt, venue)({"apiKey": key, "secret": secret, **cfg["ccxt"], "urls": cfg["urls"],
                                   "options": cfg["options"]})
    cid = "newClientOrderId" if venue == "binance" else "clientOrderId"
    try:
        await client.load_markets()
        for _ in range(20):  # warm-up: connections, caches
            await client.create_order("BTC/USDT:USDT", "market", "buy", 0.001, None, {cid: secrets.token_hex(8)})
            await client.create_order("BTC/USDT:USDT", "market", "sell", 0.001, None, {cid: secrets.token_hex(8)})
        out = []
        for k in range(n):
            side = "buy" if k % 2 == 0 else "sell"
            t = time.perf_counter()
            ack = await client.create_order("BTC/USDT:USDT", "market", side, 0.001, None, {cid: secrets.token_hex(8)})
            out.append((time.perf_counter() - t) * 1e3)
            assert ack["id"]
        return out
    finally:
        await client.close()


def _adapter_round_trips(url: str, venue: str, key: str, secret: str, n: int) -> list[float]:
    from basiskit.domain.orders import Operation, Order, Side
    from basiskit.domain.portfolio import Portfolio
    from basiskit.emulator.server import ccxt_config
    from basiskit.venues.live import build_live_accounts

    cfg = ccxt_config(venue, url)
    p = Portfolio()
    env = {f"{venue.upper()}_API_KEY": key, f"{venue.upper()}_API_SECRET": secret}
    acc = build_live_accounts(venue, {f"{venue}.perp": ["BTC"]}, p.ledger, p.attribution,
                              {"urls": cfg["urls"]["api"], "options": cfg["options"], "ccxt": cfg["ccxt"]},
                              env)[f"{venue}.perp"]
    try:
        acc.adopt()
        out = []
        for k in range(n):
            o = Order(Operation.PERP_TRADE, f"{venue}.perp", 0.001, "BTC", Side.BUY if k % 2 == 0 else Side.SELL,
                      client_order_id=secrets.token_hex(8))
            t = time.perf_counter()
            tr = acc.submit([o])[0]
            out.append((time.perf_counter() - t) * 1e3)
            assert tr.ok, tr
        return out
    finally:
        acc.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=500)
    ap.add_argument("--venue", choices=("binance", "bybit", "both"), default="both")
    args = ap.parse_args()
    from basiskit.data.catalog import Catalog, resolve_source_dir
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer

    home = Path(os.environ.get("BASISKIT_HOME", ROOT / ".basiskit"))
    catalog = Catalog(home, resolve_source_dir(os.environ.get("BASISKIT_DATA_SOURCE")))
    catalog.ensure_imported()
    key, secret = secrets.token_hex(8), secrets.token_hex(24)
    replay = Replay(catalog, "2024-03-01", "2024-03-08", capital={(a, "USDT"): 1e6 for a in
                                                                  ("binance.perp", "bybit.perp")})
    venues = ("binance", "bybit") if args.venue == "both" else (args.venue,)
    print(f"{'venue':8} {'what':22} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'orders/s':>9}")
    with EmulatorServer(replay, {key: secret}) as srv:
        for venue in venues:
            for what, xs in (("ccxt create_order->ack", asyncio.run(_ccxt_round_trips(srv.url, venue, key, secret,
                                                                                       args.orders))),
                             ("adapter submit->Trade", _adapter_round_trips(srv.url, venue, key, secret, args.orders))):
                print(f"{venue:8} {what:22} {len(xs):5d} {pct(xs, .5):8.2f} {pct(xs, .99):8.2f} {max(xs):8.2f} "
                      f"{1e3 / statistics.mean(xs):9.0f}")


if __name__ == "__main__":
    main()
