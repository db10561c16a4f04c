"""Volatility harvesting: tiers of spread positions sized by the spread's volatility regime, with a tail hedge.

The mid spread's EW mean and standard deviation sd (bps) give its z-score and regime: calm (sd <
``vol_low_bps``), normal, wild (sd > ``vol_high_bps``). Tier k (1..``max_tiers``) is added when z >=
k x ``tier_step_z``: buy spot / sell perp (delta neutral) for ``tier_notional_usd`` x the regime's
multiplier (``regime_multipliers``: calm, normal, wild). All tiers exit when z falls to ``exit_z``.
Tail hedge: while tiers are open and the regime is wild, a long perp of ``tail_hedge_ratio`` x the
spot held guards the short perp leg against a squeeze (the net delta goes that much long); it is taken
off when the regime calms. One action per event: exit first, then a tier, then the hedge.
"""

from __future__ import annotations

import math

from numba import njit
from pydantic import Field

from basiskit.strategies.signals import kernels as K
from basiskit.strategies.signals.base import BaseSignalStrategy, SignalConfig

TIERS, HEDGE = K.FREE, K.FREE + 1


class VolatilityHarvestingConfig(SignalConfig):
    vol_low_bps: float = Field(gt=0, description="sd of the mid spread below which the regime is calm, bps")
    vol_high_bps: float = Field(gt=0, description="sd above which the regime is wild, bps")
    tier_step_z: float = Field(gt=0, description="tier k opens at z >= k x this")
    max_tiers: int = Field(ge=1, le=8)
    tier_notional_usd: float = Field(gt=0, description="spot notional of one tier in the normal regime, USDT")
    regime_multipliers: tuple[float, float, float] = Field(description="tier size multipliers: calm, normal, wild")
    exit_z: float = Field(description="all tiers exit at z <= this")
    tail_hedge_ratio: float = Field(ge=0, le=1, description="long perp hedge / spot held, in the wild regime")


@njit(cache=True)
def rule(p, s, t, sb, sa, pb, pa, out):
    """p: vol_low_bps, vol_high_bps, tier_step_z, max_tiers, tier_notional_usd, mult calm, normal, wild,
    exit_z, tail_hedge_ratio, ewm_alpha, warmup_events."""
    if not K.books_ready(sb, sa, pb, pa):
        return
    mid, entry, ext = K.spreads(sb, sa, pb, pa)
    K.ewm_update(s, K.MEAN, mid, p[10])
    sd = math.sqrt(s[K.VAR])
    if s[K.COUNT] < p[11] or sd <= 0.0:
        return
    z = (mid - s[K.MEAN]) / sd
    regime = 0 if sd < p[0] else (2 if sd > p[1] else 1)
    k = s[TIERS]
    if k > 0.0 and z <= p[8]:
        K.close_all(s, out, 2)
        s[TIERS], s[HEDGE] = 0.0, 0.0
    elif k < p[3] and z >= (k + 1.0) * p[2]:
        K.open_pair(s, out, K.ENTER if k == 0.0 else K.ADJUST, 1 if k == 0.0 else 9, t, entry,
                    p[4] * p[5 + regime] / sa)
        s[TIERS] = k + 1.0
    elif k > 0.0 and regime == 2 and s[HEDGE] == 0.0 and p[9] > 0.0:
        h = p[9] * s[K.SPOT]
        K.emit(out, K.ADJUST, 10, 0.0, h)
        s[HEDGE] = h
        s[K.PERP] += h
    elif s[HEDGE] > 0.0 and regime < 2:
        K.emit(out, K.ADJUST, 11, 0.0, -s[HEDGE])
        s[K.PERP] -= s[HEDGE]
        s[HEDGE] = 0.0


class VolatilityHarvesting(BaseSignalStrategy):
    RULE = rule

    def params(self) -> list[float]:
        c = self.config
        return [c.vol_low_bps, c.vol_high_bps, c.tier_step_z, c.max_tiers, c.tier_notional_usd,
                *c.regime_multipliers, c.exit_z, c.tail_hedge_ratio, c.ewm_alpha, c.warmup_events]
