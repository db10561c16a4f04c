"""``BaseSignalStrategy``: a strategy driven by a signal rule kernel (``strategies.signals.kernels``).

One book-ticker event is one engine step. Per step, :meth:`BaseSignalStrategy.decide`:

1. reads the market data of the step (:meth:`market_data`: time in seconds, spot bid / ask, perp bid /
   ask of the latest valid books, quote units) and calls :meth:`update_market_data`;
2. :meth:`generate_signals` runs the family's compiled rule on it (the same rule the vectorised path
   runs over arrays): a :class:`Signal` (code HOLD / ENTER / ADJUST / EXIT, reason, spot and perp
   position changes in base units);
3. the signal must follow the transition table :data:`TRANSITIONS` (HOLD -> ENTER -> [ADJUST ...] ->
   EXIT -> HOLD: ENTER only when flat, ADJUST / EXIT only when in position), else
   ``IllegalSignal``;
4. :meth:`validate_entry_conditions` (ENTER, ADJUST) / :meth:`validate_exit_conditions` (EXIT) may
   refuse it: the decision is deferred and the rule's state is put back as it was before the event
   (the next event decides again); each refusal is counted (``refused``);
5. :meth:`calculate_position_sizing` (signal, balance of the spot account in USDT) gives the
   quantities; an increase larger than ``max_position_fraction`` of the balance is scaled down and
   counted (``sizing_capped``). The vectorised path has no balance: the two paths agree as long as
   ``refused`` and ``sizing_capped`` stay 0 (the equivalence tests check it);
6. the orders: the spot leg, then the perp leg, sequential, each a marketable IOC limit order
   (:func:`limit_price`: ``max_slippage_bps`` beyond the side it takes of the book the decision saw);
   the venue executes it ``latency_ms`` later against the book then (``venues.sim.latency_book``).
   The rule's state assumes its orders fill; an order that expires (book beyond the limit) is counted
   in ``expired`` -- the vectorised path applies the same limit, so the two paths still agree.

Update hooks: :meth:`update_order` (each order outcome and status change of the run),
:meth:`update_position` (each fill, with the signed base units it moved). A family subclasses this
with its config model (:class:`SignalConfig` fields plus its own), ``RULE`` (the compiled rule) and
``params()`` (its parameter vector).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import Field

from basiskit.config.modes import ModeConfig
from basiskit.domain.actions import Action
from basiskit.domain.orders import Operation, Order, OrderType, Side, TimeInForce
from basiskit.domain.trades import Trade
from basiskit.strategies.base import HOLD as HOLD_DECISION, BaseStrategy, Decision, Requirements
from basiskit.strategies.signals.kernels import ADJUST, ENTER, EXIT, HOLD, OUT_SIZE, POS, REASONS, SIGNAL_NAMES, STATE_SIZE

TRANSITIONS: dict[str, tuple[int, ...]] = {"flat": (HOLD, ENTER), "in_position": (HOLD, ADJUST, EXIT)}
"""Signals allowed in each state of the strategy (HOLD -> ENTER -> [ADJUST ...] -> EXIT -> HOLD)."""
ACTIONS = {ENTER: Action.ENTRY_FULL, ADJUST: Action.ENTRY_PARTIAL, EXIT: Action.EXIT_FULL}


class IllegalSignal(RuntimeError):
    """A rule emitted a signal the transition table does not allow in the current state."""


class SignalConfig(ModeConfig):
    """Fields every signal mode has. Datasets are market series keys: a book-ticker dataset
    (``data.ticks.TICK_SPECS``) or an hourly candle dataset of the catalog (seen as zero-spread books,
    ``data.ticks.bars_as_book_tickers``)."""

    base: str = Field(default="LUNC", description="base token traded on both legs")
    spot_venue: str = Field(default="mexc", description="venue config of the spot leg (configs/venues/<name>.yaml)")
    perp_venue: str = Field(default="gateio", description="venue config of the perp leg")
    spot_dataset: str = Field(default="ticks.mexc.spot.LUNCUSDT")
    perp_dataset: str = Field(default="ticks.gateio.perp.LUNCUSDT")
    latency_ms: float = Field(default=0.0, ge=0, description="decision -> venue delay; fills at the book then, ms")
    max_slippage_bps: float = Field(default=1000.0, gt=0, description="limit of each IOC order (a price guard): this far beyond the "
                                    "ask (buy) / bid (sell) the decision saw, bps")
    spot_capital_fraction: float = Field(default=0.5, gt=0, lt=1, description="share of the capital on the spot "
                                         "account at the start (the rest is perp collateral); pre-funded accounts")
    max_position_fraction: float = Field(default=0.8, gt=0, le=1, description="an increase is capped at this share "
                                         "of the spot account's USDT (counted in sizing_capped)")
    ewm_alpha: float = Field(default=0.01, gt=0, lt=1, description="weight of a new spread in its EW mean/variance")
    warmup_events: int = Field(default=200, ge=1, description="events with both books before the first entry")


def limit_price(buy, bid, ask, max_slippage_bps):
    """Limit of a marketable IOC order: ask x (1 + s) for a buy, bid x (1 - s) for a sell, s =
    ``max_slippage_bps`` / 1e4 (scalars or numpy arrays: the same arithmetic on both paths)."""
    s = max_slippage_bps * 1e-4
    if isinstance(buy, bool):
        return ask * (1.0 + s) if buy else bid * (1.0 - s)
    return np.where(buy, ask * (1.0 + s), bid * (1.0 - s))


@dataclass(frozen=True, slots=True)
class Signal:
    """A rule's output for one event: ``code`` (kernels.HOLD/ENTER/EXIT/ADJUST), ``reason`` code,
    ``d_spot`` / ``d_perp``: position changes asked for, base units (+ buy)."""

    code: int
    reason: int
    d_spot: float
    d_perp: float

    @property
    def name(self) -> str:
        return SIGNAL_NAMES[self.code]


class BaseSignalStrategy(BaseStrategy):
    RULE: ClassVar = None          # the family's compiled rule (numba dispatcher)
    book_tickers: ClassVar[bool] = True  # runs on the tick feed (engine.tick_backtest)

    def __init__(self, config: SignalConfig) -> None:
        super().__init__(config)
        self.p = np.asarray(self.params(), dtype=np.float64)
        self._rule = type(self).RULE  # through the class: a compiled function is not a method
        self.s = np.zeros(STATE_SIZE)
        self._out = np.zeros(OUT_SIZE)
        self._saved = np.zeros(STATE_SIZE)
        self._seen_step = -1
        self._md = (0.0, float("nan"), float("nan"), float("nan"), float("nan"))
        self.spot_account = f"{config.spot_venue}.spot"
        self.perp_account = f"{config.perp_venue}.perp"
        self._keys = tuple(k + s for k in (config.spot_dataset, config.perp_dataset) for s in (".bid", ".ask"))
        self.signals: list[tuple[int, int, int, float, float]] = []  # (step, code, reason, d_spot, d_perp), non-HOLD
        self.refused = 0
        self.sizing_capped = 0
        self.fills = 0
        self.expired = 0  # IOC orders the venue could not fill within their limit

    # -- what a family provides --------------------------------------------------------------------
    def params(self) -> list[float]:
        raise NotImplementedError

    def requirements(self) -> Requirements:
        """None from the hourly catalog: the accounts and books come from the tick runner
        (``engine.tick_backtest``), which reads ``spot_venue``/``perp_venue`` and the datasets."""
        return Requirements()

    # -- the signal engine ------------------------------------------------------------------------
    def market_data(self, ctx) -> tuple[float, float, float, float, float]:
        """(time s, spot bid, spot ask, perp bid, perp ask) of the latest valid books (NaN: none yet)."""
        h = ctx.history
        sb, sa, pb, pa = (h(k, 1)[-1] for k in self._keys)
        return ctx.time_ns / 1e9, sb, sa, pb, pa

    def generate_signals(self, market_data) -> Signal:
        """Run the rule on one event (state updated in place; the state before it is kept for a refusal)."""
        t, sb, sa, pb, pa = market_data
        self._saved[:] = self.s
        out = self._out
        out[:] = 0.0
        self._rule(self.p, self.s, t, sb, sa, pb, pa, out)
        return Signal(int(out[0]), int(out[1]), float(out[2]), float(out[3]))

    def validate_entry_conditions(self, signal: Signal, ctx) -> str | None:
        """None to go ahead, or why not (the decision is deferred). Default: go ahead (the rules emit only
        when both legs have a book; a family adds venue or balance checks here)."""
        return None

    def validate_exit_conditions(self, signal: Signal, ctx) -> str | None:
        """None to go ahead, or why not. Default: always (an exit is never held back)."""
        return None

    def calculate_position_sizing(self, signal: Signal, balance: float) -> tuple[float, float]:
        """(spot, perp) base units for ``signal`` given ``balance`` (USDT on the spot account): the rule's
        quantities, an increase scaled down to ``max_position_fraction`` x balance when larger."""
        d_spot, d_perp = signal.d_spot, signal.d_perp
        if signal.code in (ENTER, ADJUST) and d_spot > 0:
            price = self._md[2]  # the spot ask the rule sized at
            cap = self.config.max_position_fraction * balance
            if d_spot * price > cap:
                k = cap / (d_spot * price)
                self.sizing_capped += 1
                return d_spot * k, d_perp * k
        return d_spot, d_perp

    # -- hooks -------------------------------------------------------------------------------------
    def update_market_data(self, market_data) -> None:
        return None

    def update_position(self, account: str, token: str, change: float) -> None:
        return None

    def update_order(self, ev) -> None:
        return None

    def on_event(self, ev) -> None:
        self.update_order(ev)
        if getattr(ev, "kind", "") == "order_status" and ev.status == "expired" and ev.reason.startswith("IOC: the book"):
            self.expired += 1
        if isinstance(ev, Trade) and ev.ok:
            self.fills += 1
            sign = 1.0 if ev.order.side is Side.BUY else -1.0
            self.update_position(ev.order.venue, ev.order.token, sign * ev.executed_amount)

    # -- the kernel's contract ---------------------------------------------------------------------
    def decide(self, ctx) -> Decision:
        step = ctx.step
        if step == self._seen_step:
            return HOLD_DECISION  # later passes of the same event: the event was decided once
        self._seen_step = step
        md = self._md = self.market_data(ctx)
        self.update_market_data(md)
        was_open = self.s[POS] != 0.0
        sig = self.generate_signals(md)
        if sig.code == HOLD:
            return HOLD_DECISION
        if sig.code not in TRANSITIONS["in_position" if was_open else "flat"]:
            raise IllegalSignal(f"{sig.name} while {'in position' if was_open else 'flat'} (step {step})")
        why = (self.validate_exit_conditions(sig, ctx) if sig.code == EXIT else self.validate_entry_conditions(sig, ctx))
        if why:
            self.s[:] = self._saved
            self.refused += 1
            return Decision(ACTIONS[sig.code], [], f"{sig.name} refused: {why}", deferred=True)
        self.signals.append((step, sig.code, sig.reason, sig.d_spot, sig.d_perp))
        d_spot, d_perp = self.calculate_position_sizing(sig, ctx.cash(self.spot_account))
        base, reason = self.config.base, REASONS[sig.reason]
        _, sb, sa, pb, pa = md
        slip = self.config.max_slippage_bps
        orders = []
        for d, op, account, bid, ask in ((d_spot, Operation.SPOT_TRADE, self.spot_account, sb, sa),
                                         (d_perp, Operation.PERP_TRADE, self.perp_account, pb, pa)):
            if d:
                orders.append(Order(op, account, abs(d), base, side=Side.BUY if d > 0 else Side.SELL,
                                    order_type=OrderType.LIMIT, limit_price=limit_price(d > 0, bid, ask, slip),
                                    time_in_force=TimeInForce.IOC, reason=reason))
        return Decision(ACTIONS[sig.code], orders, f"{sig.name}: {reason}", trigger=reason)

    def snapshot(self) -> dict:
        return {"kernel_state": self.s.tolist(), "signals": len(self.signals), "refused": self.refused,
                "sizing_capped": self.sizing_capped, "fills": self.fills, "expired": self.expired,
                "position_open": bool(self.s[POS])}

    def restore(self, state: dict) -> None:
        self.s[:] = np.asarray(state["kernel_state"], dtype=np.float64)
