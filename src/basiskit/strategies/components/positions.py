"""Position manager: the positions one strategy holds, per venue account and instrument.

Positions are signed base-token units (long > 0, short < 0): perp positions from the strategy's
filled ``PERP_TRADE`` s, spot holdings bought/sold by its ``SPOT_TRADE`` s (not the cash it started
with). They are kept from the run's fills (``on_event``: a ``Trade`` with status filled, market or
resting), which in a multi-strategy run reach each strategy from its own sub-accounts only.

Persistence: ``save(store, run_id)`` writes them to the store's ``strategy_positions`` (one row per
(strategy_id, venue account, instrument)); ``load(store)`` reads them back (a restarted live strategy);
``reconcile(ctx)`` compares them with what the venue reports (a perp size differing by more than
``tol`` base units is returned, never silently overwritten).
"""

from __future__ import annotations

from typing import Protocol

from basiskit.domain.orders import Operation, Side
from basiskit.persistence.records import PositionRecord

QTY_TOL = 1e-9  # base units: sizes closer than this are equal; |size| below it is flat


class PositionStore(Protocol):
    """The part of ``persistence.protocol.RunStore`` the position manager uses."""

    def save_positions(self, strategy_id: str, positions: list[PositionRecord], run_id: str | None = None) -> None: ...

    def positions(self, strategy_id: str) -> list[PositionRecord]: ...


class PositionManager:
    """Signed positions of strategy ``strategy_id`` by (venue account, instrument).

    ``instrument`` is ``<BASE><QUOTE>`` (``BTCUSDT``) as in ``strategy_positions`` and the trades table.
    An optional ``store`` is where :meth:`save` / :meth:`load` go by default.
    """

    def __init__(self, strategy_id: str, store: PositionStore | None = None) -> None:
        if not strategy_id:
            raise ValueError("a position manager needs a non-empty strategy_id")
        self.strategy_id = strategy_id
        self.store = store
        self._size: dict[tuple[str, str], float] = {}

    # -- reading -----------------------------------------------------------------------------------
    def size(self, account: str, instrument: str) -> float:
        """Signed base units (0.0 when flat or unknown)."""
        return self._size.get((account, instrument), 0.0)

    def all(self) -> dict[tuple[str, str], float]:
        """Every non-flat position, (account, instrument) -> signed base units."""
        return {k: v for k, v in self._size.items() if abs(v) > QTY_TOL}

    # -- updating ----------------------------------------------------------------------------------
    def apply_fill(self, account: str, instrument: str, signed_amount: float) -> float:
        """Add a fill of ``signed_amount`` base units (buy > 0, sell < 0); returns the new size."""
        key = (account, instrument)
        new = self._size.get(key, 0.0) + signed_amount
        if abs(new) <= QTY_TOL:
            self._size.pop(key, None)
            return 0.0
        self._size[key] = new
        return new

    def on_event(self, ev) -> None:
        """Applies a filled spot or perp ``Trade`` (any other event is ignored)."""
        if getattr(ev, "kind", None) != "trade" or not ev.ok:
            return
        o = ev.order
        if o.operation not in (Operation.PERP_TRADE, Operation.SPOT_TRADE) or not ev.executed_amount:
            return
        sign = 1.0 if o.side is Side.BUY else -1.0
        self.apply_fill(o.venue, f"{o.token}{o.quote}", sign * ev.executed_amount)

    def reconcile(self, ctx, tol: float = 1e-6) -> dict[tuple[str, str], tuple[float, float]]:
        """Perp positions whose tracked size differs from the venue's (``ctx.perp_size``) by more than
        ``tol`` base units: (account, instrument) -> (tracked, venue). Empty when they agree. Only
        meaningful when the strategy is alone on its accounts (its own sub-accounts)."""
        out = {}
        for (account, inst), size in self._size.items():
            if account.endswith(".perp") and inst.endswith("USDT"):
                venue = ctx.perp_size(account, inst[: -len("USDT")])
                if abs(venue - size) > tol:
                    out[(account, inst)] = (size, venue)
        return out

    # -- persistence -------------------------------------------------------------------------------
    def records(self) -> list[PositionRecord]:
        return [PositionRecord(a, i, s) for (a, i), s in sorted(self.all().items())]

    def save(self, store: PositionStore | None = None, run_id: str | None = None) -> None:
        """Writes every position (flat ones dropped) to ``strategy_positions``.

        Raises:
            ValueError: no store given and none configured.
        """
        target = store or self.store
        if target is None:
            raise ValueError(f"position manager {self.strategy_id!r} has no store to save to")
        target.save_positions(self.strategy_id, self.records(), run_id)

    def load(self, store: PositionStore | None = None) -> None:
        """Replaces the tracked positions by the stored ones.

        Raises:
            ValueError: no store given and none configured.
        """
        target = store or self.store
        if target is None:
            raise ValueError(f"position manager {self.strategy_id!r} has no store to load from")
        self._size = {(r.venue, r.instrument): r.size for r in target.positions(self.strategy_id)}

    def snapshot(self) -> list[list]:
        """JSON form: ``[[account, instrument, size], ...]`` sorted."""
        return [[a, i, s] for (a, i), s in sorted(self.all().items())]

    def restore(self, rows: list) -> None:
        """Inverse of :meth:`snapshot`.

        Raises:
            ValueError: a row that is not ``[account, instrument, size]``.
        """
        out = {}
        for row in rows:
            if len(row) != 3:
                raise ValueError(f"position row {row!r}: expected [account, instrument, size]")
            out[(str(row[0]), str(row[1]))] = float(row[2])
        self._size = out
