"""The vectorised path of the signal engine: research and sweeps over whole arrays.

:func:`run_vectorised` applies a signal mode's compiled rule (the very function the engine path calls
per event, ``strategies.signals.kernels.scan``) to the aligned books of a period at once, and turns
its non-HOLD outputs into the trades the engine path would make: per signal the spot leg, then the
perp leg, each filled by the venues' own rule (``venues.sim.book_fill.BookFill.at_many``: the opposite
side of the book ``latency_ms`` later) with the venue config's taker fee. No accounts, no balances: the
two paths agree as long as the engine path neither refused a signal nor capped a size (its summary's
``signals.refused`` / ``signals.sizing_capped``), which the equivalence tests check.

Result rows (:class:`VectorResult`): ``signals`` (step, code, reason, d_spot, d_perp) and ``trades``
(fill time ns, account, side ``buy``/``sell``, base units, price quote/base, fee USDT) -- the same
tuples :func:`signals_of` and :func:`trades_of` read from an engine run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from basiskit.data.book_frame import BookFrame
from basiskit.engine.assembly import load_venue_config
from basiskit.strategies.signals.kernels import HOLD, STATE_SIZE, scan
from basiskit.venues.sim.book_fill import BookFill


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
    end = int(frame.ts[-1])
    due = frame.ts[steps] + int(round(c.latency_ms * 1e6))
    legs = []
    for col, venue, market, ds in ((2, c.spot_venue, "spot", c.spot_dataset), (3, c.perp_venue, "perp", c.perp_dataset)):
        cfg = load_venue_config(venue, c.venues.get(venue))
        rate = getattr(cfg, market).taker_fee_bps * 1e-4
        d = sig[:, col]
        price, _ = BookFill(frame.series[ds], end).at_many(due, d > 0)
        legs.append((d, price, rate, f"{venue}.{market}"))
    # per signal the spot leg, then the perp leg (the engine's order); a leg with no quantity or no fill is no trade
    n = steps.size
    cols = []
    for d, price, rate, account in legs:
        q = np.abs(d)
        cols.append((q, price, q * price * rate, np.where(d > 0, "buy", "sell"), account, (q != 0) & (price == price)))
    trades = []
    for k, (q, price, fee, side, account, keep) in enumerate(cols):
        idx = np.flatnonzero(keep)
        trades.extend(zip((2 * idx + k).tolist(), due[idx].tolist(), [account] * idx.size, side[idx].tolist(),
                          q[idx].tolist(), price[idx].tolist(), fee[idx].tolist()))
    trades.sort(key=lambda r: r[0])
    trades = [r[1:] for r in trades] if n else []
    return VectorResult(signals, trades, out)


def signals_of(strategy) -> list[tuple[int, int, int, float, float]]:
    """The signals an engine run's strategy emitted (same tuples as ``VectorResult.signals``)."""
    return list(strategy.signals)


def trades_of(trades) -> list[tuple[int, str, str, float, float, float]]:
    """The filled trades of an engine run (``LoopResult.trades``) as ``VectorResult.trades`` tuples."""
    return [(t.timestamp, t.order.venue, t.order.side.value, t.executed_amount, t.price, t.fee) for t in trades if t.ok]


def mismatches(a: list, b: list) -> int:
    """Rows that differ between two lists of tuples (compared exactly, position by position), plus
    the difference in length."""
    return sum(1 for x, y in zip(a, b) if x != y) + abs(len(a) - len(b))
