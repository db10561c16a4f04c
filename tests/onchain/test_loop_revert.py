"""A flash-loan loop that would end above max LTV: the simulator's execution manager rejects the atomic
group (every leg FAILED, the failing leg's reason), the same group sent to AAVE's contracts as one
transaction reverts (AAVE error 36, COLLATERAL_CANNOT_COVER_NEW_BORROW), every balance of the account
is unchanged except the native ETH that paid the gas (= gas used x effective gas price of the receipt),
and ``group_trades`` reports the group as the simulator does: every leg FAILED with the same error
code (VENUE-004, max LTV), the gas on the first leg."""

from __future__ import annotations

from basiskit.domain.trades import TradeStatus
from basiskit.venues.onchain.aave_account import group_trades

from replay import WALLET, Twin, build_sim
from test_sim_equals_contracts import CAPITAL_WETH, lever_legs


def test_loop_above_max_ltv_reverts_whole(catalog, source_dir, market, user):
    feed, portfolio, venues = build_sim(catalog, source_dir, "eth_leveraged", "2024-10-01", "2024-10-02")
    portfolio.ledger.add(WALLET, "WETH", CAPITAL_WETH)
    market.transact(market.tokens["WETH"].functions.mint(user.address, market.wei("WETH", CAPITAL_WETH)))
    twin = Twin(feed, portfolio, venues, market, user)
    twin.step()
    sim_before = dict(portfolio.ledger.balances)
    chain_before = user.raw_balances()

    legs = lever_legs(twin, 0.95)  # E-mode max LTV is 0.93
    trades, tx = twin.group(legs)

    # the simulator: the whole group rejected, nothing changed
    assert [t.status for t in trades] == [TradeStatus.FAILED] * len(legs)
    assert {t.error_code for t in trades} == {"VENUE-004"}
    assert dict(portfolio.ledger.balances) == sim_before
    # the chain: the transaction was mined and reverted, for AAVE's reason
    assert not tx.ok and tx.error == "36 COLLATERAL_CANNOT_COVER_NEW_BORROW", tx.error
    assert tx.gas_used > 21_000 and tx.fee_wei == tx.gas_used * tx.gas_price_wei
    after = user.raw_balances()
    changed = {k: after[k] - chain_before[k] for k in after if after[k] != chain_before[k]}
    assert changed == {"ETH": -tx.fee_wei}, changed
    # the adapter's report has the simulator's shape
    orders = [t.order for t in trades]
    chain_trades = group_trades(orders, tx, feed.state.t)
    assert [t.status for t in chain_trades] == [t.status for t in trades]
    assert [t.error_code for t in chain_trades] == [t.error_code for t in trades]
    assert chain_trades[0].gas_units == tx.gas_used and all(t.gas_units == 0 for t in chain_trades[1:])
    assert all("COLLATERAL_CANNOT_COVER_NEW_BORROW" in t.error for t in chain_trades)

    # and the same loop at target LTV goes through whole
    trades, tx = twin.group(lever_legs(twin, 0.85))
    assert all(t.ok for t in trades) and tx.ok, tx.error
    assert [t.status for t in group_trades([t.order for t in trades], tx, feed.state.t)] == [TradeStatus.FILLED] * 5
