"""The venue contract (tests/contract/venue_contract.py) on the on-chain AAVE account: the contract's
world (three modes' venues on 2024-09-28 .. 2024-10-08 of the real data) with its ``aave_v3`` account
replaced by ``ChainAave`` on the local market -- the same sample fills (supply weETH and USDT, borrow
and repay WETH, withdraw weETH: each a transaction) and refusals, the same per-step and per-fill rules
(value conserved and booked, refusals change nothing, checkpoint / restore exact -- on the local chain
through evm_snapshot / evm_revert --, the snapshot is the fold of the events)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))

import venue_contract as C  # noqa: E402
from test_venue_contract import CASES  # noqa: E402
from world import CAPITAL, build_world  # noqa: E402

from basiskit.venues.onchain.chain_venue import ChainAave, ChainClock, PendingGroup  # noqa: E402


def test_venue_contract_on_chain(catalog, source_dir, market, user):
    world = build_world(catalog, source_dir)
    model = world.venues["aave_v3"]
    feed, prices = world.feed, world.prices
    n = len(feed)
    for (acc, tok), amt in CAPITAL.items():
        if acc == "wallet":
            market.transact(market.tokens[tok].functions.mint(user.address, market.wei(tok, amt)))
    clock = ChainClock(market, [int(t) // 10**9 for t in feed.grid],
                       {t: feed.values(k, 0, n) for t, k in model.index_keys.items()},
                       {t: feed.values(k, 0, n) for t, k in model.borrow_keys.items()},
                       lambda: {"WETH": prices.usd("WETH"), "weETH": prices.usd("weETH"), "USDT": 1.0})
    venue = ChainAave(model, user, clock, PendingGroup())
    world.venues["aave_v3"] = venue
    fills, refusals = CASES["aave_v3"]
    C.check_surface(venue)
    for _ in range(24):
        C.step(world)
    C.check_fold(world, venue)
    for order in refusals:
        C.check_refusal(world, venue, order)
    C.check_checkpoint(world, venue, fills[0])
    for order in fills:
        C.check_fill(world, venue, order)
    for order in refusals:
        C.check_refusal(world, venue, order)
    while world.i < 24 * 2:
        C.step(world)
    C.check_fold(world, venue)
    # the fills are on the chain: the account's aTokens and debt there are the venue's
    assert abs(user.supplied("weETH") - model.supplied("weETH")) < 1e-12 * model.supplied("weETH") + 1e-15
    assert abs(user.supplied("USDT") - model.supplied("USDT")) < 1e-9
    assert abs(user.borrowed("WETH") - model.borrowed("WETH")) < 1e-12 and user.borrowed("WETH") > 0.99
    # the fills, and the checkpoint rule's fill that evm_revert took back
    assert len(venue.receipts) == len(fills) + 1 and all(r.ok for r in venue.receipts)
