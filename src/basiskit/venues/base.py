"""The ``Venue`` protocol: what the engine needs from any venue, simulated or live.

Every venue is one account. At each clock step the engine calls ``accrue(i)`` (interest, funding
settlements up to the step time, revalue positions and book the change
into the attribution, check liquidation), then ``execute(order, i)`` for each order routed to it,
and ``value_usd(i)`` for equity. ``withdrawable(token, i)`` bounds what a transfer may take out;
``state()``/``restore()`` let the execution manager roll an atomic group back. A venue never reads a wall clock: the step index ``i`` into the shared ``MarketFrame`` is the
only time it knows.
"""

from __future__ import annotations

from typing import Any, Protocol

from basiskit.domain.events import Event
from basiskit.domain.orders import Order
from basiskit.domain.trades import Trade


class Venue(Protocol):
    name: str

    def accrue(self, i: int) -> list[Event]:
        """Settle everything due up to step ``i`` (funding, interest), revalue positions at step ``i``
        booking the change into the attribution, then liquidate if the venue's rules say so."""
        ...

    def withdrawable(self, token: str, i: int) -> float:
        """Token units a transfer may take out of this account at step ``i``."""
        ...

    def execute(self, order: Order, i: int) -> Trade:
        """Apply ``order`` at step ``i``; a refused order returns a non-filled Trade and changes nothing."""
        ...

    def value_usd(self, i: int) -> float:
        """Value of this account (cash + positions) in USD(T) at step ``i``."""
        ...

    def state(self) -> Any:
        """Opaque copy of mutable state for rollback."""
        ...

    def restore(self, state: Any) -> None: ...
