"""Liquidation = contracts: an eth_leveraged position (weETH collateral, WETH debt, E-mode) entered on
the simulator and on AAVE's contracts, then pushed below HF 1 through the weETH oracle (the LST/ETH
exchange-rate feed moved down on both sides by the same factor); the simulator's liquidation
(``AaveV3.on_market``) and a ``Pool.liquidationCall`` on the contracts (debtToCover = max, the
liquidator takes the underlying) must repay the same debt, seize the same collateral and pay the same
bonus (E-mode: 1 %). Two pushes: HF 0.97 (close factor 50 %) and HF 0.90 (below 0.95: close factor
100 %, the collateral does not cover debt x (1 + bonus): all of it is seized).

Bound: 1e-9 relative (the chain's amounts are wei, its prices 8-decimal USD: ~1e-12 relative)."""

from __future__ import annotations

import math

import pytest

from basiskit.domain.events import MarketTick
from basiskit.venues.sim.onchain_prices import lst_key

from replay import WALLET, Twin, build_sim
from test_sim_equals_contracts import CAPITAL_WETH, lever_legs

REL = 1e-9
MAX = 2**256 - 1


@pytest.fixture
def twin(catalog, source_dir, market, user):
    feed, portfolio, venues = build_sim(catalog, source_dir, "eth_leveraged", "2024-10-01", "2024-10-03")
    portfolio.ledger.add(WALLET, "WETH", CAPITAL_WETH)
    market.transact(market.tokens["WETH"].functions.mint(user.address, market.wei("WETH", CAPITAL_WETH)))
    tw = Twin(feed, portfolio, venues, market, user)
    tw.step()
    trades, tx = tw.group(lever_legs(tw, 0.85))
    assert all(t.ok for t in trades) and tx.ok, tx.error
    for _ in range(5):
        tw.step()
    return tw


@pytest.mark.parametrize("hf_target, close_factor", [(0.97, 0.5), (0.90, 1.0)])
def test_liquidation_on_the_simulator_and_the_contracts(twin, hf_target, close_factor):
    sim, chain, m = twin.sim, twin.chain, twin.market
    hf0 = sim.health_factor()
    assert math.isclose(hf0, chain.account_data()["health_factor"], rel_tol=REL)
    factor = hf_target / hf0
    # the oracle push, simulator side: the LST/ETH rate of the step x factor (read again by the prices)
    key = lst_key("weETH")
    twin.feed.state.px[key] = twin.feed.state.px[key] * factor
    twin.venues.prices.on_tick()
    sim._read_step = -1  # its readings are cached per step: this step's prices just changed
    events = sim.on_market(MarketTick(twin.feed.state.t, twin.feed.state.step))  # the same step again: no time passes
    # chain side: the weETH USD answer the simulator now uses
    m.set_prices({"weETH": twin.venues.prices.usd("weETH")})
    hf_chain = chain.account_data()["health_factor"]
    assert hf_chain < 1 and math.isclose(hf_chain, hf0 * factor, rel_tol=1e-8)
    liq = [e for e in events if getattr(e, "kind", "") == "liquidation"]
    assert len(liq) == 1, events
    d = liq[0].data
    assert d["close_factor"] == close_factor

    liquidator = m.w3.eth.accounts[1]
    weth, weeth = m.tokens["WETH"], m.tokens["weETH"]
    m.transact(weth.functions.mint(liquidator, m.wei("WETH", 10_000)), liquidator)
    m.transact(weth.functions.approve(m.pool.address, MAX), liquidator)
    w0, c0 = weth.functions.balanceOf(liquidator).call(), weeth.functions.balanceOf(liquidator).call()
    debt0 = chain.borrowed("WETH")
    m.transact(m.pool.functions.liquidationCall(weeth.address, weth.address, chain.address, MAX, False), liquidator)
    repaid = m.units("WETH", w0 - weth.functions.balanceOf(liquidator).call())
    seized = m.units("weETH", weeth.functions.balanceOf(liquidator).call() - c0)
    p_debt, p_coll = m.price("WETH") / 1e8, m.price("weETH") / 1e8
    bonus = seized * p_coll / (repaid * p_debt) - 1

    assert math.isclose(repaid, d["debt_repaid"], rel_tol=REL), (repaid, d["debt_repaid"])
    assert math.isclose(seized, d["collateral_seized"], rel_tol=REL), (seized, d["collateral_seized"])
    assert math.isclose(bonus, d["liquidation_bonus"], rel_tol=1e-6, abs_tol=1e-9), (bonus, d["liquidation_bonus"])
    assert math.isclose(debt0 - chain.borrowed("WETH"), repaid, rel_tol=REL)
    # what is left on both sides
    assert math.isclose(sim.borrowed("WETH"), chain.borrowed("WETH"), rel_tol=REL, abs_tol=1e-12)
    assert math.isclose(sim.supplied("weETH"), chain.supplied("weETH"), rel_tol=REL, abs_tol=1e-12)
    if close_factor == 1.0:
        assert chain.supplied("weETH") < 1e-12  # the collateral was not enough: all of it went
