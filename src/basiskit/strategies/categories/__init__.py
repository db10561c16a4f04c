"""Strategy categories: two ways to build on the minimal contract of ``strategies.base.BaseStrategy``.

* :class:`StatelessStrategy` (``categories/stateless.py``): simple strategies (a grid, a threshold
  rule). ``decide`` is a template method -- ``ready`` -> ``cancels`` -> ``orders`` -- and the strategy
  keeps nothing between steps that it could not read back from the venues (prices, balances, its open
  orders), so a restart needs no stored state. Market-data helpers (:mod:`.market`) read the context.
* :class:`StatefulStrategy` (``categories/stateful.py``): complex strategies (funding arbitrage, basis
  with frozen re-targets). No enforced flow: the strategy writes ``decide`` itself and composes the
  components of ``strategies/components`` (a position manager, a state manager) that it is given.

Both remain ``BaseStrategy`` s: the kernel, the registry and the risk override see only the base
contract (``decide``, ``reduce_risk``, ``on_event``, ``snapshot``/``restore``, ``requirements``).
"""

from basiskit.strategies.categories.stateful import StatefulStrategy
from basiskit.strategies.categories.stateless import StatelessStrategy

__all__ = ["StatefulStrategy", "StatelessStrategy"]
