"""A world for the venue contract: every simulator the engine builds, on a week of the real data.

The venues are built exactly as a run builds them (``engine.assembly.build_venues``) for the union of
the requirements of three modes -- btc_basis (CEX spot + perps + transfers), usdt_market_neutral
(wallet, ETH perps, AAVE v3 in E-mode, ether.fi staking, DEX pools, gas) and eth_leveraged_restaking
(restaking rewards) -- on the catalog's series over 2024-09-28 .. 2024-10-08 (hourly), which holds the
EIGEN payout of 2024-10-05. Starting balances are the test's own capital, as a run's capital is.
"""

from __future__ import annotations

from dataclasses import fields

from basiskit.data.feed import HistoricalFeed
from basiskit.data.market import build_frame
from basiskit.data.rewards import load_restaking_rewards
from basiskit.domain.portfolio import Portfolio
from basiskit.engine.assembly import build_venues, reward_windows, series_specs
from basiskit.engine.clock import Clock
from basiskit.domain.time import to_ns
from basiskit.strategies.base import Requirements
from basiskit.strategies.registry import build_strategy, load_mode_config

from venue_contract import World

MODES = ("btc_basis", "usdt_market_neutral", "eth_leveraged_restaking")
START, END = "2024-09-28", "2024-10-08"
CAPITAL = {("wallet", "USDT"): 50_000.0, ("wallet", "WETH"): 20.0, ("wallet", "weETH"): 10.0,
           ("binance.perp", "USDT"): 50_000.0, ("bybit.perp", "USDT"): 50_000.0, ("okx.perp", "USDT"): 50_000.0,
           ("bybit.spot", "USDT"): 50_000.0}


def union_requirements() -> Requirements:
    out: dict = {}
    for mode in MODES:
        req = build_strategy(load_mode_config(mode)).requirements()
        for f in fields(Requirements):
            a, b = out.get(f.name), getattr(req, f.name)
            if isinstance(b, dict):
                merged = dict(a or {})
                for k, toks in b.items():
                    merged[k] = sorted(set(merged.get(k, [])) | set(toks))
                out[f.name] = merged
            elif isinstance(b, tuple):
                out[f.name] = tuple(sorted(set(a or ()) | set(b)))
            elif isinstance(b, bool):
                out[f.name] = bool(a) or b
            else:  # gas_token: the ETH modes pay gas in WETH
                out[f.name] = b if a in (None, "USDT") else a
    return Requirements(**out)


def build_world(catalog, source_dir) -> World:
    req = union_requirements()
    clock = Clock(to_ns(START), to_ns(END), 3600)
    frame = build_frame(catalog, clock.grid(), series_specs(req, set(catalog.dataset_ids())))
    rows = reward_windows(load_restaking_rewards(source_dir), req.include_estimated_rewards)
    feed = HistoricalFeed(frame, rows)
    portfolio = Portfolio()
    venues = build_venues(req, feed.state, portfolio, rows, {})
    for (acc, tok), amt in CAPITAL.items():
        if acc in venues.accounts:
            portfolio.ledger.add(acc, tok, amt)
    return World(feed, portfolio, venues.accounts, venues.prices)
