"""Gas cost of on-chain operations.

``cost_usd = gas_units x gas_price_gwei x 1e-9 x ETH/USDT`` where the gas price is the Ethereum gas
series at the step (``gas_price_gwei``, from ``eth_feeHistory``) and ETH/USDT is the Uniswap v3
WETH/USDT pool price at the step (the desk buys the ETH it burns at the on-chain price). An atomic
group pays once per transaction. Gas units per operation come from the venue config.
"""

from __future__ import annotations

from basiskit.data.market import MarketFrame


class GasModel:
    def __init__(self, frame: MarketFrame, gwei_key: str = "gas.gwei", eth_usd_key: str = "eth.usdt") -> None:
        self.gwei = frame.series[gwei_key]
        self.eth_usd = frame.series[eth_usd_key]

    def cost_usd(self, gas_units: int, i: int) -> float:
        """USD(T) cost of ``gas_units`` at step ``i``."""
        return gas_units * self.gwei[i] * 1e-9 * self.eth_usd[i]
