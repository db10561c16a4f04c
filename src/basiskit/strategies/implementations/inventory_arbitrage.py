"""Inventory spot arbitrage: buy on one venue and sell on the other from inventory held on both.

ENTER once both books exist: buy ``inventory_usd`` of the base token on each venue (spot balance on the
spot venue, a long perp position on the perp venue: the perp venue's inventory). Then, per event
(ADJUST), at most one clip of ``clip_usd`` (base units fixed at entry):

* perp bid above spot ask by ``min_edge_bps`` and the perp inventory holds a clip: buy a clip of spot,
  sell a clip of perp;
* spot bid above perp ask by ``min_edge_bps`` and the spot inventory holds a clip: sell spot, buy perp;
* otherwise, when one venue's inventory is below ``rebalance_floor`` x its target and the mid spread is
  within ``rebalance_band_bps``: move one clip back towards the target (inventory rebalancing).

Balances are tracked in the rule's state (spot held, perp held) and checked against the accounts by the
reconciliation of every run. The total inventory (spot + perp) stays 2 x target: long the base token.
"""

from __future__ import annotations

from numba import njit
from pydantic import Field

from basiskit.strategies.signals import kernels as K
from basiskit.strategies.signals.base import BaseSignalStrategy, SignalConfig

TARGET, CLIP = K.FREE, K.FREE + 1


class InventoryArbitrageConfig(SignalConfig):
    inventory_usd: float = Field(gt=0, description="inventory bought on each venue at entry, USDT")
    clip_usd: float = Field(gt=0, description="size of one arbitrage trade, USDT at entry")
    min_edge_bps: float = Field(description="minimum executable cross-venue edge, bps")
    rebalance_floor: float = Field(gt=0, lt=1, description="rebalance when a venue holds less than this x target")
    rebalance_band_bps: float = Field(ge=0, description="rebalance only while |mid spread| is within this, bps")


@njit(cache=True)
def rule(p, s, t, sb, sa, pb, pa, out):
    """p: inventory_usd, clip_usd, min_edge_bps, rebalance_floor, rebalance_band_bps, ewm_alpha, warmup_events."""
    if not K.books_ready(sb, sa, pb, pa):
        return
    mid, entry, ext = K.spreads(sb, sa, pb, pa)
    K.ewm_update(s, K.MEAN, mid, p[5])
    if s[K.POS] == 0.0:
        if s[K.COUNT] >= p[6]:
            q = p[0] / sa
            K.emit(out, K.ENTER, 12, q, q)
            s[K.POS], s[K.ENTRY_T], s[K.ENTRY_SPREAD] = 1.0, t, entry
            s[K.SPOT], s[K.PERP], s[TARGET], s[CLIP] = q, q, q, p[1] / sa
        return
    clip = s[CLIP]
    spot_over = (sb - pa) / pa * 1e4
    if entry >= p[2] and s[K.PERP] >= clip:
        d, reason = clip, 6
    elif spot_over >= p[2] and s[K.SPOT] >= clip:
        d, reason = -clip, 7
    elif min(s[K.SPOT], s[K.PERP]) < p[3] * s[TARGET] and abs(mid) <= p[4]:
        d, reason = (clip if s[K.SPOT] < s[K.PERP] else -clip), 8
    else:
        return
    K.emit(out, K.ADJUST, reason, d, -d)
    s[K.SPOT] += d
    s[K.PERP] -= d


class InventoryArbitrage(BaseSignalStrategy):
    RULE = rule

    def params(self) -> list[float]:
        c = self.config
        return [c.inventory_usd, c.clip_usd, c.min_edge_bps, c.rebalance_floor, c.rebalance_band_bps, c.ewm_alpha,
                c.warmup_events]
