"""Ladder arithmetic of the grid: pure functions, no context.

Levels are integers k in [-L, L] (L = ``levels``); level k's price is ``ref x (1 + s)^k`` (quote per
base). The ladder at *centre* c holds a buy at every level k < c and a sell at every level k > c, and
nothing at c (the level the price was last filled at, or is nearest to).

The centre is read from the working orders, so a restarted grid needs nothing stored:

* lo = (highest working buy level) + 1, or -L without buys; hi = (lowest working sell level) - 1, or
  L without sells (the levels between the two sides, where fills have emptied the ladder);
* c = the level nearest the current price, clamped to [lo, hi] (and to [-L, L]).

After a buy at k fills, the highest buy is k - 1, so c >= k and a sell at k + 1 is wanted: the
re-arm. Several levels filled within one bar leave a wider gap; the clamp puts c at the price. The
reference is read back from any working order: ``price / (1 + s)^k``, rounded to ``REF_DIGITS``
significant digits (the reference is chosen at that precision too, so it reads back exactly).

Client order ids: ``<name>-<k><b|s>-<unix seconds>[suffix]`` (e.g. ``grid-+2s-1714521600``; a
letter suffix when that id was already used in the same second). They make the ladder readable from
any venue's open-order list.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

REF_DIGITS = 10  # significant digits of the reference price


def snap(ref: float) -> float:
    """``ref`` rounded to ``REF_DIGITS`` significant digits."""
    return float(f"{ref:.{REF_DIGITS}g}")


def level_price(ref: float, spacing: float, k: int) -> float:
    """Price of level ``k``: ``ref x (1 + spacing)^k``, quote per base."""
    return ref * (1.0 + spacing) ** k


def nearest_level(ref: float, spacing: float, price: float) -> int:
    """The level whose price is nearest ``price`` in log terms: round(log(price / ref) / log(1 + s))."""
    return int(round(math.log(price / ref) / math.log1p(spacing)))


def reference_from(price: float, spacing: float, k: int) -> float:
    """The reference a level-``k`` order at ``price`` belongs to (snapped)."""
    return snap(price / (1.0 + spacing) ** k)


@dataclass(frozen=True)
class Rung:
    """A working order of the ladder: its level, side (``"b"`` / ``"s"``), client order id and limit price."""

    level: int
    side: str
    cid: str
    price: float


@lru_cache(maxsize=64)
def pattern(name: str) -> re.Pattern:
    return re.compile(rf"^{re.escape(name)}-([+-]\d+)([bs])-\d+[a-z]*$")


def order_id(name: str, k: int, side: str, t_s: int, suffix: str = "") -> str:
    return f"{name}-{k:+d}{side}-{t_s}{suffix}"


def parse(name: str, cid: str) -> tuple[int, str] | None:
    """(level, side) of a ladder client order id, None for any other id."""
    m = pattern(name).match(cid)
    return (int(m.group(1)), m.group(2)) if m else None


def centre(rungs: list[Rung], levels: int, spacing: float, ref: float, price: float) -> int:
    """The ladder's centre level (see the module docstring)."""
    buys = [r.level for r in rungs if r.side == "b"]
    sells = [r.level for r in rungs if r.side == "s"]
    lo = max(buys) + 1 if buys else -levels
    hi = min(sells) - 1 if sells else levels
    lo, hi = max(lo, -levels), min(hi, levels)
    x = nearest_level(ref, spacing, price)
    if lo > hi:  # crossed orders (a buy above a sell): the price decides, the crossed ones are cancelled
        return max(-levels, min(levels, x))
    return max(lo, min(hi, x))


def wanted(c: int, levels: int) -> set[tuple[int, str]]:
    """The (level, side) pairs of the ladder at centre ``c``."""
    return {(k, "b") for k in range(-levels, c)} | {(k, "s") for k in range(c + 1, levels + 1)}


def plan(rungs: list[Rung], want: set[tuple[int, str]]) -> tuple[list[str], list[tuple[int, str]]]:
    """(client ids to cancel, (level, side) pairs to place): cancels every working order that is not
    wanted and every duplicate of a wanted one (the first in ``rungs`` is kept); places every wanted
    pair that has no working order. Sorted: cancels in ``rungs`` order, places by level."""
    seen: set[tuple[int, str]] = set()
    cancel = []
    for r in rungs:
        key = (r.level, r.side)
        if key not in want or key in seen:
            cancel.append(r.cid)
        else:
            seen.add(key)
    return cancel, sorted(want - seen)
