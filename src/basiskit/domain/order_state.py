"""An order's life: the one state table, and the record that follows one order through it.

The table (``TRANSITIONS``) lists, for every status, the statuses it may change to. Every change of
an order's status goes through :func:`transition`; anything else raises :class:`IllegalTransition`
(``EXEC-004``) and leaves the order as it was::

    INITIALISED ──► SUBMITTED ──► ACCEPTED ──► PARTIALLY_FILLED ──► FILLED
         │              │             │              │  ▲ (another partial fill)
         │              │             │              └──┘
         ├─► REJECTED ◄─┘             ├─► FILLED      ├─► CANCELLED
         └─► CANCELLED ◄┘             ├─► CANCELLED   └─► EXPIRED
                                      └─► EXPIRED

Meaning of each status (who moves an order there):

* ``INITIALISED``: built by the strategy, known to the run, not sent yet.
* ``SUBMITTED``: handed to a venue (the engine's order registry does this).
* ``ACCEPTED``: the venue holds it (a market order is accepted, then filled, in the same step).
* ``PARTIALLY_FILLED``: some, not all, of its quantity filled; it is still working.
* ``FILLED``: its whole quantity filled. Terminal.
* ``CANCELLED``: withdrawn by request: the strategy, the other leg of an OCO pair, a reduce-only
  order with no position left to reduce, or a fill the venue refused. Terminal.
* ``REJECTED``: refused before it could work (risk gate before sending; the venue on arrival:
  bad parameters, an id already used). Never after ``ACCEPTED``. Terminal.
* ``EXPIRED``: its time in force ended it: the unfilled rest of an ``IOC`` order, a ``FOK`` order
  that could not fill at once, a ``GTD`` order at ``expire_ns``. Terminal.

Fills only happen from ``ACCEPTED`` or ``PARTIALLY_FILLED``; a terminal status changes no more, so a
filled, cancelled, rejected or expired order is never filled (again).

Quantities are base-token units (``Order.amount``), prices quote units per base unit, times int ns
since the epoch (UTC). A fill that brings the filled quantity within ``QTY_RTOL`` (relative to the
order's quantity) of the quantity completes the order; a fill beyond that is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from basiskit.domain.orders import Order
from basiskit.errors.exceptions import IllegalTransition

__all__ = ["OrderStatus", "TRANSITIONS", "TERMINAL", "QTY_RTOL", "IllegalTransition", "transition", "is_legal",
           "Change", "OrderRecord", "OrderView"]


class OrderStatus(str, Enum):
    INITIALISED = "initialised"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


_S = OrderStatus

# The state table: status -> the statuses it may change to. Nothing else is legal.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.INITIALISED: frozenset({_S.SUBMITTED,         # sent to a venue
                               _S.REJECTED,          # denied before sending (risk gate)
                               _S.CANCELLED}),       # withdrawn before sending
    _S.SUBMITTED: frozenset({_S.ACCEPTED,            # the venue holds it
                             _S.REJECTED,            # the venue refused it on arrival
                             _S.CANCELLED}),         # cancelled before the venue acknowledged it
    _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED,  # a further partial fill
                                    _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
    _S.FILLED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}

TERMINAL: frozenset[OrderStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

QTY_RTOL = 1e-9
"""Relative tolerance on an order's quantity: float dust left by summing partial fills."""


def is_legal(status: OrderStatus, to: OrderStatus) -> bool:
    """Whether the table allows ``status -> to``."""
    return to in TRANSITIONS[status]


def transition(status: OrderStatus, to: OrderStatus, *, client_order_id: str | None = None) -> OrderStatus:
    """``to`` when the table allows ``status -> to``.

    Raises:
        IllegalTransition: the change is not in ``TRANSITIONS`` (the message names both statuses and
            the order).
    """
    if to not in TRANSITIONS[status]:
        who = f"order {client_order_id!r}: " if client_order_id else ""
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[status])) or "none, it is terminal"
        raise IllegalTransition(f"{who}illegal transition {status.value} -> {to.value} (allowed: {allowed})")
    return to


class Change(NamedTuple):
    """One entry of an order's history.

    ``quantity`` and ``price`` are set on fills only: the quantity filled by this fill (base units) and
    its executed price (quote per base). ``reason`` says why (rejections, cancels, expiries, fills).
    """

    ts: int
    status: OrderStatus
    quantity: float = 0.0
    price: float | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderView:
    """A read-only copy of an order's state at one time, for strategies (``ctx.open_orders``,
    ``ctx.order_status``).

    ``account`` is the venue account (``binance.perp``); ``order_type``, ``side``, ``status`` and
    ``time_in_force`` their enum values as text; ``amount``, ``filled``, ``remaining`` base units;
    ``avg_price``, ``limit_price``, ``stop_price`` quote per base (None when not set / no fill yet);
    ``expire_ns`` ns since the epoch (GTD only); ``last_ts`` the time of its last change (ns).
    """

    client_order_id: str
    account: str
    token: str
    order_type: str
    side: str | None
    amount: float
    filled: float
    remaining: float
    avg_price: float | None
    status: str
    limit_price: float | None
    stop_price: float | None
    time_in_force: str
    expire_ns: int | None
    oco_group: str | None
    reduce_only: bool
    last_ts: int

    @property
    def is_open(self) -> bool:
        """Working at its venue (accepted or partially filled)."""
        return self.status in (OrderStatus.ACCEPTED.value, OrderStatus.PARTIALLY_FILLED.value)


