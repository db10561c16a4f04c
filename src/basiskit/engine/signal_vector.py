"""The vectorised path of the signal engine: research and sweeps over whole arrays.

:func:`run_vectorised` applies a signal mode's compiled rule (the very function the engine path calls
per event, ``strategies.signals.kernels.scan``) to the aligned books of a period at once, and turns
its non-HOLD outputs into the trades the engine path would make: per signal the spot leg and the perp
leg, each an IOC order with the strategy's limit (``signals.base.limit_price``) executed by the venues'
latency rule (``venues.sim.book_fill.latency_fills``: the opposite side of the book at the first step
``latency_ms`` after the decision, within the limit) with the venue config's taker fee and slippage (0 on mexc and gateio). Trades are
listed per execution step and account, in decision order (the engine executes a step's due orders
account by account: ``trades_of`` lists its trades the same way). No accounts, no balances: the
two paths agree as long as the engine path neither refused a signal nor capped a size (its summary's
``signals.refused`` / ``signals.sizing_capped``), which the equivalence tests check.

Result rows (:class:`VectorResult`): ``signals`` (step, code, reason, d_spot, d_perp) and ``trades``
(fill time ns, account, side ``buy``/``sell``, base units, price quote/base, fee USDT) -- the same
tuples :func:`signals_of` and :func:`trades_of` read from an engine run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from basiskit.data.book_frame import BookFrame
from basiskit.engine.assembly import load_venue_config
from basiskit.strategies.signals.base import limit_price
from basiskit.strategies.signals.kernels import HOLD, STATE_SIZE, scan
from basiskit.venues.sim.book_fill import latency_fills


@dataclass
class VectorResult:
    signals: list[tuple[int, int, int, float, float]]
    trades: list[tuple[int, str, str, float, float, float]]
    outputs: np.ndarray  # every row's output, shape (events, 4)


def rule_outputs(strategy, frame: BookFrame) -> np.ndarray:
    """The rule of ``strategy`` (a ``BaseSignalStrategy``; its parameters, a fresh state) over every
    row of ``frame``: shape (events, 4)."""
    c = strategy.config
    s = np.zeros(STATE_SIZE)
    return scan(type(strategy).RULE, strategy.p, s, frame.seconds(), frame.bid[c.spot_dataset], frame.ask[c.spot_dataset],
                frame.bid[c.perp_dataset], frame.ask[c.perp_dataset])


def run_vectorised(strategy, frame: BookFrame) -> VectorResult:
    """Signals and trades of ``strategy`` over ``frame`` (module docstring)."""
    c = strategy.config
    out = rule_outputs(strategy, frame)
    steps = np.flatnonzero(out[:, 0] != HOLD)
    sig = out[steps]
    signals = [(int(i), int(r[0]), int(r[1]), float(r[2]), float(r[3])) for i, r in zip(steps.tolist(), sig)]
    lat = int(round(c.latency_ms * 1e6))
    rows = []
    for col, venue, market, ds in ((2, c.spot_venue, "spot", c.spot_dataset), (3, c.perp_venue, "perp", c.perp_dataset)):
        params = getattr(load_venue_config(venue, c.venues.get(venue)), market)
        rate, slip = params.taker_fee_bps * 1e-4, params.slippage_bps * 1e-4
        d = sig[:, col]
        buy = d > 0
        bid, ask = frame.bid[ds], frame.ask[ds]
        limit = limit_price(buy, bid[steps], ask[steps], c.max_slippage_bps)
        j, price, ok = latency_fills(frame.ts, steps, lat, bid, ask, buy, limit)
        keep = np.flatnonzero(ok & (d != 0))
        q = np.abs(d[keep])
        # the venues' taker fill (resting.fill_terms): the book moved by slippage_bps, never beyond the limit
        b, ref, lim = buy[keep], price[keep], limit[keep]
        p = np.where(b, np.minimum(ref * (1 + slip), lim), np.maximum(ref * (1 - slip), lim))
        rows.extend(zip(frame.ts[j[keep]].tolist(), [f"{venue}.{market}"] * keep.size,
                        np.where(buy[keep], "buy", "sell").tolist(), q.tolist(), p.tolist(), (q * p * rate).tolist(),
                        (2 * keep + col - 2).tolist()))
    rows.sort(key=lambda r: (r[0], r[1], r[6]))  # per step and account, in decision order (module docstring)
    return VectorResult(signals, [r[:6] for r in rows], out)


def signals_of(strategy) -> list[tuple[int, int, int, float, float]]:
    """The signals an engine run's strategy emitted (same tuples as ``VectorResult.signals``)."""
    return list(strategy.signals)


def trades_of(trades) -> list[tuple[int, str, str, float, float, float]]:
    """The filled trades of an engine run (``LoopResult.trades``) as ``VectorResult.trades`` tuples, per
    execution step and account in the order they happened (module docstring)."""
    rows = [(t.timestamp, t.order.venue, t.order.side.value, t.executed_amount, t.price, t.fee) for t in trades if t.ok]
    return sorted(rows, key=lambda r: (r[0], r[1]))  # stable: within a step and account, as they happened


TRADE_RTOL = 1e-12
"""Relative tolerance on a trade's quantity, price and fee: the engine's spot account sells what the
ledger holds when an order asks for at most 1 ppm more (``domain.money``), and a ledger balance built by
several fills can be 1 ulp below the rule's own sum."""


def _same(x: tuple, y: tuple, rtol: float) -> bool:
    if len(x) != len(y):
        return False
    for a, b in zip(x, y):
        if isinstance(a, float) and isinstance(b, float):
            if not math.isclose(a, b, rel_tol=rtol, abs_tol=0.0):
                return False
        elif a != b:
            return False
    return True


def mismatches(a: list, b: list, rtol: float = 0.0) -> int:
    """Rows that differ between two lists of tuples, position by position (ints and strings exactly,
    floats within ``rtol``; 0: exactly), plus the difference in length."""
    return sum(1 for x, y in zip(a, b) if not _same(x, y, rtol)) + abs(len(a) - len(b))
