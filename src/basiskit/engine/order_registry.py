"""The run's orders by client order id: ids, idempotent submission, look-ups.

One registry per run (the kernel owns it, whatever the venues: simulated or live), so a client
order id names one order for the whole run, across venues. It lives in ``engine/`` because ids are
the run's, not a venue's: a live venue keeps its own book, a simulated one its resting orders
(:mod:`basiskit.venues.sim.resting`); both report changes of records this registry holds.

Rules:

* an order without ``client_order_id`` gets ``<prefix>-<n>`` (n = 1, 2, ... in submission order,
  skipping ids already taken): the same run submits the same ids, so a rerun is reproducible;
* an order whose id is already known is a *resubmission*: nothing new is created or sent, the
  existing record comes back (``Submission.new`` is False) with whatever state it has reached. An id
  is never filled twice, whatever the number of submissions. An order without an id is a new order
  every time: idempotency needs the caller's id;
* a known id with a *different* order (any field but ``reason``) raises ``DuplicateOrderId``
  (``EXEC-005``): silently answering with another order's state would mislead the strategy;
* ids stay taken after the order ends (filled, cancelled, ...): reusing one is a resubmission.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from basiskit.domain.order_state import OrderRecord
from basiskit.domain.orders import Order
from basiskit.errors.exceptions import DuplicateOrderId


class Submission(NamedTuple):
    record: OrderRecord
    new: bool  # False: a resubmission of a known id (hand nothing to the venue)


class OrderRegistry:
    """Every order of one run, by client order id, in submission order.

    Args:
        prefix: start of the ids this registry assigns (a run id or strategy name), e.g. ``"r42"``
            gives ``r42-1``, ``r42-2``, ...
    """

    def __init__(self, prefix: str) -> None:
        if not prefix or any(ch.isspace() for ch in prefix):
            raise ValueError(f"the id prefix must be a non-empty word, got {prefix!r}")
        self._prefix = prefix
        self._n = 0
        self._records: dict[str, OrderRecord] = {}

    def _next_id(self) -> str:
        while True:
            self._n += 1
            cid = f"{self._prefix}-{self._n}"
            if cid not in self._records:
                return cid

    def submit(self, order: Order, ts: int) -> Submission:
        """Register ``order`` and mark it SUBMITTED at ``ts`` (ns), or return the known record of its id.

        Returns:
            ``Submission(record, new)``: ``new`` True for a new order (INITIALISED -> SUBMITTED at
            ``ts``; hand it to its venue), False for a resubmission (the record as it is; do nothing).
        Raises:
            DuplicateOrderId: the id is known for a different order.
        """
        cid = order.client_order_id
        if cid is not None and cid in self._records:
            known = self._records[cid]
            if known.order != order:
                raise DuplicateOrderId(f"client order id {cid!r} already names another order "
                                       f"({known.order.side and known.order.side.value} {known.order.amount:.10g} "
                                       f"{known.order.token} {known.order.order_type.value}, {known.status.value})")
            return Submission(known, False)
        if cid is None:
            order = order.with_id(self._next_id())
        record = OrderRecord(order, ts)
        record.submit(ts)
        self._records[record.client_order_id] = record
        return Submission(record, True)

    def adopt(self, record: OrderRecord) -> None:
        """Add a record a venue created (the take-profit / stop-loss children of a bracket).

        Raises:
            DuplicateOrderId: its id is known for another record.
        """
        known = self._records.get(record.client_order_id)
        if known is record:
            return
        if known is not None:
            raise DuplicateOrderId(f"client order id {record.client_order_id!r} is already registered")
        self._records[record.client_order_id] = record

    def get(self, client_order_id: str) -> OrderRecord:
        """The record of an id. Raises KeyError (naming the id) when unknown."""
        try:
            return self._records[client_order_id]
        except KeyError:
            raise KeyError(f"unknown client order id {client_order_id!r}") from None

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[OrderRecord]:
        return iter(list(self._records.values()))

    def open_orders(self, venue: str | None = None, token: str | None = None) -> list[OrderRecord]:
        """Records not yet terminal (initialised, submitted, accepted, partially filled), in submission
        order, optionally of one venue account and/or token."""
        return [r for r in self._records.values() if not r.is_terminal
                and (venue is None or r.order.venue == venue) and (token is None or r.order.token == token)]
