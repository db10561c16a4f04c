"""The stateful category: complex strategies that compose components and write their own flow.

A ``StatefulStrategy`` gets its components at construction (``components=StrategyComponents(...)``;
defaults: an in-memory state manager and a position manager without a store, so a backtest needs
nothing) and keeps its state in the state manager, which ``snapshot()`` / ``restore()`` read and write
-- so the kernel's run store (``strategy_state``) and a restarted live run see one JSON object. There
is no template: ``decide`` is the subclass's (e.g. funding arbitrage's monitor -> rebalance -> open ->
transfers loop).

A live run gives it store-backed components (``components.state.StoreStateManager`` and
``components.positions.PositionManager(store=...)`` over a ``persistence.protocol.RunStore``); the
strategy never imports the database layer.

Subclasses that keep their state in plain attributes (``Basis``, ``LstBook``) override ``snapshot`` /
``restore`` themselves, as before; the components are there when they want them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from basiskit.strategies.base import BaseStrategy
from basiskit.strategies.components.positions import PositionManager
from basiskit.strategies.components.state import InMemoryStateManager, StateManager


@dataclass
class StrategyComponents:
    """What a stateful strategy composes. ``strategy_id``: the key of its rows in the store
    (``strategy_positions``, ``strategy_state``); one per strategy of a run (a multi-strategy run gives
    each its sleeve name)."""

    strategy_id: str = "default"
    state: StateManager = field(default_factory=InMemoryStateManager)
    positions: PositionManager | None = None

    def __post_init__(self) -> None:
        if self.positions is None:
            self.positions = PositionManager(self.strategy_id)


class StatefulStrategy(BaseStrategy):
    """A strategy with components and no enforced flow (see the module docstring).

    Args:
        config: the mode config (pydantic, frozen).
        components: the state and position managers; default in-memory ones.
    """

    def __init__(self, config, components: StrategyComponents | None = None) -> None:
        super().__init__(config)
        self.components = components or StrategyComponents()

    def use_components(self, components: StrategyComponents) -> None:
        """Replace the components (the factory does this for a live run: store-backed managers under
        the run's strategy id). Call before the first step."""
        self.components = components

    @property
    def state(self) -> StateManager:
        return self.components.state

    @property
    def positions(self) -> PositionManager:
        return self.components.positions  # type: ignore[return-value]

    def on_event(self, ev) -> None:
        """Keeps the position manager up to date from fills (trades) of the run."""
        self.components.positions.on_event(ev)

    def snapshot(self) -> dict:
        """The state manager's contents and the tracked positions (JSON-able)."""
        return {"state": self.state.get_all(), "positions": self.positions.snapshot()}

    def restore(self, state: dict) -> None:
        """Inverse of :meth:`snapshot`.

        Raises:
            ValueError: a state with keys other than ``state`` and ``positions``.
        """
        extra = set(state) - {"state", "positions"}
        if extra:
            raise ValueError(f"unknown strategy state keys {sorted(extra)} (expected state, positions)")
        self.state.replace(state.get("state", {}))
        self.positions.restore(state.get("positions", []))
