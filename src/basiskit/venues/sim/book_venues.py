"""Simulated spot and perp accounts that trade at the book (book-ticker runs, ``data.tick_feed``).

``BookSpot`` / ``BookPerp`` are ``CexSpot`` / ``CexPerp`` (balances, positions, margin, revaluation at
the mid ``MarketState.px[key]``, attribution) with two changes:

* a market order fills at once at the opposite side of the book standing now (a buy at the ask, a
  sell at the bid: ``px[key + ".ask"]`` / ``".bid"``) moved by the venue config's ``slippage_bps``
  (0 for mexc and gateio: the spread is the slippage; hourly bars seen as books have none), taker fee
  on the filled notional; no book yet: REJECTED (VENUE-006);
* their order book is a ``LatencyBook`` (``venues.sim.latency_book``): IOC limit orders reach the venue
  ``latency_ns`` after the decision and execute against the book then -- the signal strategies' orders.

Attribution of a market fill: ``slippage`` = traded amount x (mid now - fill price), ``fees`` = -fee; a
latency fill is booked by the parent's resting-fill rule (``price_basis`` to the last mark, the rest
``fees``); the revaluation at the mid does the rest, as in the parent classes.
"""

from __future__ import annotations

from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.time import ns_to_iso
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.sim.latency_book import LatencyBook
from basiskit.venues.sim.cex_perp import CexPerp
from basiskit.venues.sim.cex_spot import CexSpot


def _no_fill(order: Order, t: int, name: str) -> Trade:
    return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-006",
                 error=f"no {order.token} book on {name} at {ns_to_iso(t)}: not filled")


def _book_price(state, key: str, buy: bool, slip: float) -> float | None:
    p = state.px[key + (".ask" if buy else ".bid")]
    return None if p != p else (p * (1 + slip) if buy else p * (1 - slip))


class BookSpot(CexSpot):
    """A spot account trading at the book (module docstring)."""

    def __init__(self, *args, latency_ns: int = 0, **kw) -> None:
        super().__init__(*args, **kw)
        self.resting = LatencyBook(self.name, Operation.SPOT_TRADE, self.state, self.keys, latency_ns,
                                   self._fill_resting, self._pend.clear)

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        if order.operation is not Operation.SPOT_TRADE or order.token not in self.keys:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        buy = order.side is Side.BUY
        fill = _book_price(self.state, self.keys[order.token], buy, self._slip)
        if fill is None:
            return _no_fill(order, t, self.name)
        return self._market_fill(order, t, fill, self.state.px[self.keys[order.token]])


class BookPerp(CexPerp):
    """A linear perp account trading at the book (module docstring)."""

    def __init__(self, *args, latency_ns: int = 0, **kw) -> None:
        super().__init__(*args, **kw)
        self.resting = LatencyBook(self.name, Operation.PERP_TRADE, self.state,
                                   {tok: p.key for tok, p in self.positions.items()}, latency_ns,
                                   self._fill_resting, self._begin_resting)

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        if order.operation is not Operation.PERP_TRADE or order.token not in self.positions:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        pos = self.positions[order.token]
        buy = order.side is Side.BUY
        fill = _book_price(self.state, pos.key, buy, self._slip)
        if fill is None:
            return _no_fill(order, t, self.name)
        return self._market_fill(order, t, pos, fill, self.state.px[pos.key])
