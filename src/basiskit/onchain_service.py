"""Runs whose AAVE account is on a local chain: anvil + AAVE v3's own contracts (``venues.onchain``).

``run_on_local_chain(mode, start, end, capital, catalog, root)`` starts anvil (genesis before
``start``), deploys the local AAVE v3 market (E-mode period in force at ``start``), sets up the account
(key from ``BASISKIT_CHAIN_KEY`` / keystore, see ``venues.onchain.keys``; with neither set, a fresh
throw-away key for the local chain, never printed) and runs the mode through the kernel
(``engine.backtest.simulate``) with its ``aave_v3`` account replaced by ``ChainAave`` (every AAVE
operation a transaction, the flash-loan loop one transaction, balances read back from the contracts)
and its staking / DEX accounts recording their group legs (``ConversionLegs``). The chain follows the
run's clock (``ChainClock``); ``driver`` may be ``engine.drivers.RealtimeDriver`` for a paper run on
the wall clock (default: as fast as the chain goes).

Modes: those with one AAVE account (eth_leveraged, eth_leveraged_restaking's AAVE leg,
usdt_market_neutral's on-chain leg); their other accounts (perps, transfers, rewards) stay simulated.
Returns ``ChainRun``: the simulation, the chain venue (its ``receipts``), the market (deploy time).
Errors: ``ToolchainError`` (npm missing), ``ValueError`` for a mode without an AAVE account.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from basiskit.config.venues import AaveParams
from basiskit.domain.time import to_ns
from basiskit.engine.assembly import load_venue_config, series_specs
from basiskit.engine.backtest import Simulation, simulate
from basiskit.engine.clock import Clock
from basiskit.strategies.registry import build_strategy, load_mode_config
from basiskit.venues.onchain.aave_account import OnchainAave
from basiskit.venues.onchain.chain_venue import ChainAave, ChainClock, ConversionLegs, PendingGroup
from basiskit.venues.onchain.keys import KEY_ENV, KEYSTORE_ENV, Signer, load_signer
from basiskit.venues.onchain.market import Market, deploy_market
from basiskit.venues.onchain.node import AnvilNode
from basiskit.venues.onchain.toolchain import Toolchain, ensure_toolchain

GENESIS_LEAD_S = 30 * 86_400  # the chain's genesis: 30 days before the run's start
AAVE = "aave_v3"


@dataclass
class ChainRun:
    simulation: Simulation
    venue: ChainAave
    market: Market


def chain_patch(market: Market, account: OnchainAave, frame):
    """``patch_venues`` for ``simulate``: the run's AAVE account on chain (module docstring)."""
    made: dict = {}

    def apply(venues) -> None:
        if AAVE not in venues.accounts:
            raise ValueError(f"the run has no {AAVE} account: nothing to put on chain")
        model = venues.accounts[AAVE]
        pending = PendingGroup()
        times = [int(t) // 10**9 for t in frame.grid]
        liq = {tok: np.asarray(frame.series[k]) for tok, k in model.index_keys.items()}
        bor = {tok: np.asarray(frame.series[k]) for tok, k in model.borrow_keys.items()}
        prices = venues.prices
        on_chain = [t for t in market.tokens if t != "USDT"]

        def prices_usd() -> dict:
            out = {"USDT": 1.0}
            for t in on_chain:
                if prices is not None and prices.knows(t):
                    v = prices.usd(t)
                    if v == v:  # a token the run does not price (NaN) keeps its last answer
                        out[t] = v
            return out

        venue = ChainAave(model, account, ChainClock(market, times, liq, bor, prices_usd), pending)
        venues.accounts[AAVE] = venue
        venues.aave[venues.aave.index(model)] = venue
        for name, v in list(venues.accounts.items()):
            if name not in (AAVE, "wallet", "transit") and hasattr(v, "params") and \
                    (hasattr(v.params, "lst") or type(v).__name__ == "Dex"):
                venues.accounts[name] = ConversionLegs(v, pending)
        made["venue"] = venue

    return apply, made


def _signer(env: dict) -> Signer:
    if env.get(KEY_ENV) or env.get(KEYSTORE_ENV):
        return load_signer(env)
    from eth_account import Account

    return Signer(Account.create())  # a throw-away key: the chain is local


def run_on_local_chain(mode: str, start: str, end: str, capital: float, catalog, root: Path,
                       driver=None, params: AaveParams | None = None, env: dict | None = None) -> ChainRun:
    """Run ``mode`` over ``[start, end)`` with ``capital`` (share-class units) on a fresh local chain
    (module docstring); the node is stopped before returning."""
    tc: Toolchain = ensure_toolchain(root)
    cfg = load_mode_config(mode)
    strategy = build_strategy(cfg)
    grid = Clock(to_ns(start), to_ns(end), cfg.step_seconds).grid()
    cat = catalog.for_policy(cfg.data_policy)
    frame = cat.frame(grid, series_specs(strategy.requirements(), set(cat.dataset_ids())))
    node = AnvilNode.start(tc.anvil, int(grid[0]) // 10**9 - GENESIS_LEAD_S)
    try:
        market = deploy_market(node, tc, params or load_venue_config(AAVE).aave, start[:10])
        signer = _signer(os.environ if env is None else env)
        node.rpc("anvil_setBalance", [signer.address, hex(10**24)])
        account = OnchainAave(market, signer, tc.aave, emode=bool(strategy.requirements().emode))
        account.setup()
        patch, made = chain_patch(market, account, frame)
        sim = simulate(cfg, strategy, frame, float(capital), patch_venues=patch, driver=driver)
        return ChainRun(sim, made["venue"], market)
    finally:
        node.stop()
