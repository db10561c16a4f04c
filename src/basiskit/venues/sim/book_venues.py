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

from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.portfolio import FEES, SLIPPAGE
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
        mid = self.state.px[self.keys[order.token]]
        q = order.amount
        if buy:
            cash = self.ledger.get(self.name, self.quote)
            need = q * fill * (1 + self._fee)
            if not within(need, cash):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {self.quote} on {self.name}: {fmt_amounts(need, cash)}")
            if need > cash:
                q = cash / (fill * (1 + self._fee))
            notional = q * fill
            fee = notional * self._fee
            d_base, d_quote = q, -(notional + fee)
        else:
            held = self.ledger.get(self.name, order.token)
            if not within(q, held):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {order.token} on {self.name}: sell {fmt_amounts(q, held)}")
            q = min(q, held)
            notional = q * fill
            fee = notional * self._fee
            d_base, d_quote = -q, notional - fee
        return Trade(order, t, TradeStatus.FILLED, executed_amount=q, price=fill, fee=fee, fee_currency=self.quote,
                     deltas=((self.name, order.token, d_base), (self.name, self.quote, d_quote)),
                     pnl=((SLIPPAGE, self.name, d_base * (mid - fill)), (FEES, self.name, -fee)))


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
        m = self.state.px[pos.key]
        delta = order.amount if buy else -order.amount
        fee = abs(delta) * fill * self._fee
        before = (pos.size, pos.entry)
        self._cache_step = -1
        realised = pos.apply_fill(delta, fill)
        coll = self.ledger.get(self.name, self.quote) + realised - fee
        mb = coll + self.unrealised_pnl()
        if abs(pos.size) > 0 and mb < 2.0 * self.maintenance_margin() and delta * pos.size > 0:
            pos.size, pos.entry = before
            self._cache_step = -1
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"insufficient margin on {self.name}: margin balance {mb:.2f} after the trade")
        return Trade(order, t, TradeStatus.FILLED, executed_amount=order.amount, price=fill, fee=fee,
                     fee_currency=self.quote, deltas=((self.name, self.quote, realised - fee),),
                     pnl=((SLIPPAGE, self.name, delta * (m - fill)), (FEES, self.name, -fee)))