class OrderRecord:
    """The life of one order: its status, fills and history. Mutable; every change goes through the table.

    Attributes (read-only properties):
        order: the frozen ``Order`` (its ``client_order_id`` is set).
        status: the current ``OrderStatus``.
        filled: base units filled so far; ``remaining`` = quantity - filled (never negative).
        avg_price: quantity-weighted average executed price, None before the first fill.
        history: every change in order, starting with ``INITIALISED`` at creation.
    Raises (every method):
        IllegalTransition: the change is not in the table, a non-positive or non-finite fill, a fill
            beyond the remaining quantity; the record is unchanged.
        ValueError: a time earlier than the last change (history is in time order).
    """

    __slots__ = ("_order", "_status", "_filled", "_notional", "_history")

    def __init__(self, order: Order, ts: int) -> None:
        if not order.client_order_id:
            raise ValueError("an OrderRecord needs an order with a client_order_id (the registry assigns one)")
        self._order = order
        self._status = OrderStatus.INITIALISED
        self._filled = 0.0
        self._notional = 0.0
        self._history: list[Change] = [Change(int(ts), OrderStatus.INITIALISED)]

    # ---- reading -------------------------------------------------------------------------------
    @property
    def order(self) -> Order:
        return self._order

    @property
    def client_order_id(self) -> str:
        return self._order.client_order_id  # type: ignore[return-value]

    @property
    def status(self) -> OrderStatus:
        return self._status

    @property
    def quantity(self) -> float:
        return self._order.amount

    @property
    def filled(self) -> float:
        return self._filled

    @property
    def remaining(self) -> float:
        return max(self._order.amount - self._filled, 0.0)

    @property
    def avg_price(self) -> float | None:
        return self._notional / self._filled if self._filled > 0.0 else None

    @property
    def history(self) -> tuple[Change, ...]:
        return tuple(self._history)

    @property
    def last_ts(self) -> int:
        return self._history[-1].ts

    @property
    def is_terminal(self) -> bool:
        return self._status in TERMINAL

    @property
    def is_open(self) -> bool:
        """Working at a venue: accepted or partially filled."""
        return self._status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)

    def view(self) -> OrderView:
        """A read-only copy of the order's state now (see ``OrderView``)."""
        o = self._order
        return OrderView(self.client_order_id, o.venue, o.token, o.order_type.value, o.side.value if o.side else None,
                         o.amount, self._filled, self.remaining, self.avg_price, self._status.value, o.limit_price,
                         o.stop_price, o.time_in_force.value, o.expire_ns, o.oco_group, o.reduce_only, self.last_ts)

    def __repr__(self) -> str:
        return (f"OrderRecord({self.client_order_id!r}, {self._status.value}, filled={self._filled:.10g}/"
                f"{self._order.amount:.10g})")

    # ---- changing --------------------------------------------------------------------------------
    def _move(self, ts: int, to: OrderStatus, quantity: float = 0.0, price: float | None = None,
              reason: str = "") -> Change:
        ts = int(ts)
        if ts < self._history[-1].ts:
            raise ValueError(f"order {self.client_order_id!r}: change at {ts} is before the last one "
                             f"({self._history[-1].ts})")
        self._status = transition(self._status, to, client_order_id=self.client_order_id)
        change = Change(ts, to, quantity, price, reason)
        self._history.append(change)
        return change

    def submit(self, ts: int) -> Change:
        return self._move(ts, OrderStatus.SUBMITTED)

    def accept(self, ts: int) -> Change:
        return self._move(ts, OrderStatus.ACCEPTED)

    def reject(self, ts: int, reason: str) -> Change:
        return self._move(ts, OrderStatus.REJECTED, reason=reason)

    def cancel(self, ts: int, reason: str = "cancelled on request") -> Change:
        return self._move(ts, OrderStatus.CANCELLED, reason=reason)

    def expire(self, ts: int, reason: str = "time in force ended") -> Change:
        return self._move(ts, OrderStatus.EXPIRED, reason=reason)

    def fill(self, ts: int, quantity: float, price: float, reason: str = "") -> Change:
        """Book a fill of ``quantity`` base units at ``price``: PARTIALLY_FILLED, or FILLED when nothing
        (within ``QTY_RTOL``) remains."""
        if not (quantity > 0.0 and math.isfinite(quantity)) or not (price > 0.0 and math.isfinite(price)):
            raise IllegalTransition(f"order {self.client_order_id!r}: a fill needs a positive finite quantity and "
                                    f"price, got {quantity!r} at {price!r}")
        total = self._order.amount
        tol = total * QTY_RTOL
        done = self._filled + quantity >= total - tol
        transition(self._status, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                   client_order_id=self.client_order_id)  # a fill of a terminal order says so, not "overfill"
        if quantity > self.remaining + tol:
            raise IllegalTransition(f"order {self.client_order_id!r}: overfill refused: fill {quantity:.10g} with "
                                    f"{self.remaining:.10g} of {total:.10g} remaining ({self._status.value})")
        change = self._move(ts, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, quantity, price, reason)
        self._notional += quantity * price
        self._filled = total if done else self._filled + quantity
        return change
