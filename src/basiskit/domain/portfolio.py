"""The portfolio of a run: balances, positions and PnL attribution, as a fold of account events.

* ``Ledger``: token balances per ``(account, token)`` (token units); accounts are venue accounts such
  as ``wallet`` (on-chain), ``binance.perp`` (USDT collateral) or ``bybit.spot``.
* ``Position``: a linear position's signed size (base units, short < 0) and average entry price
  (quote units), changed only by fills (``apply_fill``, the one rule for every venue and the
  portfolio).
* ``Attribution``: every change in equity by source and by venue, USD(T), as it happens: cash flows
  (funding, fees, gas, interest) when they occur and revaluations (price/basis, lending interest
  through the liquidity index) when a venue marks its own positions to the market state. It is an
  independent book: the run checks at its end that it sums to the change in equity computed from
  balances and positions.
* ``Portfolio.apply(event)``: applies an account event's ``deltas`` to the ledger, books its ``pnl``
  and, for a filled spot or perp trade, moves the position. Venues never write a balance; they report
  events and the portfolio applies them (revaluation of a venue's own positions is the exception: a
  mark, not a flow, written by the venue into its own attribution bucket every step).
"""

from __future__ import annotations

from collections import defaultdict

# Attribution sources (keys of summary.json "attribution").
FUNDING = "funding"
LENDING_INTEREST = "lending_interest"
PRICE_BASIS = "price_basis"
SLIPPAGE = "slippage"
FEES = "fees"
GAS = "gas"
LIQUIDATION = "liquidation"
STAKING = "staking"                      # LST exchange-rate growth (the only way staking yield shows up)
RESTAKING_REWARDS = "restaking_rewards"  # EIGEN/ETHFI credited, valued at their Uniswap price at credit
BORROW_COST = "borrow_cost"              # variable-debt growth through the variable borrow index
FLASH_FEES = "flash_fees"                # flash-loan premiums
SOURCES = (FUNDING, LENDING_INTEREST, STAKING, RESTAKING_REWARDS, BORROW_COST, PRICE_BASIS, SLIPPAGE, FEES,
           FLASH_FEES, GAS, LIQUIDATION)


class Ledger:
    """Token balances by ``(account, token)`` (token units). ``version`` counts the changes, so a
    reader can cache what it derives from the balances until they change."""

    __slots__ = ("balances", "version")

    def __init__(self) -> None:
        self.balances: dict[tuple[str, str], float] = defaultdict(float)
        self.version = 0

    def get(self, account: str, token: str) -> float:
        return self.balances.get((account, token), 0.0)

    def add(self, account: str, token: str, amount: float) -> None:
        self.balances[(account, token)] += amount
        self.version += 1

    def snapshot(self) -> dict[tuple[str, str], float]:
        return dict(self.balances)

    def restore(self, snap: dict[tuple[str, str], float]) -> None:
        """Back to a :meth:`snapshot`, in place (readers may hold ``balances``)."""
        self.balances.clear()
        self.balances.update(snap)
        self.version += 1


class Attribution:
    """PnL by source and by venue, USD(T). ``bucket(venue)`` is the per-venue dict a venue writes its
    own revaluation into (it also adds to ``total``)."""

    __slots__ = ("total", "by_venue")

    def __init__(self) -> None:
        self.total: dict[str, float] = {s: 0.0 for s in SOURCES}
        self.by_venue: dict[str, dict[str, float]] = {}

    def add(self, source: str, venue: str, amount: float) -> None:
        self.total[source] += amount
        bv = self.by_venue.get(venue)
        if bv is None:
            bv = self.by_venue[venue] = {}
        bv[source] = bv.get(source, 0.0) + amount

    def bucket(self, venue: str) -> dict[str, float]:
        """The per-venue dict (created with every source at 0), for hot paths that add in place."""
        bv = self.by_venue.get(venue)
        if bv is None:
            bv = self.by_venue[venue] = {}
        for s in SOURCES:
            bv.setdefault(s, 0.0)
        return bv

    def sum(self) -> float:
        return sum(self.total.values())


class Position:
    """Signed size (base units, short < 0) and average entry price (quote units) of a linear
    position."""

    __slots__ = ("size", "entry")

    def __init__(self, size: float = 0.0, entry: float = 0.0) -> None:
        self.size = size
        self.entry = entry

    def apply_fill(self, delta: float, fill: float) -> float:
        """Add ``delta`` base units filled at ``fill``; returns the realised PnL (quote units) of the
        part that closed. Increasing: the entry is the size-weighted average; reducing: the entry stays;
        through zero: the rest opens at ``fill``."""
        size = self.size
        if size == 0.0 or (size > 0) == (delta > 0):
            new = size + delta
            self.entry = (size * self.entry + delta * fill) / new
            self.size = new
            return 0.0
        closing = -delta if abs(delta) <= abs(size) else size  # part of the position closed (sign of size)
        realised = closing * (fill - self.entry)
        rest = delta + closing
        self.size = size - closing
        if abs(self.size) < 1e-12:
            self.size = 0.0
            self.entry = 0.0
        if rest and self.size == 0.0:
            self.size, self.entry = rest, fill
        return realised


class Portfolio:
    """Balances, positions (by ``(account, token)``) and attribution of a run, changed only by
    :meth:`apply` (and, for revaluation, by venues writing their own attribution bucket)."""

    __slots__ = ("ledger", "attribution", "positions")

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.attribution = Attribution()
        self.positions: dict[tuple[str, str], Position] = {}

    def apply(self, ev) -> None:
        """Apply an account event (anything with ``deltas``, ``pnl`` and ``kind``); a filled perp trade
        moves its position (``Trade.executed_amount`` at ``Trade.price``), a perp ``liquidation`` closes
        the positions it names."""
        add = self.ledger.add
        for account, token, amount in ev.deltas:
            add(account, token, amount)
        attribute = self.attribution.add
        for source, venue, amount in ev.pnl:
            attribute(source, venue, amount)
        order = getattr(ev, "order", None)
        if order is not None:
            if ev.ok and order.operation.value == "perp_trade":
                key = (order.venue, order.token)
                pos = self.positions.get(key)
                if pos is None:
                    pos = self.positions[key] = Position()
                pos.apply_fill(ev.executed_amount if order.side.value == "buy" else -ev.executed_amount, ev.price)
        elif ev.kind == "liquidation":
            # a perp liquidation closes the positions it names (``data["closed_sizes"]``: token -> size)
            for token in ev.data.get("closed_sizes", ()):
                self.positions.pop((ev.component, token), None)

    def snapshot(self):
        return (self.ledger.snapshot(), dict(self.attribution.total),
                {venue: dict(bucket) for venue, bucket in self.attribution.by_venue.items()},
                {k: (p.size, p.entry) for k, p in self.positions.items()})

    def restore(self, snap) -> None:
        """Back to a :meth:`snapshot` (an atomic group rolled back); dicts are restored in place, so
        references venues hold to their attribution buckets stay valid."""
        ledger, total, by_venue, positions = snap
        self.ledger.restore(ledger)
        attr = self.attribution
        attr.total.update(total)
        for venue in list(attr.by_venue):
            if venue not in by_venue:
                del attr.by_venue[venue]
        for venue, bucket in by_venue.items():
            mine = attr.by_venue.setdefault(venue, {})
            mine.clear()
            mine.update(bucket)
        self.positions = {k: Position(*v) for k, v in positions.items()}
