"""Gas cost of on-chain operations.

``cost_usd = gas_units x gas_price_gwei x 1e-9 x ETH/USDT`` where the gas price is the Ethereum gas
series at the step (``gas_price_gwei``, from ``eth_feeHistory``) and ETH/USDT is the Uniswap v3
WETH/USDT pool price at the step (the desk buys the ETH it burns at the on-chain price). An atomic
group pays once per transaction. Gas units per operation come from the venue config.
"""

from __future__ import annotations

import math

from basiskit.data.errors import DataError
from basiskit.data.market import MarketFrame
from basiskit.engine.clock import ns_to_iso


class GasModel:
    def __init__(self, frame: MarketFrame, gwei_key: str = "gas.gwei", eth_usd_key: str = "eth.usdt") -> None:
        self.gwei = frame.series[gwei_key]
        self.eth_usd = frame.series[eth_usd_key]
        self.grid = frame.grid

    def cost_usd(self, gas_units: int, i: int) -> float:
        """USD(T) cost of ``gas_units`` at step ``i``.

        Raises:
            DataError: no gas price or ETH price at step ``i`` (outside the gas or DEX data).
        """
        cost = gas_units * self.gwei[i] * 1e-9 * self.eth_usd[i]
        if math.isnan(cost):
            raise DataError(f"no gas or ETH/USDT price at {ns_to_iso(int(self.grid[i]))} for an on-chain operation "
                            f"(datasets gas.ethereum, dex.uniswapv3.WETHUSDT)", key="gas.ethereum")
        return cost
