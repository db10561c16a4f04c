"""ether.fi restaking rewards (EIGEN, ETHFI) credited to the wallet (``restaking`` account).

The distribution windows are announced in advance (the run's schedule, ``data.rewards``); the amount
per eETH is known only when a distribution is paid (a ``RewardPayout`` market event). Every step
accrues, for each open window overlapping the interval since the last step, ``eETH held x overlap /
window length`` (eETH-weighted share); at the payout it credits ``share x per_eeth`` tokens (``data.rewards``: eETH held = weETH in the
wallet and supplied on AAVE, x the weETH/ETH rate, the holding being the one carried through the
interval). On the first step at or after a distribution's payout time the accrued amount is credited
to the wallet as the reward token and booked as ``restaking_rewards`` at its Uniswap price then;
afterwards the tokens are ordinary wallet holdings (their price moves are ``price_basis``). Estimated
rows are skipped unless ``include_estimates``; DefiLlama rows (an ETH value, not a token amount) are
converted to EIGEN at the pool price at credit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from basiskit.data.market_state import MarketState
from basiskit.data.rewards import RewardDistribution
from basiskit.domain.events import AccountChange, MarketTick, RewardPayout
from basiskit.domain.orders import Order
from basiskit.domain.portfolio import RESTAKING_REWARDS, Attribution, Ledger
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection
from basiskit.venues.sim.onchain_prices import OnchainPrices


class RestakingRewards:
    """``windows``: the run's distribution schedule (only the windows, tokens and payout times are
    read; amounts arrive with the payouts)."""

    def __init__(self, name: str, windows: list[RewardDistribution], state: MarketState, ledger: Ledger,
                 attribution: Attribution, prices: OnchainPrices, eeth_held: Callable[[], float],
                 wallet: str = "wallet", eeth_held_over: Callable | None = None) -> None:
        self.name = name
        self.state = state
        self.windows = [(d.token, d.start_ns, d.end_ns, d.line) for d in windows]
        self.ledger = ledger
        self.attr = attribution
        self.prices = prices
        self.eeth_held = eeth_held
        self.eeth_held_over = eeth_held_over  # (lo, hi, feed, prices) -> eETH held per step (quiet stretches)
        self.wallet = wallet
        self.accrued = [0.0] * len(self.windows)
        self.credited = [False] * len(self.windows)
        self.credits: list[tuple[int, str, float, float, int]] = []  # (t, token, amount, usd, source line)
        self._last_t: int | None = None
        self._open = sorted(range(len(self.windows)), key=lambda k: self.windows[k][1])
        attribution.bucket(name)

    def on_market(self, tick: MarketTick) -> list:
        t = self.state.t
        t0, self._last_t = self._last_t, t
        events: list = []
        if t0 is None:
            return events
        held = None
        for k in self._open:  # uncredited distributions, by window start
            _, start, end, _ = self.windows[k]
            if start >= t:
                break
            lo, hi = max(t0, start), min(t, end)
            if hi > lo:
                if held is None:
                    held = self.eeth_held()
                if held > 0:
                    self.accrued[k] += held * (hi - lo) / (end - start)
        for pay in tick.events:
            if type(pay) is not RewardPayout:
                continue
            k = pay.index
            if k in self._open:
                self._open.remove(k)
            self.credited[k] = True
            share = self.accrued[k]
            if share <= 0:
                continue
            token, _, _, line = self.windows[k]
            amount = share * pay.per_eeth_eth_value / self.prices.eth(token) if math.isnan(pay.per_eeth) else share * pay.per_eeth
            self.prices.check(token)
            usd = amount * self.prices.usd(token)
            self.credits.append((t, token, amount, usd, line))
            events.append(AccountChange(t, self.name, "restaking_reward", deltas=((self.wallet, token, amount),),
                                        pnl=((RESTAKING_REWARDS, self.name, usd),),
                                        data={"token": token, "amount": amount, "usd": usd, "eeth_weighted": share,
                                              "source_line": line}))
        return events

    def quiet_now(self) -> bool:
        """Whether :meth:`project` can pass steps now (accruing since a previous step)."""
        return self._last_t is not None and self.eeth_held_over is not None

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        """Accrual over a quiet stretch (``engine.quiet``; payouts end stretches): each open window's
        eETH-weighted share grows as :meth:`on_market` adds it step by step (same arithmetic, summed in
        order). Worth nothing until paid."""
        if not self.quiet_now() or prices is None:
            return None
        n = hi - lo
        t = np.asarray(feed.grid[lo:hi], dtype=np.int64)
        t0 = np.concatenate(([self._last_t], t[:-1]))
        held = None
        adds = {}
        for k in self._open:
            _, start, end, _ = self.windows[k]
            a, b = np.maximum(t0, start), np.minimum(t, end)
            overlap = b > a
            if not overlap.any():
                continue
            if held is None:
                held = self.eeth_held_over(lo, hi, feed, prices)
            adds[k] = np.where(overlap & (held > 0), held * (b - a) / (end - start), 0.0)
        done = [0]  # steps committed so far

        def commit(k: int) -> None:
            for w, inc in adds.items():
                self.accrued[w] = float(np.cumsum(np.concatenate(([self.accrued[w]], inc[done[0]:k])))[-1])
            self._last_t = int(t[k - 1])
            done[0] = k

        return Projection(np.zeros(n), commit, {}, blocked=n)

    def withdrawable(self, token: str) -> float:
        return 0.0

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [Trade(o, self.state.t, TradeStatus.REJECTED, error_code="VENUE-003", error=f"{self.name} takes no orders")
                for o in orders]

    def poll(self, now_ns: int) -> list:
        return []

    def value_usd(self) -> float:
        return 0.0

    def account(self) -> AccountSnapshot:
        return AccountSnapshot(self.name)

    def checkpoint(self):
        return list(self.accrued), list(self.credited), len(self.credits), self._last_t, list(self._open)

    def restore(self, cp) -> None:
        self.accrued, self.credited, n, self._last_t, self._open = (list(cp[0]), list(cp[1]), cp[2], cp[3], list(cp[4]))
        del self.credits[n:]
