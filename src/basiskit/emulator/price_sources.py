"""Prices of a venue whose own recording the data set lacks, taken from another venue's recording.

The data (``shared/data/README.md``) has OKX funding settlements for BTC and ETH USDT swaps but no OKX
spot bars, no OKX BTC perp bars, and OKX ETH perp bars with a 30-day hole (2024-08-31 .. 09-30). So the
emulator prices OKX's instruments from **Bybit's recording of the same token and kind** (``spot.okx.BTCUSDT``
is read from ``spot.bybit.BTCUSDT``, ``perp.okx.ETHUSDT`` from ``perp.bybit.ETHUSDT``) -- every OKX price,
for one rule, even where an OKX series exists. The data stays the recording's: nothing is invented or
filled, the numbers are Bybit's, served under OKX's instrument names. OKX's funding is OKX's own
(``funding.okx.*``, the settled ``real_funding_rate``), settled against those marks.

``BorrowedPrices(source, layout, PRICE_SOURCES)`` is a ``data.market.FrameSource``: ``dataset_ids()`` and
``load(id)`` as ``source``'s, plus the borrowed ids (``spot.okx.BTCUSDT`` -> the Bybit frame).
"""

from __future__ import annotations

PRICE_SOURCES: dict[str, str] = {"okx": "bybit"}
"""venue -> the venue whose recorded bars price its instruments (module docstring)."""


class BorrowedPrices:
    """A frame source with borrowed price series (module docstring)."""

    def __init__(self, source, layout: dict, borrow: dict[str, str] | None = None) -> None:
        self.source = source
        borrow = PRICE_SOURCES if borrow is None else borrow
        self.aliases = {f"{kind}.{venue}.{tok}USDT": f"{kind}.{borrow[venue]}.{tok}USDT"
                        for venue, kinds in layout.items() if venue in borrow
                        for kind, toks in kinds.items() if kind in ("spot", "perp") for tok in toks}

    def dataset_ids(self) -> list[str]:
        ids = [d for d in self.source.dataset_ids() if d not in self.aliases]
        return ids + [a for a, target in self.aliases.items() if target in set(self.source.dataset_ids())]

    def load(self, dataset_id: str):
        return self.source.load(self.aliases.get(dataset_id, dataset_id))

    def __getattr__(self, name):  # source_dir, policy, ... of the wrapped source
        return getattr(self.source, name)
