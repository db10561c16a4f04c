"""On-chain benchmark (issue 13): the local AAVE v3 market on anvil.

* deploy: wall time of ``deploy_market`` (libraries, pool, configurator, oracle, 4 reserves, E-mode,
  liquidity), median of 3 fresh anvil nodes;
* loop entry: the eth_leveraged flash-loan loop (flash WETH -> stake -> supply weETH -> borrow WETH ->
  repay the loan) as one transaction, N times in a row from one account (sign, send, receipt), and
  from 4 accounts in 4 threads at once: transactions per second;
* chain clock: keeper steps (oracle + rates of 2 reserves + pokes, one transaction each) per second.

Run: ``.venv/bin/python bench/bench_onchain.py`` (installs the npm toolchain into .basiskit/chain first).
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eth_account import Account

from basiskit.engine.assembly import load_venue_config
from basiskit.venues.onchain.aave_account import Leg, OnchainAave
from basiskit.venues.onchain.keys import Signer
from basiskit.venues.onchain.market import deploy_market
from basiskit.venues.onchain.node import AnvilNode
from basiskit.venues.onchain.toolchain import ensure_toolchain

ROOT = Path(__file__).resolve().parents[1]
N = 60


def user(market, tc):
    s = Signer(Account.create())
    market.node.rpc("anvil_setBalance", [s.address, hex(10**21)])
    a = OnchainAave(market, s, tc.aave, emode=True)
    a.setup()
    market.transact(market.tokens["WETH"].functions.mint(s.address, market.wei("WETH", 1000)))
    return a


def loop(a: OnchainAave):
    # 1 WETH of equity at LTV 0.85: debt 5.667 WETH, weETH at 1.05 WETH
    flash = 5.6667 / 1.0005
    return a.run_group([Leg("flash_borrow", "WETH", flash), Leg("convert", "WETH", 1 + flash, "weETH", (1 + flash) / 1.05),
                        Leg("supply", "weETH", (1 + flash) / 1.05), Leg("borrow", "WETH", flash * 1.0005)])


def main() -> None:
    tc = ensure_toolchain(ROOT)
    params = load_venue_config("aave_v3").aave
    deploys = []
    node = market = None
    for _ in range(3):
        if node is not None:
            node.stop()
        node = AnvilNode.start(tc.anvil, 1_600_000_000)
        market = deploy_market(node, tc, params, "2024-10-01")
        deploys.append(market.deploy_seconds)
    try:
        print(f"deploy: median {statistics.median(deploys):.2f} s (runs {', '.join(f'{d:.2f}' for d in deploys)}), "
              f"{market.txs} transactions")
        market.set_prices({"WETH": 2600.0, "weETH": 2730.0})
        a = user(market, tc)
        assert loop(a).ok
        t0 = time.perf_counter()
        res = [loop(a) for _ in range(N)]
        dt = time.perf_counter() - t0
        assert all(r.ok for r in res)
        print(f"loop entry, one account: {N} tx in {dt:.2f} s = {N / dt:.1f} tx/s, gas used {res[-1].gas_used:,}")
        users = [user(market, tc) for _ in range(4)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            res = list(pool.map(lambda k: loop(users[k % 4]), range(N)))
        dt = time.perf_counter() - t0
        assert all(r.ok for r in res), [r.error for r in res if not r.ok]
        print(f"loop entry, 4 accounts x 4 threads: {N} tx in {dt:.2f} s = {N / dt:.1f} tx/s")
        now = market.node.now()
        market.anchor({"weETH": 1.0}, {"WETH": 1.0})
        t0 = time.perf_counter()
        for k in range(N):
            market.advance(now + 3600 * k, now + 3600 * (k + 1), {"WETH": 2600.0, "weETH": 2730.0},
                           {"weETH": 1 + 1e-6 * (k + 1)}, {"WETH": 1 + 2e-6 * (k + 1)})
            market.node.set_time(now + 3600 * (k + 1))
        dt = time.perf_counter() - t0
        print(f"chain clock: {N} hourly steps in {dt:.2f} s = {N / dt:.1f} steps/s")
    finally:
        node.stop()


if __name__ == "__main__":
    main()
