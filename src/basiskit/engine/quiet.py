"""Quiet stretches: many clock steps in one vectorised pass, with exactly the results of stepping.

Most steps of a backtest are *quiet*: no reward payout, no deposit or withdrawal, no resting order,
no money in transit, no change of a stale flag, and the strategy holds -- the book only moves with
prices and funding settlements. On such a stretch the positions are constant, so each venue's
readings are plain functions of the price series (and of the funding it settles), and the kernel can
compute them for the whole stretch at once instead of step by step:

1. ``stretch_end``: the stretch is ``[i, j)``, ``j`` the first step that must be stepped (the feed's
   next payout or stale-flag change, the next flow, the end; at most the current window, which adapts
   between 64 and ``MAX_QUIET_STEPS``); cheap ``quiet_now`` checks of the strategy and every account
   come first (nothing in transit, no resting order, no withdrawal pending, ...);
2. the on-chain prices and each account ``project(lo, hi, feed, prices)``: per step its value
   (USD(T)), risk readings (perps: delta, margin ratio, notional, withdrawable; spot: exposure;
   on-chain: ETH exposure; AAVE: health factor, LTV), the bookings it would make by attribution
   source, the funding settlements it would report, and the first step it could not pass quietly (a
   liquidation check failing, another E-mode period) -- or None when it cannot project now;
3. equity, net delta and net ETH are summed per step in the kernel's and the monitor's order; the
   risk override's thresholds and the strategy's ``quiet_steps(ctx, view)`` say how many leading
   steps stay silent;
4. the quiet prefix ``[i, i + k)`` is committed: the recorder's rows (the ETH share class's per-step
   attribution rows too), the attribution (each source's bookings added in the stepping order, step by
   step and account by account: ``cumsum`` is a sequential sum), the account events (funding
   settlements, applied and published in step and account order like stepped ones), each account's
   state, the prices and the feed's market state -- in parts ending at the venue-snapshot steps, which
   read the accounts as they are at their step. The first step that is not quiet is then stepped.

Every figure is computed with the same floating-point operations in the same order as the scalar
path (numpy's element-wise arithmetic is IEEE like Python's), so the outputs are bit-identical:
``tests/acceptance/test_quiet_stretches.py`` runs every mode stepped and batched on the real data and
compares every recorded value, event and trade. An attempt that fails (the strategy acting at once,
step after step) backs off exponentially, since each one projects a whole stretch.

Only the backtest driver batches (a live run has no future prices), and only a strategy class that
declares ``quiet_now`` / ``quiet_steps`` / ``on_quiet`` with its own ``decide``; a run with a
cash-reserve watch (``reserve_ratio``) is stepped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from basiskit.venues.sim.projection import Projection

MIN_QUIET_STEPS = 16  # shorter stretches are stepped: numpy's per-call cost would eat the gain
MAX_QUIET_STEPS = 4096  # longer ones in parts: bounded memory, little work wasted when the strategy acts early
MAX_BACKOFF_STEPS = 64  # the longest wait between failed attempts (each one projects a whole stretch)


@dataclass
class QuietView:
    """What a strategy's ``quiet_steps`` reads for the stretch, per step (arrays of ``n``): the
    equity and net delta (USD(T)), per perp account its margin ratio (NaN without a position), per AAVE
    account its health factor and LTV, the on-chain prices (``PriceProjection``: ``usd(token)``,
    ``eth(token)``, ``eth_usd``; None without on-chain tokens) and every account's projection
    (``accounts[name]``: e.g. AAVE ``supplied`` / ``borrowed`` per token)."""

    n: int
    equity_usd: np.ndarray
    net_delta_usd: np.ndarray
    margin_ratios: dict[str, np.ndarray]
    net_eth: np.ndarray | None = None
    health_factors: dict[str, np.ndarray] = field(default_factory=dict)
    ltvs: dict[str, np.ndarray] = field(default_factory=dict)
    prices: object = None
    accounts: dict[str, Projection] = field(default_factory=dict)


def batchable(kernel) -> bool:
    """Whether the run's set-up allows quiet stretches at all: the strategy declares its quiet steps
    (with the ``decide`` they answer for), no cash-reserve watch is on, every account can project.
    Cached on the kernel."""
    ok = getattr(kernel, "_batchable", None)
    if ok is None:
        ok = (_declares_quiet(kernel.strategy) and not kernel.reserve_ratio
              and all(hasattr(v, "project") and hasattr(v, "quiet_now") for v in kernel.ctx._values))
        kernel._batchable = ok
    return ok


def _owner(cls: type, name: str) -> type | None:
    for c in cls.__mro__:
        if name in c.__dict__:
            return c
    return None


def _declares_quiet(strategy) -> bool:
    """Whether ``strategy``'s class declares ``quiet_steps`` together with the ``decide`` it answers
    for: a subclass that overrides ``decide`` (or a wrapper that delegates the rest) is stepped until
    it declares its own quiet steps."""
    cls = type(strategy)
    owner = _owner(cls, "quiet_steps")
    return owner is not None and _owner(cls, "decide") is owner and _owner(cls, "quiet_now") is owner


def stretch_end(kernel, i: int, n: int, window: int = MAX_QUIET_STEPS) -> int:
    """The first step at or after ``i`` that must be stepped (see the module), at most ``window``
    steps on."""
    j = min(n, i + window, kernel.feed.quiet_until(i, funding=True))
    fl = kernel.flows
    for steps in (fl.deposits, fl.withdrawals):
        for k in steps:
            if i <= k < j:
                j = k
    return j


def fast_forward(kernel, i: int, n: int, min_steps: int = MIN_QUIET_STEPS) -> int:
    """Pass the quiet steps from ``i`` on in one go (the module); returns the next step to run
    through ``Kernel.step`` (``i`` itself when nothing could be batched)."""
    if i < kernel._quiet_from or kernel.pending_withdrawal or kernel._step_decisions or not batchable(kernel):
        return i
    j = stretch_end(kernel, i, n, kernel._quiet_window)
    m = j - i
    if m < min_steps:
        kernel._quiet_from = j + 1  # step j must be stepped: no stretch to try before it has been
        return i
    ctx = kernel.ctx
    if not kernel.strategy.quiet_now(ctx) or not all(v.quiet_now() for v in ctx._values):
        return i  # something is under way (a transfer, resting orders, a re-target): step
    feed = kernel.feed
    prices = kernel.prices.project(i, j, feed) if kernel.prices is not None else None
    projections = []
    for v in ctx._values:  # every account, in the equity's order
        p = v.project(i, j, feed, prices)
        if p is None:
            return _missed(kernel, i, 0)
        projections.append((v, p))
    m = min(m, min(p.blocked for _, p in projections))  # a venue must step at i + m: the steps before it
    if kernel.recorder.records_attribution:  # per-step attribution rows: no account events inside
        for _, p in projections:
            first = p.events(0, m) if p.events else []
            if first:
                m = min(m, first[0][0])
    view = _view(kernel, projections, prices, m)
    bad = np.flatnonzero(np.isnan(view.equity_usd))  # a missing price of a holding: stepping names it
    if bad.size:
        m = min(m, int(bad[0]))
    m = min(m, _override_quiet(kernel, view))
    k = min(kernel.strategy.quiet_steps(ctx, view), m) if m >= min_steps else m
    # the next window: twice as long after a stretch quiet to its end, half as long after one cut short
    w = kernel._quiet_window
    kernel._quiet_window = min(2 * w, MAX_QUIET_STEPS) if k == j - i else max(4 * min_steps, w // 2)
    if k < min_steps:  # a venue, the override or the strategy acts at step i + k: try again after it
        return _missed(kernel, i, k)
    kernel._quiet_misses = 0
    _commit(kernel, projections, prices, i, k, view)
    return i + k


def _missed(kernel, i: int, k: int) -> int:
    """No stretch from step ``i`` (something acts at ``i + k``): the next attempt after that step, and
    later and later while attempts keep failing (e.g. a trigger firing step after step without
    orders), since each one projects a whole stretch. Returns ``i``."""
    kernel._quiet_misses += 1
    kernel._quiet_from = i + k + 1 + min(2 ** kernel._quiet_misses // 2, MAX_BACKOFF_STEPS)
    return i


def _of(projections, venue) -> Projection:
    for v, p in projections:
        if v is venue:
            return p
    raise KeyError(venue.name)


def _view(kernel, projections, prices, m: int) -> QuietView:
    """Equity (the kernel's sum, account by account) and the risk monitor's readings, per step."""
    equity = np.zeros(m)
    for _, p in projections:
        equity = equity + p.value_usd[:m]
    monitor = kernel.monitor
    delta = np.zeros(m)
    for v in monitor.spot_venues:
        delta = delta + _of(projections, v).delta_usd[:m]
    eth = np.zeros(m)
    ratios = {}
    for v in monitor.perps:
        p = _of(projections, v)
        delta = delta + p.delta_usd[:m]
        eth = eth + p.eth_units[:m]
        ratios[v.name] = p.margin_ratio[:m]
    if monitor.onchain:
        onchain = np.zeros(m)
        for v in monitor.onchain:
            onchain = onchain + _of(projections, v).eth_units[:m]
        delta = delta + onchain * prices.eth_usd[:m]
        eth = eth + onchain
    hfs = {v.name: _of(projections, v).health_factor[:m] for v in monitor.aave}
    ltvs = {v.name: _of(projections, v).ltv[:m] for v in monitor.aave}
    return QuietView(m, equity, delta, ratios, eth, hfs, ltvs, prices, {v.name: p for v, p in projections})


def _override_quiet(kernel, view: QuietView) -> int:
    """Steps before the risk override would act (``risk.override.RiskOverride.check`` in arrays)."""
    o = kernel.override
    if o is None or not o.cfg.override:
        return view.n
    c = o.cfg
    fire = np.zeros(view.n, dtype=bool)
    for r in view.margin_ratios.values():
        fire |= r < c.margin_ratio_override
    for hf in view.health_factors.values():
        fire |= (hf < c.health_factor_exit) | (hf < c.health_factor_override)
    hit = np.flatnonzero(fire)
    return int(hit[0]) if hit.size else view.n


def _commit(kernel, projections, prices, i: int, k: int, view: QuietView) -> None:
    """Book steps ``[i, i + k)`` as if they had been stepped. The running sums and the recorder's rows
    are computed for the whole stretch; the account events, the accounts' state and the feed move in
    parts that end at the venue-snapshot steps (a snapshot reads the accounts as they are at its step)."""
    attr = kernel.portfolio.attribution
    accruing = [_of(projections, v) for v in kernel._accruing]
    whole = slice(0, k)
    # each source's bookings in the stepping order within a step: account by account, booking by booking
    by_source: dict[str, list[np.ndarray]] = {}
    for p in accruing:
        for src, a in p.bookings:
            by_source.setdefault(src, []).append(a)
    running = {src: _running(attr.total[src], arrays, whole) for src, arrays in by_source.items()}
    buckets = []
    for p in accruing:
        mine: dict[str, list[np.ndarray]] = {}
        for src, a in p.bookings:
            mine.setdefault(src, []).append(a)
        buckets += [(p.bucket, src, _running(p.bucket[src], arrays, whole)) for src, arrays in mine.items()]
    events = sorted(((kk, vi, seq, ev) for vi, p in enumerate(accruing) if p.events
                     for seq, (kk, ev) in enumerate(p.events(0, k))), key=lambda e: e[:3])
    recorder, feed = kernel.recorder, kernel.feed
    rows = None
    if recorder.records_attribution:  # the totals after each step, as the recorder reads them
        rows = np.column_stack([running[src] if src in running else np.full(k, v) for src, v in attr.total.items()])
    aave = kernel.monitor.aave_names[0] if kernel.monitor.aave_names else None
    recorder.record_quiet(feed.grid[i:i + k], view.equity_usd[:k], kernel.net_deposits, view.net_delta_usd[:k],
                          {name: r[:k] for name, r in view.margin_ratios.items()},
                          {name: view.accounts[name].notional_usd[:k] for name in view.margin_ratios},
                          health_factor=view.health_factors[aave][:k] if aave else None,
                          ltv=view.ltvs[aave][:k] if aave else None,
                          net_eth=view.net_eth[:k] if view.net_eth is not None else None,
                          eth_usd=prices.eth_usd[:k] if prices is not None else None, attribution_rows=rows)
    snaps = [s - i for s in recorder.snapshot_steps(i, i + k)]
    e = 0
    for end in (*snaps, k - 1):
        for src, run in running.items():
            attr.total[src] = float(run[end])
        for bucket, src, run in buckets:
            bucket[src] = float(run[end])
        while e < len(events) and events[e][0] <= end:
            kernel.account_event(events[e][3])
            e += 1
        for _, p in projections:
            p.commit(end + 1)
        if prices is not None:
            prices.commit(end + 1)
        feed.jump(i + end)
        if snaps and end == snaps[0]:
            snaps.pop(0)
            recorder.snapshot_now(i + end)
    monitor = kernel.monitor
    last = k - 1
    monitor.net_delta_usd = float(view.net_delta_usd[last])
    monitor.net_eth = float(view.net_eth[last])
    for name, r in view.margin_ratios.items():
        x = float(r[last])
        monitor.margin_ratios[name] = None if x != x else x
        monitor.notionals[name] = float(view.accounts[name].notional_usd[last])
    for name in view.health_factors:
        monitor.health_factors[name] = float(view.health_factors[name][last])
        monitor.ltvs[name] = float(view.ltvs[name][last])
    kernel.strategy.on_quiet(i + last)
    kernel._failures_in_a_row = 0
    kernel.ctx._invalidate()
    kernel.steps_batched += k


def _running(start: float, arrays: list[np.ndarray], seg: slice) -> np.ndarray:
    """The running total after each step of ``seg``: ``start`` plus the arrays' entries, step by step
    and array by array, summed in that order (``np.cumsum`` is sequential, like the stepping adds)."""
    flat = np.column_stack([a[seg] for a in arrays]).ravel() if len(arrays) > 1 else arrays[0][seg]
    return np.concatenate(([start], flat)).cumsum()[len(arrays)::len(arrays)]
