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
from basiskit.data.market import MarketFrame
from basiskit.domain.time import ns_to_iso
from basiskit.venues.ledger import GAS, Attribution, Ledger


def tx_gas_units(leg_units: list[int], tx_base: int = 21000) -> int:
    """Gas units of one transaction made of several calls, each quoted as a whole transaction."""
    legs = [u for u in leg_units if u]
    return sum(legs) - tx_base * max(len(legs) - 1, 0)


class GasModel:
    def __init__(self, frame: MarketFrame, gwei_key: str = "gas.gwei", eth_usd_key: str = "eth.usdt",
                 pay_in: str = "USDT", valuation_eth_usd: list[float] | None = None) -> None:
        self.gwei = frame.series[gwei_key]
        self.eth_usd = frame.series[eth_usd_key] if pay_in == "USDT" else valuation_eth_usd
        self.grid = frame.grid
        self.pay_in = pay_in

    def cost_eth(self, gas_units: int, i: int) -> float:
        """ETH burnt by ``gas_units`` at step ``i``.

        Raises:
            DataError: no gas price at step ``i`` (outside the gas data).
        """
        cost = gas_units * self.gwei[i] * 1e-9
        if math.isnan(cost):
            raise DataError(f"no gas price at {ns_to_iso(int(self.grid[i]))} for an on-chain operation "
                            f"(dataset gas.ethereum ends 2025-09-26 23:00)", key="gas.ethereum")
        return cost

    def cost_usd(self, gas_units: int, i: int) -> float:
        """USD(T) cost of ``gas_units`` at step ``i``.

        Raises:
            DataError: no gas price or ETH price at step ``i``.
        """
        cost = self.cost_eth(gas_units, i) * self.eth_usd[i]
        if math.isnan(cost):
            raise DataError(f"no ETH/USD price at {ns_to_iso(int(self.grid[i]))} to pay gas "
                            f"(dataset dex.uniswapv3.WETHUSDT)",
                            key="gas")
        return cost

    def pay(self, ledger: Ledger, attr: Attribution, wallet: str, venue: str, gas_units: int, i: int) -> float:
        """Debit the wallet for ``gas_units`` and book ``gas``; returns the USD(T) cost."""
        if not gas_units:
            return 0.0
        usd = self.cost_usd(gas_units, i)
        amount = usd if self.pay_in == "USDT" else self.cost_eth(gas_units, i)
        ledger.add(wallet, self.pay_in, -amount)
        attr.add(GAS, venue, -usd)
        return usd
