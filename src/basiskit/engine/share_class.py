"""Reporting in the share class: USDT (as booked) or ETH.

Venues book everything in USD(T). For the ETH share class, with ``P_i`` the on-chain ETH/USD price at
step i, ``E_i`` equity in USD(T) and ``dA_i`` the attribution booked during step i (USD(T))::

    equity_eth_i = E_i / P_i
    A_eth[source] = sum_i dA_i[source] / P_i,   plus on price_basis the share-class revaluation
    fx = sum_i E_{i-1} (1/P_i - 1/P_{i-1})      (E_{-1} = initial capital x P_0)

Telescoping, ``sum(A_eth) = E_N/P_N - capital - net deposits (ETH)`` exactly whenever the USD(T)
attribution sums to the USD(T) equity change, so the ETH book reconciles to the ETH equity change.
Each step's increment is converted at that step's price: an LST's rate change booked as
``q (u_i - u_{i-1}) P_i`` USD becomes exactly ``q (u_i - u_{i-1})`` ETH.
"""

from __future__ import annotations

import numpy as np


def to_eth_steps(equity_usd: np.ndarray, eth_usd: np.ndarray, attribution_steps: list[tuple] | np.ndarray,
                 sources: tuple[str, ...], capital_eth: float, price_source: str = "price_basis"
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Returns (equity in ETH per step, shape (n,); cumulative attribution in ETH after each step,
    shape (n, len(sources)), columns in ``sources`` order, the revaluation on ``price_source``).

    Raises:
        ValueError: a step without an ETH price (the run's data should have refused it earlier).
    """
    p = np.asarray(eth_usd, dtype=np.float64)
    if not np.isfinite(p).all() or (p <= 0).any():
        raise ValueError("ETH share class needs an ETH/USD price at every step")
    e = np.asarray(equity_usd, dtype=np.float64)
    a = np.asarray(attribution_steps, dtype=np.float64)
    d = np.diff(a, axis=0, prepend=np.zeros((1, a.shape[1])))
    booked = np.cumsum(d / p[:, None], axis=0)
    prev_e = np.concatenate(([capital_eth * p[0]], e[:-1]))
    prev_p = np.concatenate(([p[0]], p[:-1]))
    booked[:, sources.index(price_source)] += np.cumsum(prev_e * (1.0 / p - 1.0 / prev_p))
    return e / p, booked

