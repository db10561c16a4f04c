"""The grid family (mode ``grid``): a ladder of resting limit orders on one perp, re-armed on fills.

``config.py`` (``GridConfig``), ``ladder.py`` (the pure ladder arithmetic: level prices, client order
ids, the ladder wanted from the working orders), ``strategy.py`` (``Grid``, a stateless strategy).
"""

from basiskit.strategies.implementations.grid.config import GridConfig
from basiskit.strategies.implementations.grid.strategy import Grid

__all__ = ["Grid", "GridConfig"]
