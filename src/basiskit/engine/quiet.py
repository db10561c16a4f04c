"""Quiet stretches: many clock steps in one vectorised pass, with exactly the results of stepping.

Most steps of a backtest are *quiet*: no discrete market event (funding settlement, reward payout),
no deposit or withdrawal, no resting order, no money in transit, no venue snapshot due, no change of a
stale flag -- the book only moves with prices and the strategy holds. On such a stretch the positions
and balances are constant, so each venue's readings are plain functions of the price series, and
the kernel can compute them for the whole stretch at once instead of step by step:

1. ``stretch_end``: the stretch is ``[i, j)``, ``j`` the first step that must be stepped (the feed's
   next discrete event or stale-flag change, the next flow, the recorder's next snapshot, the end);
2. each accruing venue ``project(lo, hi, feed)`` s: per step its value (USD(T)), its risk readings
   (perps: delta, margin ratio, notional; spot: exposure), the price revaluation it would book, and the
   first step it could not pass quietly (a liquidation: the intrabar or open check fails) -- or None
   when it cannot project now (then nothing is batched);
3. equity and net delta are summed per step in the kernel's and the monitor's order, and the
   strategy's ``quiet_steps(ctx, view)`` says how many leading steps its trigger stays silent on;
4. the quiet prefix ``[i, i + k)`` is committed: the recorder's rows, the attribution (the
   revaluation added in the stepping order, ``np.cumsum`` being a sequential sum), each venue's state
   (last marks) and the feed's market state at its last step; the first step that is not quiet is then
   stepped as usual.

Every figure is computed with the same floating-point operations in the same order as the scalar
path (numpy's element-wise arithmetic is IEEE like Python's), so the outputs are bit-identical: the
tests run each basis mode stepped and batched and compare every recorded value, event and trade.

Only the backtest driver batches (a live run has no future prices). Modes whose venues cannot
project (AAVE, staking, on-chain wallets) are stepped; their projection is the next step of this work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from basiskit.domain.portfolio import PRICE_BASIS
from basiskit.venues.sim.projection import Projection

MIN_QUIET_STEPS = 16  # shorter stretches are stepped: numpy's per-call cost would eat the gain


@dataclass
class QuietView:
    """What a strategy's ``quiet_steps`` reads for the stretch: per step (arrays of ``n``) the equity
    and net delta (USD(T)), and per perp account its margin ratio (NaN without a position)."""

    n: int
    equity_usd: np.ndarray
    net_delta_usd: np.ndarray
    margin_ratios: dict[str, np.ndarray]


def batchable(kernel) -> bool:
    """Whether the run's set-up allows quiet stretches at all: the strategy declares its quiet steps,
    no risk override or cash-reserve watch is on, the share class is USDT (no per-step attribution
    rows), nothing is valued on-chain. Cached on the kernel."""
    ok = getattr(kernel, "_batchable", None)
    if ok is None:
        m = kernel.monitor
        ok = (hasattr(kernel.strategy, "quiet_steps") and kernel.override is None and not kernel.reserve_ratio
              and kernel.prices is None and not m.onchain and not m.aave and not kernel.recorder.records_attribution
              and all(hasattr(v, "project") for v in kernel.ctx._values))
        kernel._batchable = ok
    return ok


def stretch_end(kernel, i: int, n: int) -> int:
    """The first step at or after ``i`` that must be stepped (see the module)."""
    j = min(n, kernel.feed.quiet_until(i))
    fl = kernel.flows
    for steps in (fl.deposits, fl.withdrawals):
        for k in steps:
            if i <= k < j:
                j = k
    snap = kernel.recorder.next_snapshot_step
    if 0 <= snap < j:
        j = max(snap, i)
    return j


def fast_forward(kernel, i: int, n: int, min_steps: int = MIN_QUIET_STEPS) -> int:
    """Pass the quiet steps from ``i`` on in one go (the module); returns the next step to run
    through ``Kernel.step`` (``i`` itself when nothing could be batched)."""
    if i < kernel._quiet_from or kernel.pending_withdrawal or kernel._step_decisions or not batchable(kernel):
        return i
    j = stretch_end(kernel, i, n)
    m = j - i
    if m < min_steps:
        kernel._quiet_from = j + 1  # step j must be stepped: no stretch to try before it has been
        return i
    feed = kernel.feed
    projections = []
    for v in kernel.ctx._values:  # every account, in the equity's order
        p = v.project(i, j, feed)
        if p is None:
            return i
        projections.append((v, p))
    blocked = min(p.blocked for _, p in projections)
    if blocked < min_steps:
        kernel._quiet_from = i + blocked + 1
        return i
    if blocked < m:  # a venue must step before the end: project only the quiet prefix
        m, j = blocked, i + blocked
    equity = np.zeros(m)
    for _, p in projections:
        equity = equity + p.value_usd[:m]
    monitor = kernel.monitor
    delta = np.zeros(m)
    for v in monitor.spot_venues:
        delta = delta + _of(projections, v).delta_usd[:m]
    ratios = {}
    notionals = {}
    for v in monitor.perps:
        p = _of(projections, v)
        delta = delta + p.delta_usd[:m]
        ratios[v.name] = p.margin_ratio[:m]
        notionals[v.name] = p.notional_usd[:m]
    view = QuietView(m, equity, delta, ratios)
    k = kernel.strategy.quiet_steps(kernel.ctx, view)
    if k < min_steps:
        kernel._quiet_from = i + k + 1  # the strategy acts at step i + k: try again after it
        return i
    k = min(k, m)
    _commit(kernel, projections, i, k, view, notionals)
    return i + k


def _of(projections, venue) -> Projection:
    for v, p in projections:
        if v is venue:
            return p
    raise KeyError(venue.name)


def _commit(kernel, projections, i: int, k: int, view: QuietView, notionals: dict[str, np.ndarray]) -> None:
    """Book steps ``[i, i + k)`` as if they had been stepped."""
    attr = kernel.portfolio.attribution
    # the revaluation, added to the total in the stepping order: step by step, venue by venue
    by_step = [p for v in kernel._accruing for p in _of(projections, v).pnl]
    if by_step:
        flat = np.column_stack([a[:k] for a in by_step]).ravel()
        attr.total[PRICE_BASIS] = float(np.cumsum(np.concatenate(([attr.total[PRICE_BASIS]], flat)))[-1])
    for v in kernel._accruing:
        p = _of(projections, v)
        if p.pnl:  # the account's own bucket, its bookings in the same order
            flat = np.column_stack([a[:k] for a in p.pnl]).ravel()
            p.bucket[PRICE_BASIS] = float(np.cumsum(np.concatenate(([p.bucket[PRICE_BASIS]], flat)))[-1])
    for _, p in projections:
        p.commit(k)
    ratios = {name: r[:k] for name, r in view.margin_ratios.items()}
    kernel.recorder.record_quiet(kernel.feed.grid[i:i + k], view.equity_usd[:k], kernel.net_deposits,
                                 view.net_delta_usd[:k], ratios, {name: a[:k] for name, a in notionals.items()})
    kernel.feed.jump(i + k - 1)
    monitor = kernel.monitor
    monitor.net_delta_usd = float(view.net_delta_usd[k - 1])
    for name, r in ratios.items():
        x = float(r[k - 1])
        monitor.margin_ratios[name] = None if x != x else x
        monitor.notionals[name] = float(notionals[name][k - 1])
    kernel.strategy.on_quiet(i + k - 1)
    kernel._failures_in_a_row = 0
    kernel.ctx._invalidate()
    kernel.steps_batched += k
