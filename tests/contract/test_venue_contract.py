"""The venue contract (``venue_contract.py``) over every simulator the engine builds, on real data.

Each venue account gets sample orders it must fill and orders it must refuse; the world's market
steps run the on-market rules on every venue at every step (a day before the orders, three after,
across funding settlements, AAVE accrual, a staking withdrawal queue, transfers in flight and the
EIGEN payout of 2024-10-05).
"""

from __future__ import annotations

import pytest

from basiskit.domain.orders import Operation, Order, Side

import venue_contract as C
from world import build_world

O = Operation


def _spot(side, amount, token="BTC"):
    return Order(O.SPOT_TRADE, "bybit.spot", amount, token, side)


def _perp(venue, side, amount, token="BTC"):
    return Order(O.PERP_TRADE, venue, amount, token, side)


def _swap(side, amount, token, quote):
    return Order(O.SWAP, "dex", amount, token, side, quote=quote)


# account -> (orders it must fill, in this order; orders it must refuse)
CASES = {
    "wallet": ([], [Order(O.SPOT_TRADE, "wallet", 1.0, "WETH", Side.SELL)]),
    "bybit.spot": ([_spot(Side.BUY, 0.2), _spot(Side.SELL, 0.05)],
                   [_spot(Side.SELL, 100.0), _spot(Side.BUY, 1_000.0), Order(O.SUPPLY, "bybit.spot", 1.0, "USDT")]),
    "binance.perp": ([_perp("binance.perp", Side.SELL, 0.5), _perp("binance.perp", Side.BUY, 0.2),
                      _perp("binance.perp", Side.SELL, 4.0, "ETH")],
                     [_perp("binance.perp", Side.SELL, 10_000.0), _perp("binance.perp", Side.BUY, 1.0, "SOL"),
                      Order(O.SPOT_TRADE, "binance.perp", 1.0, "BTC", Side.BUY)]),
    "bybit.perp": ([_perp("bybit.perp", Side.BUY, 2.0, "ETH"), _perp("bybit.perp", Side.SELL, 3.0, "ETH")],
                   [_perp("bybit.perp", Side.BUY, 50_000.0, "ETH")]),
    "aave_v3": ([Order(O.SUPPLY, "aave_v3", 5.0, "weETH"), Order(O.SUPPLY, "aave_v3", 10_000.0, "USDT"),
                 Order(O.BORROW, "aave_v3", 2.0, "WETH"), Order(O.REPAY, "aave_v3", 1.0, "WETH"),
                 Order(O.WITHDRAW, "aave_v3", 1.0, "weETH")],
                [Order(O.BORROW, "aave_v3", 1_000.0, "WETH"), Order(O.WITHDRAW, "aave_v3", 100.0, "weETH"),
                 Order(O.SUPPLY, "aave_v3", 1_000.0, "weETH"), Order(O.SUPPLY, "aave_v3", 1.0, "BTC")]),
    "etherfi": ([Order(O.STAKE, "etherfi", 2.0, "WETH"), Order(O.UNSTAKE, "etherfi", 1.0, "weETH")],
                [Order(O.STAKE, "etherfi", 10_000.0, "WETH"), Order(O.UNSTAKE, "etherfi", 1.0, "wstETH")]),
    "dex": ([_swap(Side.SELL, 1.0, "WETH", "USDT"), _swap(Side.BUY, 0.5, "weETH", "WETH")],
            [_swap(Side.SELL, 100_000.0, "WETH", "USDT"), _swap(Side.BUY, 1.0, "BTC", "USDT")]),
    "restaking": ([], [Order(O.SUPPLY, "restaking", 1.0, "EIGEN")]),
    "transit": ([Order(O.TRANSFER, "binance.perp", 1_000.0, "USDT", to_venue="wallet"),
                 Order(O.TRANSFER, "wallet", 500.0, "USDT", to_venue="bybit.perp")],
                [Order(O.TRANSFER, "binance.perp", 1e9, "USDT", to_venue="wallet"),
                 Order(O.TRANSFER, "binance.perp", 1.0, "USDT", to_venue="nowhere")]),
}


@pytest.fixture
def world(catalog, source_dir):
    return build_world(catalog, source_dir)


def test_the_world_holds_every_simulator(world):
    """The suite covers every venue type the engine builds (a new simulator must get its case here)."""
    assert set(CASES) == set(world.venues)
    from basiskit.engine import assembly
    built = {type(v) for v in world.venues.values()}
    imported = {getattr(assembly, n) for n in ("Wallet", "CexSpot", "CexPerp", "AaveV3", "Staking", "Dex",
                                               "RestakingRewards", "Transfers")}
    assert built == imported


@pytest.mark.parametrize("account", sorted(CASES))
def test_venue_contract(world, account):
    venue = world.venues[account]
    fills, refusals = CASES[account]
    C.check_surface(venue)
    for _ in range(24):
        C.step(world)
    C.check_fold(world, venue)
    for order in refusals:
        C.check_refusal(world, venue, order)
    if fills:
        C.check_checkpoint(world, venue, fills[0])
    for order in fills:
        C.check_fill(world, venue, order)
    for order in refusals:
        C.check_refusal(world, venue, order)
    n = len(world.feed) - 1 - world.i
    for _ in range(n):
        C.step(world)
    C.check_fold(world, venue)


def test_the_world_exercised_what_the_contract_is_about(world):
    """The steps saw funding settled, AAVE interest, the EIGEN credit and a transfer land: the on-market
    rules were checked on real events, not on an idle market."""
    C.step(world)
    for account in ("binance.perp", "bybit.perp", "aave_v3", "etherfi", "dex", "transit"):
        for order in CASES[account][0]:
            C.submit(world, world.venues[account], order)
    while world.i < len(world.feed) - 1:
        C.step(world)
    kinds = {getattr(e, "kind", None) for e in world.log}
    assert {"funding", "restaking_reward", "trade"} <= kinds, kinds
    attr = world.portfolio.attribution.total
    assert attr["lending_interest"] > 0 and attr["borrow_cost"] < 0 and attr["staking"] != 0
    for v in world.venues.values():
        C.check_fold(world, v)
