"""What a simulated venue account gives the kernel for a quiet stretch (``engine.quiet``): its
readings over many steps at once, computed from the price series with its holdings as they are."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Projection:
    """One venue account over the steps ``[lo, hi)`` with its holdings as they are (arrays of
    ``hi - lo`` float64):

    * ``value_usd``: the account's value, USD(T), as ``value_usd()`` would give it at each step;
    * ``delta_usd``: its price exposure as the risk monitor reads it (spot: holdings x price; perp:
      sum of size x mark), USD(T); None for accounts the monitor does not read;
    * ``margin_ratio`` / ``notional_usd``: perp accounts only (NaN where there is no position);
    * ``bookings``: what the account books to the attribution at each step, ``(source, array USD(T))``
      in the order it books them within a step (a multi-token account books each token in turn);
    * ``eth_units``: ETH exposure in ETH units (on-chain accounts: as ``eth_exposure()``; perps: the
      ETH perp size), None where the monitor reads none;
    * ``mark`` / ``withdrawable``: perp accounts: the mark of its symbol and the USDT a transfer may take
      out (as ``withdrawable("USDT")``);
    * ``health_factor`` / ``ltv``: AAVE accounts, as ``risk_readings()``; ``supplied`` / ``borrowed``:
      AAVE aToken balance / variable debt per token (token units);
    * ``blocked``: the first step index (relative to ``lo``) the account cannot pass quietly (e.g. a
      liquidation), or ``hi - lo``;
    * ``events``: None, or ``events(a, b)``: the account events the steps ``[lo + a, lo + b)`` carry,
      ``[(step - lo, event)]`` in the order the account would report them (a perp's funding
      settlements; made on demand), applied by the kernel in step order;
    * ``commit(k)``: move the account's own state (last marks, caches, its record of the events) to
      step ``lo + k - 1``; called with growing ``k`` when the kernel commits a stretch in parts;
    * ``bucket``: the account's attribution bucket (its bookings are added to it)."""

    value_usd: np.ndarray
    commit: object
    bucket: dict
    delta_usd: np.ndarray | None = None
    margin_ratio: np.ndarray | None = None
    notional_usd: np.ndarray | None = None
    bookings: list[tuple[str, np.ndarray]] = field(default_factory=list)
    blocked: int = 0
    events: object = None
    eth_units: np.ndarray | None = None
    mark: np.ndarray | None = None
    withdrawable: np.ndarray | None = None
    health_factor: np.ndarray | None = None
    ltv: np.ndarray | None = None
    supplied: dict[str, np.ndarray] = field(default_factory=dict)
    borrowed: dict[str, np.ndarray] = field(default_factory=dict)
