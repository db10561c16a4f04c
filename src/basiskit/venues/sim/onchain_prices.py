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

import numpy as np

from basiskit.data.errors import DataError
from basiskit.data.market_state import MarketState
from basiskit.domain.time import ns_to_iso
from basiskit.domain.portfolio import PRICE_BASIS, STAKING, Attribution

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
    """ETH per unit and USD(T) per unit of on-chain tokens now (``eth``, ``usd``) and at the previous
    step (``eth_prev``, ``usd_prev``), read from the run's ``MarketState``. The kernel calls
    :meth:`on_tick` once per step before any venue accrues (it keeps the previous step's values).

    Raises:
        DataError: a price needed for a non-zero holding is missing (NaN) at the step.
    """

    def __init__(self, state: MarketState, lsts: list[str], rewards: list[str]) -> None:
        self.state = state
        self._keys: dict[str, str | None] = {ETH: None}
        self._dataset: dict[str, str] = {ETH: "dex.uniswapv3.WETHUSDT"}
        for t in lsts:
            self._keys[t] = lst_key(t)
            self._dataset[t] = f"oracle.{t}.ETH"
        for t in rewards:
            self._keys[t] = reward_key(t)
            self._dataset[t] = f"dex.uniswapv3.{t}WETH"
        self.tokens = [t for t in self._keys]
        self.eth_usd_now = float("nan")
        self.eth_usd_prev = float("nan")
        self._unit_now: dict[str, float] = {t: 1.0 for t in self._keys}
        self._unit_prev: dict[str, float] = dict(self._unit_now)

    def on_tick(self) -> None:
        """Shift now -> previous and read the step's values."""
        px = self.state.px
        self.eth_usd_prev = self.eth_usd_now
        self.eth_usd_now = px[ETH_USD_KEY]
        prev, now = self._unit_now, self._unit_prev  # reuse the dicts
        for t, key in self._keys.items():
            now[t] = 1.0 if key is None else px[key]
        self._unit_prev, self._unit_now = prev, now

    def knows(self, token: str) -> bool:
        return token == USDT or token in self._keys

    def eth(self, token: str) -> float:
        """ETH per unit of ``token`` now (USDT: 1 / ETH-USD)."""
        if token == USDT:
            return 1.0 / self.eth_usd_now
        return self._unit_now[token]

    def usd(self, token: str) -> float:
        """USD(T) per unit of ``token`` now."""
        if token == USDT:
            return 1.0
        return self._unit_now[token] * self.eth_usd_now if self._keys[token] is not None else self.eth_usd_now

    def check(self, token: str) -> None:
        v = self.usd(token)
        if math.isnan(v):
            raise DataError(f"no {token} price at {ns_to_iso(self.state.t)} for a non-zero holding "
                            f"(datasets {self._dataset.get(token)}, dex.uniswapv3.WETHUSDT)", key=self._dataset.get(token))

    def unit_source(self, token: str) -> str:
        return STAKING if token in LSTS else PRICE_BASIS

    def revalue(self, attr: Attribution, venue: str, token: str, qty: float) -> None:
        """Book the value change of ``qty`` units of ``token`` held from the previous step to now (see module)."""
        if not qty or token == USDT:
            return
        pa, pb = self.eth_usd_prev, self.eth_usd_now
        if self._keys[token] is None:
            unit = 0.0
            price = qty * (pb - pa)
        else:
            ua = self._unit_prev[token]
            unit = qty * (self._unit_now[token] - ua) * pb
            price = qty * ua * (pb - pa)
        if unit + price != unit + price:  # NaN
            self.check(token)
            raise DataError(f"no {token} price at the previous step for a holding carried to {ns_to_iso(self.state.t)}",
                            key=self._dataset.get(token))
        total, bucket = attr.total, attr.by_venue[venue]
        if unit:
            src = STAKING if token in LSTS else PRICE_BASIS
            total[src] += unit
            bucket[src] += unit
        if price:
            total[PRICE_BASIS] += price
            bucket[PRICE_BASIS] += price

    # -- quiet stretches (engine.quiet) ----------------------------------------------------------------
    def project(self, lo: int, hi: int, feed) -> "PriceProjection | None":
        """The prices over the steps ``[lo, hi)`` as :meth:`on_tick` would have them at each step (a
        missing price is NaN, as in the scalar path; the kernel steps a stretch whose equity it makes
        NaN, so the error names the step)."""
        return PriceProjection(self, lo, hi, feed)


class PriceProjection:
    """``OnchainPrices`` over a stretch of steps: per step (arrays) the ETH/USD price now and at the
    previous step, each token's ETH per unit now and at the previous step; ``usd``, ``eth`` and
    ``revalue`` with the arithmetic of the scalar methods; ``commit(k)`` leaves the prices as
    ``on_tick`` at step ``lo + k - 1`` would."""

    def __init__(self, prices: OnchainPrices, lo: int, hi: int, feed) -> None:
        self._np = np
        self.prices = prices
        self.eth_usd = feed.values(ETH_USD_KEY, lo, hi)
        self.eth_usd_prev = np.concatenate(([prices.eth_usd_now], self.eth_usd[:-1]))
        self.unit: dict[str, object] = {}
        self.unit_prev: dict[str, object] = {}
        for t, key in prices._keys.items():
            if key is not None:
                u = feed.values(key, lo, hi)
                self.unit[t] = u
                self.unit_prev[t] = np.concatenate(([prices._unit_now[t]], u[:-1]))

    def usd(self, token: str):
        """USD(T) per unit at each step (array; USDT: 1.0)."""
        if token == USDT:
            return 1.0
        return self.unit[token] * self.eth_usd if self.prices._keys[token] is not None else self.eth_usd

    def eth(self, token: str):
        """ETH per unit at each step (array; WETH: 1.0; USDT: 1 / ETH-USD)."""
        if token == USDT:
            return 1.0 / self.eth_usd
        return self.unit[token] if self.prices._keys[token] is not None else 1.0

    def revalue(self, token: str, qty) -> list[tuple[str, object]]:
        """The bookings of ``OnchainPrices.revalue`` for ``qty`` (a number or an array of units held
        from the previous step), at each step: ``[(source, array)]`` in its order."""
        if token == USDT or (not isinstance(qty, self._np.ndarray) and not qty):
            return []
        pa, pb = self.eth_usd_prev, self.eth_usd
        if self.prices._keys[token] is None:
            return [(PRICE_BASIS, qty * (pb - pa))]
        ua = self.unit_prev[token]
        src = STAKING if token in LSTS else PRICE_BASIS
        return [(src, qty * (self.unit[token] - ua) * pb), (PRICE_BASIS, qty * ua * (pb - pa))]

    def commit(self, k: int) -> None:
        p = self.prices
        p.eth_usd_prev = float(self.eth_usd_prev[k - 1])
        p.eth_usd_now = float(self.eth_usd[k - 1])
        for t in self.unit:
            p._unit_prev[t] = float(self.unit_prev[t][k - 1])
            p._unit_now[t] = float(self.unit[t][k - 1])

