"""Market-data helpers for strategies: small pure functions over a ``StrategyContext``.

Series keys follow the catalog (``perp.<venue>.<BASE>USDT``, ``spot.<venue>.<BASE>USDT``: bar opens,
quote units per base unit); an account name is ``<venue>.<kind>`` (``binance.perp``). Nothing here reads
a value after the context's current time (``ctx.history`` never does).
"""

from __future__ import annotations

import math

from basiskit.strategies.context import StrategyContext


def venue_of(account: str) -> str:
    """``binance.perp`` -> ``binance``."""
    return account.partition(".")[0]


def kind_of(account: str) -> str:
    """``binance.perp`` -> ``perp`` (``spot`` or ``perp``).

    Raises:
        ValueError: an account that is neither a CEX spot nor a perp account.
    """
    kind = account.partition(".")[2]
    if kind not in ("spot", "perp"):
        raise ValueError(f"account {account!r} is not a CEX spot or perp account (expected <venue>.spot or <venue>.perp)")
    return kind


def series_key(account: str, token: str, quote: str = "USDT") -> str:
    """The market series of ``token`` on ``account``: ``binance.perp`` + ``BTC`` -> ``perp.binance.BTCUSDT``."""
    return f"{kind_of(account)}.{venue_of(account)}.{token}{quote}"


def price(ctx: StrategyContext, account: str, token: str) -> float:
    """The current price of ``token`` on ``account`` (perp: mark; spot: last traded), quote per base."""
    return ctx.perp_mark(account, token) if kind_of(account) == "perp" else ctx.spot_price(account, token)


def recent(ctx: StrategyContext, account: str, token: str, n: int) -> list[float]:
    """The last ``n`` bar opens (fewer at the start of a run), oldest first, quote per base."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return ctx.history(series_key(account, token), n)


def sma(ctx: StrategyContext, account: str, token: str, n: int) -> float | None:
    """Simple moving average of the last ``n`` bar opens; None until ``n`` bars exist."""
    xs = recent(ctx, account, token, n)
    return sum(xs) / n if len(xs) == n else None


def realised_vol(ctx: StrategyContext, account: str, token: str, n: int) -> float | None:
    """Standard deviation of the last ``n`` log returns of bar opens (per step, not annualised; sample
    standard deviation, ddof = 1); None until ``n + 1`` bars exist."""
    xs = recent(ctx, account, token, n + 1)
    if len(xs) < n + 1 or n < 2:
        return None
    r = [math.log(b / a) for a, b in zip(xs, xs[1:])]
    m = sum(r) / n
    return math.sqrt(sum((x - m) ** 2 for x in r) / (n - 1))
