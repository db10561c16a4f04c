"""Simulator = contracts: the same eth_leveraged operation sequence on the AAVE v3 simulator and on AAVE
v3's own contracts (deployed from @aave/core-v3 on a local anvil), over a month of hourly steps of the
real data (2024-10-01 .. 2024-10-31, weETH collateral in E-mode against WETH debt):

1. entry at target LTV 0.85 through a flash loan (flash WETH -> stake -> supply weETH -> borrow WETH ->
   repay the loan, one transaction on chain);
2. two weeks of hourly interest (the chain's reserve rates driven so that its indexes follow the data's);
3. a re-levering to LTV 0.88 (the same loop, one transaction);
4. two more weeks; a partial exit back to LTV 0.80 (flash WETH -> repay WETH -> withdraw weETH -> sell
   weETH on the DEX -> repay the loan, one transaction);
5. a plain withdrawal of collateral, then the rest of the month.

At every day's step and after every operation, the aToken balance, the variable debt, the health
factor, the LTV and the available borrows of the two sides agree to REL = 1e-9 relative. The bound:
the chain works in wei and rays -- a scaled balance is rounded to 1 wei at each operation and an index
to 1 ray unit per step, oracle prices to 1e-8 USD (relative ~1e-12 at ETH prices), i.e. far inside
1e-9; the simulator in float64 (~1e-16 per operation).
"""

from __future__ import annotations

import math

import pytest

from basiskit.domain.orders import Operation, Side

from replay import AAVE, WALLET, Twin, build_sim

REL = 1e-9
KEYS = ("aweETH", "debtWETH", "health_factor", "ltv", "available_borrows_usd")
CAPITAL_WETH = 100.0
FEE = 5e-4  # AAVE v3 FLASHLOAN_PREMIUM_TOTAL, 5 bps (configs/venues/aave_v3_ethereum.yaml)


def compare(twin: Twin, where: str) -> dict:
    s, c = twin.sim_readings(), twin.chain_readings()
    worst = {}
    for k in KEYS:
        a, b = s[k], c[k]
        if k == "available_borrows_usd":  # AAVE floors it at USD 1e-8 (8-decimal base currency)
            assert math.isclose(a, b, rel_tol=REL, abs_tol=2e-8), f"{where}: {k} simulator {a!r} chain {b!r}"
        else:
            assert math.isclose(a, b, rel_tol=REL), f"{where}: {k} simulator {a!r} chain {b!r} (rel {abs(a - b) / abs(b):.2e})"
        worst[k] = abs(a - b) / abs(b) if b else 0.0
    return worst


def lever_legs(twin: Twin, target_ltv: float) -> list[tuple]:
    """The eth_leveraged loop (strategies/implementations/lst_book.py ``_lever_up``) that takes the
    account from its present LTV to ``target_ltv``: debt D = N t / (1 - t) with N the net ETH."""
    sim = twin.sim
    rate = twin.venues.accounts["etherfi"].rate()
    coll_eth = sim.supplied("weETH") * rate
    debt_eth = sim.borrowed("WETH")
    free = twin.portfolio.ledger.get(WALLET, "WETH")
    net = coll_eth - debt_eth + free
    add_debt = net * target_ltv / (1 - target_ltv) - debt_eth
    flash = add_debt / (1 + FEE)
    stake = free + flash
    supply = stake / rate * (1 - 1e-9)
    return [(Operation.FLASH_BORROW, AAVE, flash, "WETH"), (Operation.STAKE, "etherfi", stake, "WETH"),
            (Operation.SUPPLY, AAVE, supply, "weETH"), (Operation.BORROW, AAVE, flash * (1 + FEE), "WETH"),
            (Operation.FLASH_REPAY, AAVE, flash * (1 + FEE), "WETH")]


def delever_legs(twin: Twin, target_ltv: float) -> list[tuple]:
    """Cut the loop to ``target_ltv`` (``_delever``): repay R WETH with a flash loan, withdraw and sell
    the weETH that repays the loan."""
    sim = twin.sim
    rate = twin.venues.accounts["etherfi"].rate()
    coll_eth = sim.supplied("weETH") * rate
    debt_eth = sim.borrowed("WETH")
    net = coll_eth - debt_eth
    repay = debt_eth - net * target_ltv / (1 - target_ltv)
    units = repay * (1 + FEE) / rate * 1.01  # a little more than the loan: the DEX price is below the oracle rate
    return [(Operation.FLASH_BORROW, AAVE, repay, "WETH"), (Operation.REPAY, AAVE, repay, "WETH"),
            (Operation.WITHDRAW, AAVE, units, "weETH"), (Operation.SWAP, "dex", units, "weETH", Side.SELL, "WETH"),
            (Operation.FLASH_REPAY, AAVE, repay * (1 + FEE), "WETH")]


@pytest.fixture
def twin(catalog, source_dir, market, user):
    feed, portfolio, venues = build_sim(catalog, source_dir, "eth_leveraged", "2024-10-01", "2024-10-31")
    portfolio.ledger.add(WALLET, "WETH", CAPITAL_WETH)
    market.transact(market.tokens["WETH"].functions.mint(user.address, market.wei("WETH", CAPITAL_WETH)))
    tw = Twin(feed, portfolio, venues, market, user)
    tw.step()
    return tw


def test_eth_leveraged_month_on_the_simulator_and_the_contracts(twin):
    n = len(twin.feed.grid)
    worst: dict = {}

    def check(where):
        for k, v in compare(twin, where).items():
            worst[k] = max(worst.get(k, 0.0), v)

    trades, tx = twin.group(lever_legs(twin, 0.85))
    assert all(t.ok for t in trades), [t.error for t in trades]
    assert tx.ok, tx.error
    assert abs(twin.sim_readings()["ltv"] - 0.85) < 0.005  # in USD: the oracle rate and WETH/ETH prices differ a little
    check("after the entry")
    plan = {n // 2: ("relever", 0.88), (3 * n) // 4: ("partial exit", 0.80), (3 * n) // 4 + 24: ("withdraw", None)}
    while twin.i < n - 1:
        twin.step()
        if twin.i % 24 == 0:
            check(f"step {twin.i}")
        what = plan.get(twin.i)
        if what is None:
            continue
        name, ltv = what
        if name == "relever":
            trades, tx = twin.group(lever_legs(twin, ltv))
        elif name == "partial exit":
            trades, tx = twin.group(delever_legs(twin, ltv))
        else:
            tr, tx = twin.single(Operation.WITHDRAW, 0.02 * twin.sim.supplied("weETH"), "weETH")
            trades = [tr]
        assert all(t.ok for t in trades), (name, [t.error for t in trades])
        assert tx.ok, (name, tx.error)
        check(f"after the {name} at step {twin.i}")
    check("end of the month")
    # the month really moved the account: interest accrued on both sides
    assert twin.sim.borrowed("WETH") > 0 and twin.sim_readings()["health_factor"] < 1.25
    print("worst relative differences over the month:", {k: f"{v:.1e}" for k, v in worst.items()})
