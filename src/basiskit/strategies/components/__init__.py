"""Components a stateful strategy composes (``categories.stateful``):

* :class:`PositionManager` (``positions.py``): positions per strategy, venue account and instrument,
  kept from the run's fills and saved to / loaded from the store's ``strategy_positions``;
* state managers (``state.py``): :class:`InMemoryStateManager` (tests, backtests) and
  :class:`StoreStateManager` (the store's ``strategy_state``: SQLite or PostgreSQL through
  ``persistence.protocol.RunStore``; the strategy never imports SQLAlchemy).

The stores are injected as anything with the methods of ``PositionStore`` / ``StateStore`` below
(``RunStore`` has them), so a test can pass ``persistence.MemoryRunStore``.
"""

from basiskit.strategies.components.positions import PositionManager, PositionStore
from basiskit.strategies.components.state import InMemoryStateManager, StateManager, StateStore, StoreStateManager

__all__ = ["InMemoryStateManager", "PositionManager", "PositionStore", "StateManager", "StateStore", "StoreStateManager"]
