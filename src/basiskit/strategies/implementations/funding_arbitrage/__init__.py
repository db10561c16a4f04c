"""``funding_arbitrage``: earn the funding-rate difference of one perpetual on two venues (long where
funding is low, short where it is high), moving margin between venues as the best pair moves.

* :mod:`.config`     -- the mode's pydantic config (rebalance rules as a discriminated union)
* :mod:`.models`     -- data models: ``PositionPair``, ``PairView``, ``RebalanceSignal``, funding estimates
* :mod:`.rebalance`  -- the rebalance sub-strategies (pure functions behind one interface) and their factory
* :mod:`.strategy`   -- the orchestrator: monitor positions -> rebalance -> open new positions -> fund transfers
"""

from basiskit.strategies.implementations.funding_arbitrage.config import FundingArbConfig
from basiskit.strategies.implementations.funding_arbitrage.strategy import FundingArbitrage

__all__ = ["FundingArbConfig", "FundingArbitrage"]
