"""Orders on their way to a book-ticker venue: the latency between a decision and the venue.

A book-ticker account (``venues.sim.book_venues``) takes the signal strategies' orders as marketable
**IOC limit orders**. Placed at the decision's step t (``place``: ACCEPTED at t), each one meets the
venue at the first step at or after ``t + latency_ns`` (the run's next book-ticker event then: no step
is looked ahead of) and executes against the instrument's book standing at that step
(``MarketState.px[key + ".ask"]`` for a buy, ``".bid"`` for a sell: the opposite side of the latest
valid book): FILLED at that price through the venue's fill booking (``_fill_resting``: taker fee, no
extra slippage), or EXPIRED (time in force IOC) when the book is beyond the limit or the instrument has
no book yet. With ``latency_ns`` 0 the order executes at once, against the book the decision saw. An
order still on its way when the data ends stays ACCEPTED (it never reached the venue).

The orders on their way are part of the account's state a live or paper session stores after each step
(``engine.live.recovery.book_snapshot``): ``in_flight()`` gives them as JSON rows (due time, acceptance
time, the order), ``restore_in_flight(rows)`` puts them back on a fresh book at a restart, so an order
placed before the stored step still meets the venue at its due step. (Not part of ``checkpoint()``: an
atomic group's rollback never touches this book -- it takes no legs with a time in force.)

Events, in order, as the bar book gives them (``bar_orders.py``): ``OrderStatusChanged`` accepted; at
execution the fill's ``Trade`` then ``OrderStatusChanged`` filled (quantity, price), or expired with the
reason. A venue refusal of the fill (``OrderRejected``: cash, margin) cancels the order with its reason.
Other order types (market orders go to the venue's ``_execute``; stop, take-profit, GTC limits,
brackets) are refused here (VENUE-002).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from basiskit.data.market_state import MarketState
from basiskit.domain.events import OrderStatusChanged
from basiskit.domain.order_state import OrderRecord
from basiskit.domain.orders import Operation, Order, OrderType, Side, TimeInForce, order_from_json, order_to_json
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.errors.exceptions import OrderRejected
from basiskit.venues.sim.resting import Trigger


class LatencyBook:
    """The orders of one account still on their way (module docstring). ``fill(trigger, order) -> Trade``
    books one fill on the venue; ``begin()`` readies the venue for submission-time fills."""

    def __init__(self, account: str, operation: Operation, state: MarketState, keys: dict[str, str],
                 latency_ns: int, fill: Callable[[Trigger, Order], Trade], begin: Callable[[], None]) -> None:
        self.account = account
        self.operation = operation
        self.state = state
        self.keys = keys
        self.latency_ns = int(latency_ns)
        self.active = False
        self.adopt = None  # the execution manager's hook for records a book creates (none here)
        self._fill = fill
        self._begin = begin
        self._pending: deque[tuple[int, OrderRecord]] = deque()

    def open_orders(self, token: str | None = None) -> list[OrderRecord]:
        return [r for _, r in self._pending if token is None or r.order.token == token]

    def problem(self, order: Order) -> tuple[str, str] | None:
        if order.operation is not self.operation or order.token not in self.keys:
            return "VENUE-003", f"{self.account} cannot {order.operation.value} {order.token}"
        if order.order_type is not OrderType.LIMIT or order.time_in_force is not TimeInForce.IOC or order.bracketed:
            return "VENUE-002", (f"{self.account} (a book-ticker venue) takes market orders and IOC limit orders only "
                                 "(no stops, take-profits, resting limits or brackets)")
        return None

    def place(self, record: OrderRecord) -> list:
        t = self.state.t
        refused = self.problem(record.order)
        if refused is not None:
            code, why = refused
            change = record.reject(t, f"{code}: {why}")
            return [Trade(record.order, t, TradeStatus.REJECTED, error_code=code, error=why),
                    OrderStatusChanged(t, self.account, record.client_order_id, change.status.value, change.reason)]
        ch = record.accept(t)
        out: list = [OrderStatusChanged(t, self.account, record.client_order_id, ch.status.value, ch.reason)]
        if self.latency_ns == 0:
            self._begin()
            out += self._execute(record)
        else:
            self._pending.append((t + self.latency_ns, record))
            self.active = True
        return out

    def in_flight(self) -> list[list]:
        """The orders on their way, in placement order: ``[due ns, accepted ns, order as JSON]`` each."""
        return [[due, r.last_ts, order_to_json(r.order)] for due, r in self._pending]

    def restore_in_flight(self, rows: list) -> list[OrderRecord]:
        """Put the orders of ``in_flight()`` back on this (fresh) book, ACCEPTED at their time; returns their
        new records. Raises ValueError (naming the client order id) for an order this book would refuse."""
        pending: deque[tuple[int, OrderRecord]] = deque()
        for due, accepted, data in rows:
            o = order_from_json(data)
            refused = self.problem(o) if o.client_order_id else ("VENUE-002", "no client order id")
            if refused is not None:
                raise ValueError(f"{self.account}: stored order {o.client_order_id!r} on its way: {refused[1]}")
            r = OrderRecord(o, int(accepted))
            r.submit(int(accepted))
            r.accept(int(accepted))
            pending.append((int(due), r))
        self._pending = pending
        self.active = bool(pending)
        return [r for _, r in pending]

    def attach(self, entry: OrderRecord, quantity: float) -> list:
        raise ValueError(f"{self.account} takes no brackets")

    def cancel(self, client_order_id: str) -> list:
        """Cancel an order still on its way. Raises KeyError for an id not pending here."""
        for k, (_, r) in enumerate(self._pending):
            if r.client_order_id == client_order_id:
                del self._pending[k]
                self.active = bool(self._pending)
                ch = r.cancel(self.state.t)
                return [OrderStatusChanged(ch.ts, self.account, client_order_id, ch.status.value, ch.reason)]
        raise KeyError(client_order_id)

    def on_bars(self) -> list:
        return []

    def on_open(self) -> list:
        """Execute the orders due by now, in the order they were placed."""
        out: list = []
        t = self.state.t
        while self._pending and self._pending[0][0] <= t:
            _, record = self._pending.popleft()
            out += self._execute(record)
        self.active = bool(self._pending)
        return out

    def _execute(self, record: OrderRecord) -> list:
        o, t = record.order, self.state.t
        buy = o.side is Side.BUY
        key = self.keys[o.token]
        price = self.state.px[key + (".ask" if buy else ".bid")]
        cid = record.client_order_id
        if price != price or (price > o.limit_price if buy else price < o.limit_price):
            why = (f"no {o.token} book on {self.account} yet" if price != price else
                   f"the book ({price:.10g}) is beyond the limit {o.limit_price:.10g}")
            ch = record.expire(t, f"IOC: {why}")
            return [OrderStatusChanged(t, self.account, cid, ch.status.value, ch.reason)]
        trig = Trigger(cid, o.token, o.side, o.amount, price, t, "latency", False, o.reduce_only)
        try:
            tr = self._fill(trig, o)
        except OrderRejected as exc:
            ch = record.cancel(t, f"VENUE-002: {exc}")
            return [OrderStatusChanged(t, self.account, cid, ch.status.value, ch.reason)]
        ch = record.fill(t, tr.executed_amount, tr.price)
        out = [tr, OrderStatusChanged(t, self.account, cid, ch.status.value, ch.reason, ch.quantity, ch.price)]
        if record.is_open:  # trimmed to the balance: IOC, the rest expires
            ch = record.expire(t, "IOC: the rest of the order expires")
            out.append(OrderStatusChanged(t, self.account, cid, ch.status.value, ch.reason))
        return out
