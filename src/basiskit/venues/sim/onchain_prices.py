"""On-chain valuation prices and the revaluation rule shared by every on-chain account.

Every on-chain token is valued in ETH, then in USD(T) with one ETH/USD price:

* ``WETH`` (= ETH; wrapping is free and not modelled): 1 ETH;
* an LST (``wstETH``, ``weETH``): the AAVE LST/ETH oracle, an **exchange-rate feed** (ETH per LST
  from the staking protocol's own rate, not a market price; the DEX market rate is the ``peg.*``
  series the swap venue uses);
* a reward token (``EIGEN``, ``ETHFI``): its Uniswap v3 pool price in WETH (bar open at the step);
* ETH/USD: the Uniswap v3 WETH/USDT pool price (bar open at the step). Not the AAVE WETH/USD oracle
  file: in the data it is a linear interpolation between daily points and strays up to 17 % from the
  market within a day (seen 2025-03-10), which would put fake swings between on-chain ETH and perp
  hedges. Health factors of ETH-correlated positions (LST collateral, WETH debt) do not depend on
  the ETH/USD price at all; the LST/ETH exchange-rate oracle is smooth and is used as is;
* ``USDT``: 1 USD(T) (the share-class unit of USDT modes).

Revaluation of ``q`` units held from step ``a`` to step ``b`` (``u`` = ETH per unit, ``P`` = ETH/USD)::

    q (u_b P_b - u_a P_a) = q (u_b - u_a) P_b   [unit source: staking for LSTs, price for reward tokens]
                          + q u_a (P_b - P_a)   [price_basis: the ETH price]

so that converted to ETH at ``P_b`` the first part is exactly ``q (u_b - u_a)`` ETH (the LST rate
change), which is what an ETH share class must report.
"""

from __future__ import annotations

import math

from basiskit.data.errors import DataError
from basiskit.data.market import MarketFrame
from basiskit.domain.time import ns_to_iso
from basiskit.venues.ledger import PRICE_BASIS, STAKING, Attribution

ETH = "WETH"
USDT = "USDT"
LSTS = ("wstETH", "weETH")
REWARD_TOKENS = ("EIGEN", "ETHFI")
ETH_USD_KEY = "eth.usd.oracle"


def lst_key(token: str) -> str:
    return f"lst.{token}.eth"


def reward_key(token: str) -> str:
    return f"reward.{token}.eth"


class OnchainPrices:
    """ETH per unit and USD(T) per unit of on-chain tokens at step ``i``.

    Raises:
        DataError: a price needed for a non-zero holding is missing (NaN) at the step.
    """

    def __init__(self, frame: MarketFrame, lsts: list[str], rewards: list[str]) -> None:
        self.grid = frame.grid
        self.eth_usd = frame.series[ETH_USD_KEY]
        self._unit: dict[str, list[float] | None] = {ETH: None}
        self._dataset: dict[str, str] = {ETH: "dex.uniswapv3.WETHUSDT"}
        for t in lsts:
            self._unit[t] = frame.series[lst_key(t)]
            self._dataset[t] = f"oracle.{t}.ETH"
        for t in rewards:
            self._unit[t] = frame.series[reward_key(t)]
            self._dataset[t] = f"dex.uniswapv3.{t}WETH"
        self.tokens = [t for t in self._unit]

    def knows(self, token: str) -> bool:
        return token == USDT or token in self._unit

    def eth(self, token: str, i: int) -> float:
        """ETH per unit of ``token`` at step ``i`` (USDT: 1 / ETH-USD)."""
        if token == USDT:
            return 1.0 / self.eth_usd[i]
        series = self._unit[token]
        return 1.0 if series is None else series[i]

    def usd(self, token: str, i: int) -> float:
        """USD(T) per unit of ``token`` at step ``i``."""
        if token == USDT:
            return 1.0
        series = self._unit[token]
        return self.eth_usd[i] if series is None else series[i] * self.eth_usd[i]

    def check(self, token: str, i: int) -> None:
        v = self.usd(token, i)
        if math.isnan(v):
            raise DataError(f"no {token} price at {ns_to_iso(int(self.grid[i]))} for a non-zero holding "
                            f"(datasets {self._dataset.get(token)}, dex.uniswapv3.WETHUSDT)", key=self._dataset.get(token))

    def unit_source(self, token: str) -> str:
        return STAKING if token in LSTS else PRICE_BASIS

    def revalue(self, attr: Attribution, venue: str, token: str, qty: float, a: int, b: int) -> None:
        """Book the value change of ``qty`` units of ``token`` held from step ``a`` to ``b`` (see module)."""
        if not qty or token == USDT or a == b:
            return
        pa, pb = self.eth_usd[a], self.eth_usd[b]
        series = self._unit[token]
        if series is None:
            ua = ub = 1.0
        else:
            ua, ub = series[a], series[b]
        unit = qty * (ub - ua) * pb
        price = qty * ua * (pb - pa)
        if math.isnan(unit + price):
            self.check(token, a)
            self.check(token, b)
        if unit:
            attr.add(self.unit_source(token), venue, unit)
        if price:
            attr.add(PRICE_BASIS, venue, price)
