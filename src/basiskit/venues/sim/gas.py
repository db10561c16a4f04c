"""Gas cost of on-chain operations.

Gas is paid in ETH: ``gas_eth = gas_units x gas_price_gwei x 1e-9`` with the Ethereum gas series at
the step (``gas_price_gwei``, from ``eth_feeHistory``). How the desk holds that ETH depends on the
mode (``pay_in``):

* ``"USDT"`` (modes that hold no ETH): the desk buys the ETH it burns at the Uniswap v3 WETH/USDT
  price; the wallet pays ``gas_eth x ETH/USDT`` USDT;
* ``"WETH"`` (modes that hold ETH on-chain): the wallet pays ``gas_eth`` WETH, valued at the
  on-chain ETH/USD price (``OnchainPrices``) like every other WETH holding.

A standalone operation is one transaction: its configured gas units are the whole transaction's. An
atomic group is one transaction: the sum of its legs' units less the 21,000 base of every leg but
one (``tx_gas_units``).
"""

from __future__ import annotations

import math

from basiskit.data.errors import DataError
from basiskit.data.market_state import MarketState
from basiskit.domain.time import ns_to_iso
from basiskit.domain.portfolio import GAS
from basiskit.venues.sim.onchain_prices import OnchainPrices


def tx_gas_units(leg_units: list[int], tx_base: int = 21000) -> int:
    """Gas units of one transaction made of several calls, each quoted as a whole transaction."""
    legs = [u for u in leg_units if u]
    return sum(legs) - tx_base * max(len(legs) - 1, 0)


class GasModel:
    """Gas prices now (``MarketState``): ``gwei_key`` the gas price series, ``eth_usd_key`` the ETH/USDT
    price gas is bought at when paid in USDT; paid in WETH, it is valued at ``valuation`` (the on-chain
    ETH/USD price of ``OnchainPrices``)."""

    def __init__(self, state: MarketState, gwei_key: str = "gas.gwei", eth_usd_key: str = "eth.usdt",
                 pay_in: str = "USDT", valuation: OnchainPrices | None = None) -> None:
        self.state = state
        self.gwei_key = gwei_key
        self.eth_usd_key = eth_usd_key
        self.pay_in = pay_in
        self.valuation = valuation

    def _eth_usd(self) -> float:
        if self.pay_in == "USDT":
            return self.state.px[self.eth_usd_key]
        return self.valuation.eth_usd_now

    def cost_eth(self, gas_units: int) -> float:
        """ETH burnt by ``gas_units`` now.

        Raises:
            DataError: no gas price now (outside the gas data).
        """
        cost = gas_units * self.state.px[self.gwei_key] * 1e-9
        if math.isnan(cost):
            raise DataError(f"no gas price at {ns_to_iso(self.state.t)} for an on-chain operation "
                            f"(dataset gas.ethereum ends 2025-09-26 23:00)", key="gas.ethereum")
        return cost

    def cost_usd(self, gas_units: int) -> float:
        """USD(T) cost of ``gas_units`` now.

        Raises:
            DataError: no gas price or ETH price now.
        """
        cost = self.cost_eth(gas_units) * self._eth_usd()
        if math.isnan(cost):
            raise DataError(f"no ETH/USD price at {ns_to_iso(self.state.t)} to pay gas "
                            f"(dataset dex.uniswapv3.WETHUSDT)", key="gas")
        return cost

    def charge(self, wallet: str, venue: str, gas_units: int) -> tuple[float, tuple, tuple]:
        """What paying ``gas_units`` from ``wallet`` does: ``(usd, deltas, pnl)`` -- the wallet's token
        paid (``pay_in``) and ``gas`` booked under ``venue``; the portfolio applies them."""
        if not gas_units:
            return 0.0, (), ()
        usd = self.cost_usd(gas_units)
        amount = usd if self.pay_in == "USDT" else self.cost_eth(gas_units)
        return usd, ((wallet, self.pay_in, -amount),), ((GAS, venue, -usd),)
