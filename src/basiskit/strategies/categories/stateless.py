"""The stateless category: simple strategies with one fixed decision flow.

``decide`` is a template method; a subclass fills in the steps:

    ready(ctx) -> str | None        None: go on; a text: HOLD this step with that reason (e.g. no
                                    traded price, account not funded yet)
    cancels(ctx) -> list[str]       client order ids of resting orders to cancel
    orders(ctx) -> list[Order]      new orders (they may rely on the cancels above having run: the
                                    engine cancels before it sends)
    action(cancels, orders)         the ``Action`` of the decision (default: ENTRY_PARTIAL when there
                                    is anything to do)

``self.scratch`` is a fresh dict during each ``decide`` call (None outside one): the steps of one call
may share work there (the grid computes its plan once for ``cancels`` and ``orders``); it never carries
anything to the next call.

"Stateless" means the strategy keeps nothing between steps that it cannot read back from the venue
(balances, positions, its working orders: ``ctx.open_orders``). So a restart -- a fresh instance on a
venue that still holds the old orders -- continues without stored state and without duplicates, and
``snapshot()`` is ``{}``. Deterministic client order ids (a function of what the order is for) make
that easy: an order that is already working is seen in ``ctx.open_orders`` and not sent again.
"""

from __future__ import annotations

from basiskit.domain.actions import Action
from basiskit.domain.orders import Order
from basiskit.strategies.base import HOLD, BaseStrategy, Decision
from basiskit.strategies.context import StrategyContext


class StatelessStrategy(BaseStrategy):
    """Template-method strategy (see the module docstring). Subclasses implement ``requirements``,
    ``orders`` and, as needed, ``ready`` and ``cancels``; they do not override ``decide``."""

    scratch: dict | None = None

    def ready(self, ctx: StrategyContext) -> str | None:
        """None when the strategy may act at this step, else the reason it holds."""
        return None

    def cancels(self, ctx: StrategyContext) -> list[str]:
        """Client order ids of working orders to cancel at this step."""
        return []

    def orders(self, ctx: StrategyContext) -> list[Order]:
        """New orders at this step."""
        raise NotImplementedError

    def action(self, cancels: list[str], orders: list[Order]) -> Action:
        return Action.ENTRY_PARTIAL

    def reason(self, cancels: list[str], orders: list[Order]) -> str:
        return f"{len(orders)} orders, {len(cancels)} cancels"

    def decide(self, ctx: StrategyContext) -> Decision:
        self.scratch = {}  # what the steps of this one call share (e.g. a plan both cancels and orders read)
        try:
            if self.ready(ctx) is not None:
                return HOLD
            cancels = self.cancels(ctx)
            orders = self.orders(ctx)
        finally:
            self.scratch = None
        if not cancels and not orders:
            return HOLD
        return Decision(self.action(cancels, orders), orders, self.reason(cancels, orders), cancels=tuple(cancels))

    # nothing to keep: everything is read back from the venue
    def snapshot(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        if state:
            raise ValueError(f"{type(self).__name__} is stateless; it restores from the venue, not from {sorted(state)}")
