"""Resting orders of a simulated bar venue account, driven by the run's market state.

``BarOrders`` wires one ``RestingBook`` (``venues/sim/resting.py``: which order fills, how much, at
what reference price -- read its docstring for the rules) into a venue account (``CexSpot``,
``CexPerp``). The venue books every fill the book asks for through its ``fill(trigger, order) ->
Trade`` callback (slippage and fees as for its market orders, a maker fee for a maker fill; it moves
its own positions and raises ``OrderRejected`` to refuse a fill) and the fills come back as account
events the portfolio applies: the venue never writes the ledger. Units: base units for quantities,
quote per base for prices, ns since the epoch (UTC) for times.

What the book sees at each clock step (the venue's ``on_market`` calls ``on_bars``, then ``on_open``):

* ``on_bars``: per token with working orders, the bar(s) that closed since the previous step as one
  bar ``[t_prev, t)``: open = the token's price at the previous step (the venue's last mark of that
  series: the open of the bar that opened then), high / low = ``MarketState.hi/lo`` (the extremes of
  every bar that closed in ``(t_prev, t]``), close = the price at t clamped into [low, high] (an
  hourly bar's close is the next bar's open up to the tick between them; the book uses the close only
  to check the bar). If the data puts the open outside [low, high] (a repaired row), the range is
  widened to contain it: the open is a price the venue filled market orders at. No bar when
  ``hi/lo`` are NaN (no bar closed: step 0, or a clock finer than the bars) or when the price at the
  previous step did not trade (``MarketState.stale``: a data gap valued from a reference venue): a
  resting order never fills at an estimate, nor inside a bar that did not trade.
* ``on_open``: the price at t (``MarketState.px``), for every token with working orders whose price
  traded at t (stale: skipped; orders wait for the next traded price, which meets them as an open:
  a limit the price moved through fills at its limit, a stop beyond it at that open). Then GTD orders
  whose ``expire_ns`` has passed expire (also those of a token without a bar).

At submission (``place``, at the step's time t, after ``on_market``): an order for another operation
or token is REJECTED (``VENUE-003``), and so is one on a series without intrabar highs/lows in the
run's market state (``VENUE-002``: a spot series carries them when the strategy declares
``Requirements(resting_orders=True)``; filling from opens only would be another rule); at a stale
price it is not placed: ``TradeStatus.DEFERRED``
(``VENUE-006``) and its record REJECTED, as a market order is deferred there. Otherwise the book
accepts it (or rejects it, e.g. a bracket whose prices cannot work, ``VENUE-002``) and it meets the
price at t at once (``RestingBook.on_open`` at t): a limit that crosses fills now (taker), IOC / FOK
settle now, a stop already beyond the price triggers now. ``attach`` gives a market entry the venue
has filled its bracket (``<id>-tp-1`` / ``<id>-sl-1``), which meets the price at t the same way.

Events (each method returns them in time order): every status change the book makes as an
``OrderStatusChanged`` (accepted, partially filled, filled, cancelled, expired, rejected; a bracket
child's ``submitted`` is not published: it is accepted at the same instant), each fill preceded by
its ``Trade``; a refusal at submission as a REJECTED / DEFERRED ``Trade`` followed by the status
change. Fill times: at the open (t) or at the bar's close (t as well): a fill is never stamped before
the step that reports it (a GTD expiry may be: it is stamped at ``expire_ns``).

Not modelled: a participation cap (the frame has no volume series: ``participation=None``) and
balances reserved for open orders (a real spot venue locks them on placement; here a fill the balance
cannot pay is refused when it comes, and the order is cancelled with the venue's reason).
Checkpoints: resting orders and brackets are refused inside atomic groups (``engine/execution.py``),
so a venue's checkpoint holds no resting state.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from basiskit.data.market_state import MarketState
from basiskit.domain.events import OrderStatusChanged
from basiskit.domain.order_state import OrderRecord, OrderStatus
from basiskit.domain.orders import Operation, Order
from basiskit.domain.time import ns_to_iso
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.sim.resting import Bar, Executed, RestingBook, Trigger, Update

Fill = Callable[[Trigger, Order], Trade]
"""Books one fill on the venue and returns its trade (``executed_amount`` <= the trigger's quantity,
``price`` slippage included). Raises ``OrderRejected`` to refuse it."""


class BarOrders:
    """The resting orders of one venue account.

    Args:
        account: the venue account (``binance.perp``), the ``component`` of its events.
        operation: the trades it takes (``SPOT_TRADE`` or ``PERP_TRADE``).
        state: the run's market state.
        keys: token -> market series key (the venue's own mapping).
        fill: books a fill (see ``Fill``).
        position: token -> signed position now (perp size; spot: the base balance), base units,
            including fills not yet applied to the ledger.
        last_price: token -> the price the venue last marked the token at (its previous step's price
            during ``on_market``), or None.
        begin: called before a submission-time call (``place``, ``attach``) books fills, so the
            venue starts from the ledger as it is (the fills of the previous call have been applied).

    Attributes:
        active: whether the book has working orders (the venue skips all of this when not: a venue
            without resting orders pays nothing per step).
        adopt: called with each record the book creates (bracket children), e.g. the run's
            ``OrderRegistry.adopt``; None to ignore.
    """

    def __init__(self, account: str, operation: Operation, state: MarketState, keys: dict[str, str], fill: Fill,
                 position: Callable[[str], float], last_price: Callable[[str], float | None],
                 begin: Callable[[], None]) -> None:
        self.account = account
        self.operation = operation
        self.state = state
        self.keys = keys
        self.book = RestingBook()
        self.active = False
        self.adopt: Callable[[OrderRecord], None] | None = None
        self._fill = fill
        self._position = position
        self._last_price = last_price
        self._begin = begin
        self._fills: deque[Trade] = deque()
        self._stale_before: dict[str, bool] = {}  # series key -> stale at the previous step (set while active)

    # ---- reading ---------------------------------------------------------------------------------
    def open_orders(self, token: str | None = None) -> list[OrderRecord]:
        """Working orders (accepted, partially filled), in submission order."""
        return self.book.open_orders(token) if self.active else []

    # ---- submission time -------------------------------------------------------------------------
    def problem(self, order: Order) -> tuple[str, str] | None:
        """(error code, reason) why this account cannot hold ``order`` (or its bracket), or None."""
        key = self.keys.get(order.token)
        if order.operation is not self.operation or key is None:
            return "VENUE-003", f"{self.account} cannot {order.operation.value} {order.token}"
        if key not in self.state.hi:
            return "VENUE-002", (f"the run's {key} series has no intrabar highs/lows: {self.account} takes no resting "
                                 "orders (a strategy that sends them declares Requirements(resting_orders=True))")
        return None

    def place(self, record: OrderRecord) -> list:
        """Place a SUBMITTED resting order (limit, stop, take-profit) at the step's time; returns its
        events (module docstring)."""
        o = record.order
        st = self.state
        refused = self.problem(o)
        if refused is not None:
            return self._refuse(record, TradeStatus.REJECTED, *refused)
        key = self.keys[o.token]
        if st.stale.get(key, False):
            return self._refuse(record, TradeStatus.DEFERRED, "VENUE-006",
                                f"no traded {o.token} price on {self.account} at {ns_to_iso(st.t)} (data gap): "
                                "the order is not placed")
        self._begin()
        updates = self.book.add(record, st.t)
        if record.status is OrderStatus.REJECTED:
            reason = record.history[-1].reason
            return [Trade(o, st.t, TradeStatus.REJECTED, error_code="VENUE-002", error=reason), *self._events(updates)]
        updates += self._meet_now(o.token)
        return self._events(updates)

    def attach(self, entry: OrderRecord, quantity: float) -> list:
        """The bracket of a market entry the venue filled for ``quantity`` base units at this step.

        Raises:
            ValueError: the entry has no bracket or its prices cannot work (``resting.bracket_problem``).
        """
        self._begin()
        updates = self.book.attach_bracket(entry, self.state.t, quantity)
        updates += self._meet_now(entry.order.token)
        return self._events(updates)

    def cancel(self, client_order_id: str) -> list:
        """Cancel a working order at the step's time.

        Raises:
            KeyError: the book does not know the id.
            IllegalTransition: the order has ended (filled, cancelled, expired, rejected).
        """
        return self._events([self.book.cancel(client_order_id, self.state.t)])

    def _meet_now(self, token: str) -> list[Update]:
        st = self.state
        self._remember_stale()
        return self.book.on_open(token, st.t, st.px[self.keys[token]], position=self._position(token),
                                 execute=self._execute)

    def _refuse(self, record: OrderRecord, status: TradeStatus, code: str, why: str) -> list:
        t = self.state.t
        change = record.reject(t, f"{code}: {why}")
        return [Trade(record.order, t, status, error_code=code, error=why),
                OrderStatusChanged(t, self.account, record.client_order_id, change.status.value, change.reason)]

    # ---- each clock step -------------------------------------------------------------------------
    def on_bars(self) -> list:
        """The bar(s) closed since the previous step, per token with working orders (module docstring)."""
        st = self.state
        if st.step <= 0:
            return []
        updates: list[Update] = []
        hi, lo, px = st.hi, st.lo, st.px
        for token in self._tokens():
            key = self.keys[token]
            h, low = hi.get(key, math.nan), lo.get(key, math.nan)
            o = self._last_price(token)
            if h != h or low != low or o is None or self._stale_before.get(key, False):
                continue
            h, low = max(h, o), min(low, o)
            close = min(max(px[key], low), h)
            bar = Bar(token, st.t_prev, st.t, o, h, low, close, 0.0)
            updates += self.book.on_bar(bar, position=self._position(token), execute=self._execute)
        return self._events(updates)

    def on_open(self) -> list:
        """The price at t for the tokens with working orders, then GTD expiries (module docstring)."""
        st = self.state
        updates: list[Update] = []
        stale, px = st.stale, st.px
        for token in self._tokens():
            key = self.keys[token]
            if not stale.get(key, False):
                updates += self.book.on_open(token, st.t, px[key], position=self._position(token),
                                             execute=self._execute)
        updates += self.book.expire(st.t)
        self._remember_stale()
        return self._events(updates)

    def _tokens(self) -> list[str]:
        live = {r.order.token for r in self.book.open_orders()}
        return [tok for tok in self.keys if tok in live]

    def _remember_stale(self) -> None:
        stale = self.state.stale
        self._stale_before = {key: stale.get(key, False) for key in self.keys.values()}

    # ---- fills and events ------------------------------------------------------------------------
    def _execute(self, trigger: Trigger) -> Executed:
        tr = self._fill(trigger, self.book.get(trigger.client_order_id).order)
        self._fills.append(tr)
        return Executed(tr.executed_amount, tr.price)

    def _events(self, updates: list[Update]) -> list:
        out: list = []
        fills = self._fills
        for u in updates:
            ch = u.change
            if ch.status is OrderStatus.SUBMITTED:  # a bracket child, accepted at the same instant
                if self.adopt is not None:
                    self.adopt(u.record)
                continue
            fill = u.trigger is not None
            if fill:
                out.append(fills.popleft())
            out.append(OrderStatusChanged(ch.ts, self.account, u.record.client_order_id, ch.status.value, ch.reason,
                                          ch.quantity, ch.price if fill else None))
        if fills:
            raise RuntimeError(f"{self.account}: {len(fills)} fill(s) booked without a book update")  # a bug
        self.active = bool(self.book.open_orders())
        return out
