"""Simulated spot and perp accounts that fill at the book (book-ticker runs, ``data.tick_feed``).

``BookSpot`` / ``BookPerp`` are ``CexSpot`` / ``CexPerp`` (balances, positions, margin, revaluation at
the mid ``MarketState.px[key]``, attribution) whose market orders fill by the book rule of
``venues.sim.book_fill``: a buy at the ask, a sell at the bid of the book standing ``latency_ns``
after the decision, taker fee of the venue config on the filled notional, no extra slippage (the
spread is the slippage). Attribution of a fill: ``slippage`` = traded amount x (mid now - fill price),
``fees`` = -fee; the revaluation at the mid does the rest, as in the parent classes. An order that
cannot fill (no book yet, fill time past the data) is REJECTED with VENUE-006. Resting orders are not
offered on book runs (the parent's bar book needs bar extremes): such an order is refused by the bar
book with its own reason.
"""

from __future__ import annotations

from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.portfolio import FEES, SLIPPAGE
from basiskit.domain.time import ns_to_iso
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.sim.book_fill import BookFill
from basiskit.venues.sim.cex_perp import CexPerp
from basiskit.venues.sim.cex_spot import CexSpot


def _no_fill(order: Order, t: int, name: str, latency_ns: int) -> Trade:
    return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-006",
                 error=f"no {order.token} book on {name} {latency_ns / 1e6:g} ms after {ns_to_iso(t)} within the data: "
                       "not filled")


class BookSpot(CexSpot):
    """A spot account filling at the book (module docstring). ``fills``: token -> ``BookFill``."""

    def __init__(self, *args, fills: dict[str, BookFill], latency_ns: int = 0, **kw) -> None:
        super().__init__(*args, **kw)
        self.fills = fills
        self.latency_ns = int(latency_ns)

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        if order.operation is not Operation.SPOT_TRADE or order.token not in self.keys:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        buy = order.side is Side.BUY
        due = t + self.latency_ns
        fill = self.fills[order.token].at(due, buy)
        if fill is None:
            return _no_fill(order, t, self.name, self.latency_ns)
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
        return Trade(order, due, TradeStatus.FILLED, executed_amount=q, price=fill, fee=fee, fee_currency=self.quote,
                     deltas=((self.name, order.token, d_base), (self.name, self.quote, d_quote)),
                     pnl=((SLIPPAGE, self.name, d_base * (mid - fill)), (FEES, self.name, -fee)))


class BookPerp(CexPerp):
    """A linear perp account filling at the book (module docstring). ``fills``: token -> ``BookFill``."""

    def __init__(self, *args, fills: dict[str, BookFill], latency_ns: int = 0, **kw) -> None:
        super().__init__(*args, **kw)
        self.fills = fills
        self.latency_ns = int(latency_ns)

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        if order.operation is not Operation.PERP_TRADE or order.token not in self.positions:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        pos = self.positions[order.token]
        buy = order.side is Side.BUY
        due = t + self.latency_ns
        fill = self.fills[order.token].at(due, buy)
        if fill is None:
            return _no_fill(order, t, self.name, self.latency_ns)
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
        return Trade(order, due, TradeStatus.FILLED, executed_amount=order.amount, price=fill, fee=fee,
                     fee_currency=self.quote, deltas=((self.name, self.quote, realised - fee),),
                     pnl=((SLIPPAGE, self.name, delta * (m - fill)), (FEES, self.name, -fee)))
