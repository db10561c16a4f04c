"""Incremental signal kernels: each indicator and each signal rule is written once, here, as a numba
``njit`` function of (parameters, state, event) that updates the state in place and writes its output.

The input of one step is one row of the aligned books (``data.book_frame``): ``t`` (seconds since the
epoch, float64), the latest valid spot bid / ask and perp bid / ask (quote units per base unit; NaN
before a leg has a book). The output is ``out[0:4]``: signal code (:data:`HOLD`, :data:`ENTER`,
:data:`EXIT`, :data:`ADJUST`), reason code, then the change of the spot and the perp position it asks
for (base units, signed: + buys). Both paths call the same compiled rule:

* incremental (backtest, paper, live): ``BaseSignalStrategy`` calls ``rule(p, s, t, sb, sa, pb, pa, out)``
  once per book-ticker event inside the engine;
* vectorised (research, sweeps): :func:`scan` loops over arrays *in compiled code* and calls the same
  ``rule`` per row (numba specialises ``scan`` for each rule it is given) -- not a second implementation.

State layout shared by every rule (float64 array, :data:`STATE_SIZE` slots; rules use slots from
:data:`FREE` on): 0 position open (0/1), 1 entry time (s), 2 entry spread (bps), 3 spot held (base
units), 4 perp held (base units, signed), 5-7 the spread's exponentially weighted mean, variance and
update count (:func:`ewm_update`).

Spreads (:func:`spreads`, bps of the spot price): ``mid`` = (perp mid - spot mid) / spot mid x 1e4;
``entry`` = (perp bid - spot ask) / spot ask x 1e4, what buying spot and selling the perp earns now;
``exit`` = (perp ask - spot bid) / spot bid x 1e4, what unwinding that costs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

HOLD, ENTER, EXIT, ADJUST = 0, 1, 2, 3
SIGNAL_NAMES = {HOLD: "hold", ENTER: "enter", EXIT: "exit", ADJUST: "adjust"}
REASONS = {0: "", 1: "spread_entry", 2: "spread_converged", 3: "max_holding_time", 4: "stop_loss", 5: "profit_target",
           6: "arb_buy_spot_sell_perp", 7: "arb_sell_spot_buy_perp", 8: "inventory_rebalance", 9: "tier_added",
           10: "tail_hedge_on", 11: "tail_hedge_off", 12: "inventory_bought"}
OUT_SIZE = 4
STATE_SIZE = 16
FREE = 8
POS, ENTRY_T, ENTRY_SPREAD, SPOT, PERP, MEAN, VAR, COUNT = range(8)


@njit(cache=True)
def ewm_update(s, i, x, alpha):
    """Exponentially weighted mean / variance of ``x`` in ``s[i]``, ``s[i+1]``, update count in ``s[i+2]``
    (West 1979's incremental form: var <- (1 - a)(var + a d^2), d = x - mean before the update)."""
    if s[i + 2] == 0.0:
        s[i] = x
        s[i + 1] = 0.0
    else:
        d = x - s[i]
        s[i] += alpha * d
        s[i + 1] = (1.0 - alpha) * (s[i + 1] + alpha * d * d)
    s[i + 2] += 1.0


@njit(cache=True)
def spreads(sb, sa, pb, pa):
    """(mid, entry, exit) spreads in bps (module docstring)."""
    sm = 0.5 * (sb + sa)
    return ((0.5 * (pb + pa) - sm) / sm * 1e4, (pb - sa) / sa * 1e4, (pa - sb) / sb * 1e4)


@njit(cache=True)
def books_ready(sb, sa, pb, pa):
    """Both legs have a book (no NaN)."""
    return not (math.isnan(sb) or math.isnan(sa) or math.isnan(pb) or math.isnan(pa))


@njit(cache=True)
def emit(out, code, reason, d_spot, d_perp):
    out[0] = code
    out[1] = reason
    out[2] = d_spot
    out[3] = d_perp


@njit(cache=True)
def close_all(s, out, reason):
    """EXIT: unwind both legs as the state holds them; the state is flat afterwards."""
    emit(out, EXIT, reason, -s[SPOT], -s[PERP])
    s[POS] = 0.0
    s[SPOT] = 0.0
    s[PERP] = 0.0


@njit(cache=True)
def open_pair(s, out, code, reason, t, entry, q):
    """ENTER / ADJUST: buy ``q`` spot, sell ``q`` perp (base units): delta neutral by construction."""
    emit(out, code, reason, q, -q)
    if s[POS] == 0.0:
        s[ENTRY_T] = t
        s[ENTRY_SPREAD] = entry
    s[POS] = 1.0
    s[SPOT] += q
    s[PERP] -= q


@njit(cache=True)
def scan(rule, p, s, t, sb, sa, pb, pa):
    """The vectorised path: ``rule`` applied to every row in order (same compiled rule, same state
    array, updated in place); returns the outputs, shape (rows, OUT_SIZE)."""
    n = t.shape[0]
    out = np.zeros((n, OUT_SIZE))
    row = np.zeros(OUT_SIZE)
    for i in range(n):
        row[:] = 0.0
        rule(p, s, t[i], sb[i], sa[i], pb[i], pa[i], row)
        out[i, :] = row
    return out
