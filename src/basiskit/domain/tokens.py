"""Tokens, share classes and instruments.

A token is identified by its symbol (``"USDT"``, ``"BTC"``, ``"ETH"``, ``"aUSDT"`` ...). Amounts are
always in token units (not wei, not satoshi) as Python floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ShareClass(str, Enum):
    """Currency in which a strategy reports equity, returns and attribution."""

    USDT = "USDT"
    ETH = "ETH"


class InstrumentKind(str, Enum):
    SPOT = "spot"
    PERP = "perp"
    LENDING = "lending"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable or holdable instrument on one venue.

    ``symbol`` is the venue-neutral pair name, e.g. ``"BTCUSDT"``; ``base``/``quote`` are token symbols.
    A USDT-margined linear perpetual has ``kind=PERP``, ``base="BTC"``, ``quote="USDT"``; its size is in
    base units and its PnL in quote units.
    """

    venue: str
    kind: InstrumentKind
    base: str
    quote: str

    @property
    def symbol(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def key(self) -> str:
        """Stable string id, e.g. ``"perp.binance.BTCUSDT"`` (matches catalog dataset ids)."""
        return f"{self.kind.value}.{self.venue}.{self.symbol}"
