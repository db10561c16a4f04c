"""eth_leveraged for a week through the kernel with its AAVE account on the local chain
(``venues.onchain.chain_venue.ChainAave``: every supply / borrow / loop a transaction of AAVE's
contracts, the account's balances read back from them each step and after each transaction), against
a plain backtest of the same week (the simulator alone).

Matched: the equity series (USD) step by step and the attribution totals. The bound: the chain's
balances differ from the simulator's by AAVE's wei / ray rounding (~1e-15 relative, see
test_sim_equals_contracts), so equity and each attribution total agree to 1e-9 x equity. Gas: both runs
book the gas model's gas (the chain's receipts are checked on their own: every transaction mined,
gas used > 21,000).
"""

from __future__ import annotations

import numpy as np

from basiskit.domain.time import to_ns
from basiskit.engine.backtest import simulate
from basiskit.engine.clock import Clock
from basiskit.engine.assembly import series_specs
from basiskit.strategies.registry import build_strategy, load_mode_config
from basiskit.venues.onchain.chain_venue import ChainAave, ChainClock, ConversionLegs, PendingGroup

START, END = "2024-10-01", "2024-10-08"
CAPITAL_WETH = 50.0


def _run(catalog, patch=None):
    cfg = load_mode_config("eth_leveraged")
    strategy = build_strategy(cfg)
    grid = Clock(to_ns(START), to_ns(END), cfg.step_seconds).grid()
    frame = catalog.frame(grid, series_specs(strategy.requirements(), set(catalog.dataset_ids())))
    return simulate(cfg, strategy, frame, CAPITAL_WETH, patch_venues=patch(frame) if patch else None)


def test_eth_leveraged_week_on_chain_matches_the_backtest(catalog, market, user):
    market.transact(market.tokens["WETH"].functions.mint(user.address, market.wei("WETH", CAPITAL_WETH)))
    made = {}

    def patch(frame):
        def apply(venues):
            pending = PendingGroup()
            model = venues.accounts["aave_v3"]
            times = [int(t) // 10**9 for t in frame.grid]
            liq = {tok: np.asarray(frame.series[k]) for tok, k in model.index_keys.items()}
            bor = {tok: np.asarray(frame.series[k]) for tok, k in model.borrow_keys.items()}
            prices = venues.prices
            clock = ChainClock(market, times, liq, bor,
                               lambda: {"WETH": prices.usd("WETH"), "weETH": prices.usd("weETH"), "USDT": 1.0})
            chain = ChainAave(model, user, clock, pending)
            venues.accounts["aave_v3"] = chain
            venues.aave[venues.aave.index(model)] = chain
            for name in ("etherfi", "dex"):
                if name in venues.accounts:
                    venues.accounts[name] = ConversionLegs(venues.accounts[name], pending)
            made["chain"] = chain
        return apply

    backtest = _run(catalog)
    onchain = _run(catalog, patch)
    chain = made["chain"]
    eq_b, eq_c = np.asarray(backtest.loop.equity), np.asarray(onchain.loop.equity)
    assert len(eq_b) == len(eq_c) > 100
    tol = 1e-9 * float(np.max(np.abs(eq_b)))
    worst = float(np.max(np.abs(eq_b - eq_c)))
    assert worst <= tol, f"equity differs by {worst} USD (bound {tol})"
    for src, v in backtest.attr.total.items():
        assert abs(v - onchain.attr.total[src]) <= tol, (src, v, onchain.attr.total[src])
    # the run really went through the chain: the loop entered as one transaction, balances on chain
    assert chain.receipts and all(r.ok for r in chain.receipts) and all(r.gas_used > 21_000 for r in chain.receipts)
    assert chain.chain.supplied("weETH") > CAPITAL_WETH and chain.chain.borrowed("WETH") > CAPITAL_WETH
    assert abs(chain.chain.supplied("weETH") - backtest.venues.accounts["aave_v3"].supplied("weETH")) \
        <= 1e-9 * chain.chain.supplied("weETH")
    print(f"week on chain: {len(chain.receipts)} transactions, equity max |diff| {worst:.3e} USD")
