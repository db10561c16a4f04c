"""Transfers of a token between two accounts (wallet <-> CEX accounts, CEX <-> CEX): the ``transit``
account.

Cost and time of a transfer from account ``a`` to account ``b`` (``TransferCosts``; numbers per venue,
token and network in ``basiskit/configs/venues/*.yaml`` with their sources):

* accounts of the same venue (``binance.spot`` -> ``binance.perp``): an internal transfer, free and
  instant (Binance "universal transfer", Bybit and OKX "transfer between accounts");
* otherwise a withdrawal from ``a``'s venue on a network both venues support, the cheapest one (ties:
  the fastest): ``a`` pays its ``withdrawal_fee`` in the token on top of the amount (booked ``fees``) and
  the amount is *in transit* for ``a.withdrawal_delay_seconds + b.deposit_delay_seconds``: it counts in
  equity (the ``transit`` account's value) but cannot be used; it lands at the first clock step at or
  after its arrival time (``transfer_arrived`` event). Delayed transfers carry USDT only (the value in
  transit is taken at 1 USDT).

The amount plus the fee must not exceed what the source can release (``withdrawable``: e.g. a perp
account keeps twice its maintenance margin), compared with the tolerance of ``domain.money``. A
transfer out of an account whose held prices did not trade at the step (a data gap: the margin it
could release is unknown) is deferred (``TradeStatus.DEFERRED``, VENUE-006).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from basiskit.config.venues import NetworkTransfer
from basiskit.data.market_state import MarketState
from basiskit.domain.events import AccountChange, MarketTick
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import Order
from basiskit.domain.portfolio import FEES, Attribution
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection

TRANSIT = "transit"


def venue_of(account: str) -> str:
    """``binance.perp`` -> ``binance``; ``wallet`` -> ``wallet``."""
    return account.partition(".")[0]


@dataclass(frozen=True)
class Route:
    """How a transfer goes: network (None = internal), fee in token units, delay in ns."""

    network: str | None
    fee: float
    delay_ns: int


class TransferCosts:
    """Resolves ``(source account, destination account, token)`` to a :class:`Route`.

    Args:
        networks: venue name -> token -> network -> :class:`NetworkTransfer` (the venue configs'
            ``transfers``).
    """

    def __init__(self, networks: dict[str, dict[str, dict[str, NetworkTransfer]]]) -> None:
        self.networks = networks
        self._cache: dict[tuple[str, str, str], Route | None] = {}

    def route(self, src: str, dst: str, token: str) -> Route | None:
        """The route, or None when the two venues share no network for ``token``."""
        key = (src, dst, token)
        if key not in self._cache:
            self._cache[key] = self._resolve(venue_of(src), venue_of(dst), token)
        return self._cache[key]

    def _resolve(self, a: str, b: str, token: str) -> Route | None:
        if a == b:
            return Route(None, 0.0, 0)
        out = self.networks.get(a, {}).get(token, {})
        into = self.networks.get(b, {}).get(token, {})
        best = None
        for net in sorted(set(out) & set(into)):
            w, d = out[net], into[net]
            cand = Route(net, w.withdrawal_fee, (w.withdrawal_delay_seconds + d.deposit_delay_seconds) * 10**9)
            if best is None or (cand.fee, cand.delay_ns) < (best.fee, best.delay_ns):
                best = cand
        return best

    @property
    def any_delay(self) -> bool:
        return any(n.withdrawal_delay_seconds or n.deposit_delay_seconds
                   for toks in self.networks.values() for nets in toks.values() for n in nets.values())


class Transfers:
    name = TRANSIT

    def __init__(self, venues: dict, costs: TransferCosts, state: MarketState, attribution: Attribution) -> None:
        self.venues = venues
        self.costs = costs
        self.state = state
        self.accrues = costs.any_delay
        self.attr = attribution
        self.pending: list[tuple[int, str, str, float]] = []  # (arrival ns, destination, token, amount)

    def on_market(self, tick: MarketTick) -> list:
        if not self.pending:
            return []
        t = self.state.t
        arrived = [p for p in self.pending if p[0] <= t]
        if not arrived:
            return []
        self.pending = [p for p in self.pending if p[0] > t]
        return [AccountChange(t, TRANSIT, "transfer_arrived", deltas=((dst, tok, amt),),
                              data={"to": dst, "token": tok, "amount": amt}) for _, dst, tok, amt in arrived]

    def poll(self, now_ns: int) -> list:
        return []

    def in_transit(self, account: str, token: str = "USDT") -> float:
        """Token units on their way to ``account``."""
        return sum(amt for _, dst, tok, amt in self.pending if dst == account and tok == token)

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [self._execute(o) for o in orders]

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        src, dst, tok = order.venue, order.to_venue, order.token
        if src not in self.venues or dst not in self.venues:
            return Trade(order, t, TradeStatus.REJECTED, error_code="EXEC-002",
                         error=f"unknown account in transfer {src} -> {dst}")
        route = self.costs.route(src, dst, tok)
        if route is None:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                         error=f"{venue_of(src)} and {venue_of(dst)} share no network for {tok} (basiskit/configs/venues)")
        source = self.venues[src]
        stale = getattr(source, "stale_now", None)
        if stale is not None and stale():
            return Trade(order, t, TradeStatus.DEFERRED, error_code="VENUE-006",
                         error=f"{src} holds a position without a traded price at this step (data gap): transfer deferred")
        if route.delay_ns and tok != "USDT":
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                         error=f"delayed transfers carry USDT only (a {tok} transfer from {src} takes "
                               f"{route.delay_ns // 10**9} s on {route.network})")
        fee = route.fee
        avail = source.withdrawable(tok)
        amount = order.amount
        if not within(amount + fee, avail):
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                         error=f"{src} cannot release {tok} for this transfer: {fmt_amounts(amount + fee, avail)}")
        amount = min(amount, avail - fee)
        deltas: tuple = ((src, tok, -(amount + fee)),)
        if route.delay_ns:
            self.pending.append((t + route.delay_ns, dst, tok, amount))
        else:
            deltas += ((dst, tok, amount),)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=amount, price=1.0, fee=fee, fee_currency=tok,
                     deltas=deltas, pnl=((FEES, src, -fee),) if fee else ())

    def withdrawable(self, token: str) -> float:
        return 0.0

    def quiet_now(self) -> bool:
        """Whether :meth:`project` can pass steps now (nothing in transit)."""
        return not self.pending

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        """Over a quiet stretch (``engine.quiet``) with nothing in transit: worth 0. None while money
        is on its way (it lands at a step of its own)."""
        if self.pending:
            return None
        return Projection(np.zeros(hi - lo), lambda k: None, {}, blocked=hi - lo)

    def value_usd(self) -> float:
        v = 0.0
        for _, _, tok, amt in self.pending:
            v += amt
        return v

    def account(self) -> AccountSnapshot:
        return AccountSnapshot(TRANSIT, {"USDT": self.value_usd()} if self.pending else {}, {}, self.value_usd())

    def checkpoint(self):
        return list(self.pending)

    def restore(self, cp) -> None:
        self.pending = list(cp)
