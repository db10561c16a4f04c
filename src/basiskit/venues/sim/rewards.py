"""ether.fi restaking rewards (EIGEN, ETHFI) credited to the wallet (``restaking`` account).

Every step accrues, for each distribution whose window overlaps the interval since the last step,
``eETH held x overlap / window length x per_eeth`` tokens (``data.rewards``: eETH held = weETH in the
wallet and supplied on AAVE, x the weETH/ETH rate, the holding being the one carried through the
interval). On the first step at or after a distribution's payout time the accrued amount is credited
to the wallet as the reward token and booked as ``restaking_rewards`` at its Uniswap price then;
afterwards the tokens are ordinary wallet holdings (their price moves are ``price_basis``). Estimated
rows are skipped unless ``include_estimates``; DefiLlama rows (an ETH value, not a token amount) are
converted to EIGEN at the pool price at credit.
"""

from __future__ import annotations

import math
from typing import Callable

from basiskit.data.market import MarketFrame
from basiskit.data.rewards import RewardDistribution
from basiskit.domain.events import Event
from basiskit.domain.orders import Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import RESTAKING_REWARDS, Attribution, Ledger
from basiskit.venues.sim.onchain_prices import OnchainPrices


class RestakingRewards:
    def __init__(self, name: str, distributions: list[RewardDistribution], frame: MarketFrame, ledger: Ledger,
                 attribution: Attribution, prices: OnchainPrices, eeth_held: Callable[[int], float],
                 include_estimates: bool = False, wallet: str = "wallet") -> None:
        self.name = name
        self.grid_list = frame.grid.tolist()
        self.dists = [d for d in distributions if include_estimates or not d.estimated]
        self.ledger = ledger
        self.attr = attribution
        self.prices = prices
        self.eeth_held = eeth_held
        self.wallet = wallet
        self.accrued = [0.0] * len(self.dists)
        self.credited = [False] * len(self.dists)
        self.credits: list[tuple[int, str, float, float, int]] = []  # (t, token, amount, usd, source line)
        self._last_t: int | None = None
        self._open = sorted(range(len(self.dists)), key=lambda k: self.dists[k].start_ns)
        attribution.bucket(name)

    def accrue(self, i: int) -> list[Event]:
        t = self.grid_list[i]
        t0, self._last_t = self._last_t, t
        events: list[Event] = []
        if t0 is None:
            return events
        held = None
        for k in self._open:  # uncredited distributions, by window start
            d = self.dists[k]
            if d.start_ns >= t:
                break
            lo, hi = max(t0, d.start_ns), min(t, d.end_ns)
            if hi > lo:
                if held is None:
                    held = self.eeth_held(i)
                if held > 0:
                    self.accrued[k] += held * (hi - lo) / (d.end_ns - d.start_ns)
        for k in [k for k in self._open if t >= self.dists[k].payout_ns]:
            self._open.remove(k)
            self.credited[k] = True
            d = self.dists[k]
            share = self.accrued[k]
            if share <= 0:
                continue
            amount = share * d.per_eeth_eth_value / self.prices.eth(d.token, i) if math.isnan(d.per_eeth) else share * d.per_eeth
            self.prices.check(d.token, i)
            usd = amount * self.prices.usd(d.token, i)
            self.ledger.add(self.wallet, d.token, amount)
            self.attr.add(RESTAKING_REWARDS, self.name, usd)
            self.credits.append((t, d.token, amount, usd, d.line))
            events.append(Event(t, self.name, "restaking_reward", {"token": d.token, "amount": amount, "usd": usd,
                                                                   "eeth_weighted": share, "source_line": d.line}))
        return events

    def withdrawable(self, token: str, i: int) -> float:
        return 0.0

    def execute(self, order: Order, i: int) -> Trade:
        return Trade(order, self.grid_list[i], TradeStatus.REJECTED, error_code="VENUE-001",
                     error=f"{self.name} takes no orders")

    def value_usd(self, i: int) -> float:
        return 0.0

    def state(self):
        return list(self.accrued), list(self.credited), len(self.credits), self._last_t, list(self._open)

    def restore(self, state) -> None:
        self.accrued, self.credited, n, self._last_t, self._open = (list(state[0]), list(state[1]), state[2], state[3],
                                                                    list(state[4]))
        del self.credits[n:]
