"""The ML directional strategy: a walk-forward forecast of the perp's direction, traded with a bracket.

Each hour t, flat and with a forecast P(up) for t: ``walkforward.direction`` says long, short or
nothing; an entry is a market order for ``position_fraction`` x equity / mark (base units) carrying a
take-profit and a stop-loss at ``take_profit_pct`` / ``stop_loss_pct`` from the mark it sees. The
venue keeps the two legs as resting orders (``venues/sim/bar_orders.py``): they fill intrabar from the
bars' highs and lows, and a bar that reaches both fires the stop-loss (the kernel's rule,
``venues/sim/resting.py``). After ``max_hold_hours`` a position still open is closed at market (time
stop) and its legs cancelled. The wallet's USDT (capital, deposits) moves to the perp account as
margin; a withdrawal is paid from it while flat.

Where forecasts come from: in a backtest ``prepare(catalog, grid)`` trains the walk-forward models
(``walkforward.py``) on the catalog's bars and funding and keeps their predictions for the run's hours;
a paper or live runner loads saved models (``model_store.load_models``), computes P(up) each hour from
the data it has collected (``model_store.forecast``) and hands it over with :meth:`set_forecast`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from basiskit.domain.actions import Action
from basiskit.domain.orders import Operation, Order, Side
from basiskit.strategies.base import HOLD, BaseStrategy, Decision, Requirements
from basiskit.strategies.context import StrategyContext
from basiskit.strategies.implementations.ml_directional.config import MlDirectionalConfig
from basiskit.strategies.implementations.ml_directional.fold_report import fold_rows
from basiskit.strategies.implementations.ml_directional.walkforward import FoldResult, direction, lookback, walk_forward

WALLET = "wallet"
H_NS = 3600 * 10**9


def load_inputs(catalog, cfg: MlDirectionalConfig) -> tuple[pd.DataFrame, pd.Series]:
    """(hourly perp bars with their ``filled`` flags, funding rates per 8 h) of the mode's venue and asset
    from the catalog (``catalog.load``; raises its ``DataError`` naming a missing dataset)."""
    sym = f"{cfg.asset}USDT"
    bars = catalog.load(f"perp.{cfg.venue}.{sym}")
    funding = catalog.load(f"funding.{cfg.venue}.{sym}")["funding_rate"]
    return bars, funding


class MlDirectional(BaseStrategy):
    def __init__(self, config: MlDirectionalConfig) -> None:
        super().__init__(config)
        self.account = f"{config.venue}.perp"
        self.forecasts: dict[int, float] = {}   # decision time (ns) -> P(up)
        self.folds: list[FoldResult] = []
        self.entries: list[int] = []            # decision times (ns) of the entries sent
        self._bars: pd.DataFrame | None = None
        self._entry_ns: int | None = None
        self._n = 0
        self._last_id = ""

    def requirements(self) -> Requirements:
        return Requirements(perp={self.account: [self.config.asset]})

    # -- forecasts --------------------------------------------------------------------------------
    def prepare(self, catalog, grid) -> None:
        """Backtest: train the walk-forward folds covering the clock ``grid`` (ns, UTC) on the catalog's
        data and keep their predictions (raises ``WalkForwardError`` naming a fold without enough
        training data)."""
        bars, funding = load_inputs(catalog, self.config)
        times = pd.DatetimeIndex(pd.to_datetime(np.asarray(grid, dtype=np.int64), utc=True))
        first = times[0] - lookback(self.config)
        self._bars = bars
        self.folds = walk_forward(bars[bars.index >= first], funding, times, self.config)
        self.forecasts = {}
        for r in self.folds:
            self.forecasts.update(zip(r.predictions.index.as_unit("ns").asi8.tolist(), r.predictions.tolist()))

    def set_forecast(self, t_ns: int, p_up: float) -> None:
        """A paper or live runner's forecast P(up) for decision time ``t_ns`` (``model_store.predict_at``)."""
        self.forecasts[int(t_ns)] = float(p_up)

    # -- decisions --------------------------------------------------------------------------------
    def decide(self, ctx: StrategyContext) -> Decision:
        c, acc, tok = self.config, self.account, self.config.asset
        size = ctx.perp_size(acc, tok)
        legs = ctx.open_orders(acc, tok)
        if size == 0.0:
            self._entry_ns = None
            if legs:  # a leg left after the position went (should not happen: OCO and reduce-only)
                return Decision(Action.EXIT_FULL, cancels=[v.client_order_id for v in legs], reason="flat: cancel legs")
            pending = ctx.pending_withdrawal_usd()
            if pending > ctx.cash(WALLET) + 1e-9:
                amt = min(pending - ctx.cash(WALLET), ctx.withdrawable(acc))
                if amt > 0:
                    return Decision(Action.EXIT_PARTIAL, [Order(Operation.TRANSFER, acc, amt, "USDT", to_venue=WALLET)],
                                    "margin to the wallet for a withdrawal")
            cash = ctx.cash(WALLET) - pending - ctx.transfer_fee(WALLET, acc)  # the fee is charged on top
            if cash > c.min_trade_usd:
                return Decision(Action.ENTRY_PARTIAL, [Order(Operation.TRANSFER, WALLET, cash, "USDT", to_venue=acc)],
                                "wallet USDT to the perp account as margin")
        elif self._entry_ns is not None and ctx.time_ns - self._entry_ns >= c.max_hold_hours * H_NS:
            if not ctx.price_live(acc, tok):
                return Decision(Action.EXIT_FULL, reason="time stop: no traded price", deferred=True)
            side = Side.SELL if size > 0 else Side.BUY
            self._entry_ns = None
            return Decision(Action.EXIT_FULL, [Order(Operation.PERP_TRADE, acc, abs(size), tok, side, reduce_only=True,
                                                            reason=f"time stop of {self._last_id}")],
                            f"time stop after {c.max_hold_hours} h", cancels=[v.client_order_id for v in legs])
        if size != 0.0:
            return HOLD
        p = self.forecasts.get(ctx.time_ns)
        if p is None:
            return HOLD
        d = direction(p, c)
        if d == 0:
            return HOLD
        if not ctx.price_live(acc, tok):
            return Decision(Action.ENTRY_FULL, reason="signal at a data gap", deferred=True)
        mark = ctx.perp_mark(acc, tok)
        amount = c.position_fraction * ctx.equity_usd() / mark
        if amount * mark < c.min_trade_usd:
            return HOLD
        tp = mark * (1 + d * c.take_profit_pct)
        sl = mark * (1 - d * c.stop_loss_pct)
        self._n += 1
        self._entry_ns = ctx.time_ns
        self.entries.append(ctx.time_ns)
        order = Order(Operation.PERP_TRADE, acc, amount, tok, Side.BUY if d > 0 else Side.SELL, take_profit=tp,
                      stop_loss=sl, client_order_id=f"ml-{self._n}", reason=f"P(up)={p:.3f}")
        self._last_id = order.client_order_id
        return Decision(Action.ENTRY_FULL, [order], f"P(up)={p:.3f}: {'long' if d > 0 else 'short'}")

    # -- state and results ------------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {"entries": self._n, "entry_ns": self._entry_ns}

    def restore(self, state: dict) -> None:
        self._n = int(state.get("entries", 0))
        self._entry_ns = state.get("entry_ns")

    def summary_sections(self, times_ns, equity) -> dict:
        """``ml_folds`` (``fold_report``), ``ml_model`` (what was trained) and their null reasons, for the
        run's summary; empty when nothing was trained (no ``prepare``)."""
        if not self.folds or self._bars is None:
            return {}
        rows, reasons = fold_rows(self.folds, self._bars, times_ns, equity, self.entries, self.config)
        c = self.config
        return {"ml_folds": rows, "ml_model": {
            "library": "lightgbm", "seed": c.seed, "features": list(self.folds[0].model.meta.features),
            "horizon_hours": c.horizon_hours, "purge_hours": c.purge_hours, "embargo_hours": c.embargo_hours,
            "train_days": c.train_days, "folds": len(rows)}, "_null_reasons": reasons}
