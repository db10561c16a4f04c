"""Reverse delta neutral: trade the spot-perp spread's reversion, delta neutral (long spot, short perp).

Enter (buy ``notional_usd`` of spot at the ask, sell as much perp at the bid) when the executable entry
spread (perp bid over spot ask, bps) is at least ``entry_bps`` and the mid spread is ``entry_z``
standard deviations above its EW mean: the perp is rich against spot. Exit (unwind both legs) on the
first of: the exit spread (perp ask over spot bid) down to ``exit_bps`` (converged); held
``max_holding_s``; the exit spread ``stop_loss_bps`` above the entry spread (stop-loss); the exit
spread ``profit_target_bps`` below it (profit target). Both legs trade the same base quantity: delta
neutral by construction. "Reverse": it earns the spread's reversion, not funding (the tick files have
no funding).
"""

from __future__ import annotations

import math

from numba import njit
from pydantic import Field

from basiskit.strategies.signals import kernels as K
from basiskit.strategies.signals.base import BaseSignalStrategy, SignalConfig


class ReverseDeltaNeutralConfig(SignalConfig):
    entry_bps: float = Field(description="minimum executable entry spread, bps")
    entry_z: float = Field(ge=0, description="minimum z-score of the mid spread against its EW mean")
    exit_bps: float = Field(description="exit when the exit spread is at or below this, bps")
    max_holding_s: float = Field(gt=0, description="maximum holding time, seconds")
    stop_loss_bps: float = Field(gt=0, description="exit when the exit spread is this far above the entry spread")
    profit_target_bps: float = Field(gt=0, description="exit when the exit spread is this far below the entry spread")
    notional_usd: float = Field(gt=0, description="spot notional bought per entry, USDT")


@njit(cache=True)
def rule(p, s, t, sb, sa, pb, pa, out):
    """p: entry_bps, entry_z, exit_bps, max_holding_s, stop_loss_bps, profit_target_bps, notional_usd,
    ewm_alpha, warmup_events."""
    if not K.books_ready(sb, sa, pb, pa):
        return
    mid, entry, ext = K.spreads(sb, sa, pb, pa)
    K.ewm_update(s, K.MEAN, mid, p[7])
    if s[K.POS] == 0.0:
        sd = math.sqrt(s[K.VAR])
        z = (mid - s[K.MEAN]) / sd if sd > 0.0 else 0.0
        if s[K.COUNT] >= p[8] and entry >= p[0] and z >= p[1]:
            K.open_pair(s, out, K.ENTER, 1, t, entry, p[6] / sa)
        return
    reason = 0
    if ext <= p[2]:
        reason = 2
    elif t - s[K.ENTRY_T] >= p[3]:
        reason = 3
    elif ext - s[K.ENTRY_SPREAD] >= p[4]:
        reason = 4
    elif s[K.ENTRY_SPREAD] - ext >= p[5]:
        reason = 5
    if reason:
        K.close_all(s, out, reason)


class ReverseDeltaNeutral(BaseSignalStrategy):
    RULE = rule

    def params(self) -> list[float]:
        c = self.config
        return [c.entry_bps, c.entry_z, c.exit_bps, c.max_holding_s, c.stop_loss_bps, c.profit_target_bps,
                c.notional_usd, c.ewm_alpha, c.warmup_events]
