"""``btc_basis`` / ``eth_basis`` (USDT share class): long spot, equal perpetual short.

Economics: the spot long and the perp shorts cancel in price (delta ~ 0); the book earns the funding
the shorts receive (positive funding = longs pay shorts) plus the spot-perp basis change, less
trading fees, slippage and transfer fees. Capital splits between the spot purchase and USDT margin
posted on each perp venue: for equity E, spot price p and margin fraction k (margin / short
notional), the target spot quantity is Q = E / (p(1+c_s) + sum_v w_v m_v (k + c_v)), the short on
venue v is -w_v Q (``hedge_allocation`` weights w_v, summing to 1) and its margin k w_v Q m_v.

Rebalancing (when ``rebalance`` is on) re-targets the whole book to the current equity when
|net delta| / equity exceeds ``delta_drift_threshold``, a venue's margin ratio (margin balance /
notional) falls below ``margin_ratio_floor`` (top up) or rises above ``margin_ratio_ceiling`` (margin
both ways: the excess a winning short leaves idle goes back to the spot leg). Each step runs in
passes: reduce positions first, then move USDT between accounts, then add positions; targets are
frozen for the step. Deposits and withdrawals re-target the book whether or not rebalancing is on.

Transfers between venues cost the source's withdrawal fee and take time (``venues.sim.transfer``):
money in transit counts toward its destination's target (nothing is sent twice) and the spot leg
buys only what cash on the spot account pays for; the shorts follow the spot held, so the book stays
delta neutral while cash is on its way, and cash that lands re-triggers the re-target ("deploy").

Lot sizes (when the accounts have them: ``ctx.lot``, the venue configs' ``lot_sizes`` or a live
venue's markets; ``domain/lots.py``): every amount is rounded toward zero to its account's step and an
order below the account's minimum amount / notional is not built. The hedge legs share one size: each
perp target is its share of Q rounded down to that venue's step, the spot target is their sum (rounded
down to the spot step), and when the spot leg is limited by the cash at hand the shorts are rounded
down first and the spot buys what they hedge -- so spot held - shorts (the delta residual, in base
units) stays below one lot of each perp venue (0 when the spot step divides the perp steps and both
legs' orders are sent). Idle spot cash is deployed only above what the rounding leaves (one step of
each perp venue at the spot price), so the rounding's remainder does not re-trigger every step.

Data gaps: a re-target that would trade on an account whose price did not trade at the step (a
venue's data gap, valued from a reference venue) is deferred (``Decision.deferred``) until the data
resumes; the book is held as it is meanwhile.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from basiskit.config.modes import ModeConfig
from basiskit.domain.actions import Action
from basiskit.domain.orders import Operation, Order, Side
from basiskit.strategies.base import HOLD, Decision, Requirements
from basiskit.strategies.categories.stateful import StatefulStrategy
from basiskit.strategies.context import StrategyContext
from basiskit.strategies.transfer_rules import margin_tolerance, worth_sending

WALLET = "wallet"


class BasisConfig(ModeConfig):
    mode: Literal["btc_basis", "eth_basis"]
    asset: Literal["BTC", "ETH"]
    spot_venue: str = Field(description="CEX whose spot market holds the long")
    hedge_allocation: dict[str, float] = Field(description="perp venue -> share of the short (sums to 1)")
    perp_margin_fraction: float = Field(default=0.5, gt=0, le=1, description="USDT margin / short notional")
    delta_drift_threshold: float = Field(default=0.02, gt=0, description="|net delta| / equity that triggers a rebalance")
    margin_ratio_floor: float = Field(default=0.25, gt=0, description="margin balance / notional that triggers a top-up")
    margin_ratio_ceiling: float = Field(default=0.6, gt=0, description="margin balance / notional above which the "
                                                                         "excess margin goes back to the spot leg")
    rebalance: bool = True

    @field_validator("hedge_allocation")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("at least one venue")
        for venue, w in v.items():
            if w < 0:
                raise ValueError(f"weight of {venue} is negative ({w})")
        total = sum(v.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got {total}")
        return v

    @model_validator(mode="after")
    def _band(self) -> "BasisConfig":
        if not self.margin_ratio_floor < self.perp_margin_fraction < self.margin_ratio_ceiling:
            raise ValueError(f"margin_ratio_floor ({self.margin_ratio_floor}) < perp_margin_fraction "
                             f"({self.perp_margin_fraction}) < margin_ratio_ceiling ({self.margin_ratio_ceiling}) must hold")
        return self

    @property
    def active_venues(self) -> dict[str, float]:
        return {v: w for v, w in self.hedge_allocation.items() if w > 0}


class Basis(StatefulStrategy):
    config: BasisConfig

    def __init__(self, config: BasisConfig) -> None:
        super().__init__(config)
        self.spot = f"{config.spot_venue}.spot"
        self.perps = {f"{v}.perp": w for v, w in config.active_venues.items()}
        self.entered = False
        self._awaiting = False
        self._step = -1
        self._targets: tuple[float, dict[str, float], dict[str, float]] | None = None
        self._action = Action.HOLD
        self._reason = ""
        self._why = ""

    def requirements(self) -> Requirements:
        a = self.config.asset
        return Requirements(spot={self.spot: [a]}, perp={p: [a] for p in self.perps})

    def _accounts(self) -> list[str]:
        return [self.spot, *self.perps]

    def _stale(self, ctx: StrategyContext) -> list[str]:
        a = self.config.asset
        return [acc for acc in self._accounts() if not ctx.price_live(acc, a)]

    def _trigger(self, ctx: StrategyContext) -> tuple[Action, str, str] | None:
        c = self.config
        if not self.entered:
            return Action.ENTRY_FULL, "initial entry", "initial_entry"
        pending = ctx.pending_withdrawal_usd()
        cash = ctx.cash(WALLET)
        wallet = cash + ctx.in_transit(WALLET)
        if pending > wallet + 1e-9:
            return Action.EXIT_PARTIAL, f"withdrawal of {pending:.2f} USDT requested", "withdrawal"
        min_usd = max(c.min_trade_usd, 1.0) * 2
        idle_usd = max(min_usd, self._lot_slack_usd(ctx))
        if wallet - pending > idle_usd and cash > idle_usd:
            return Action.ENTRY_PARTIAL, f"deploy {wallet - pending:.2f} idle USDT", "idle_cash"
        spot_cash = ctx.cash(self.spot)
        if spot_cash > idle_usd and not ctx.in_transit(self.spot):
            return Action.ENTRY_PARTIAL, f"deploy {spot_cash:.2f} USDT that landed on {self.spot}", "idle_cash"
        if not c.rebalance:
            return None
        eq = ctx.equity_usd()
        drift = ctx.net_delta_usd() / eq if eq > 0 else 0.0
        if abs(drift) > c.delta_drift_threshold:
            return Action.ENTRY_PARTIAL if drift < 0 else Action.EXIT_PARTIAL, f"delta drift {drift:+.4f} of equity", "delta_drift"
        above = None
        for p in self.perps:
            mr = ctx.margin_ratio(p)
            if mr is None:
                continue
            if mr < c.margin_ratio_floor:
                return Action.EXIT_PARTIAL, f"margin ratio {mr:.4f} on {p} below floor {c.margin_ratio_floor}", "margin_floor"
            if mr > c.margin_ratio_ceiling and above is None:
                above = (p, mr)
        if above is not None and not self._in_transit(ctx):  # else the excess margin is already on its way
            p, mr = above
            return Action.ENTRY_PARTIAL, f"margin ratio {mr:.4f} on {p} above ceiling {c.margin_ratio_ceiling}", "margin_ceiling"
        return None

    # -- quiet stretches (engine.quiet) -----------------------------------------------------------
    def quiet_steps(self, ctx: StrategyContext, view) -> int:
        """How many leading steps of a quiet stretch ``view`` (``engine.quiet.QuietView``: per step
        equity, net delta, margin ratios; balances and transfers constant) :meth:`_trigger` returns
        None on -- the same conditions, in arrays. 0 when the strategy is not holding quietly now (not
        entered, awaiting transfers, a withdrawal pending, idle cash to deploy)."""
        c = self.config
        if not self.quiet_now(ctx):
            return 0
        if not c.rebalance:
            return view.n
        eq = view.equity_usd
        drift = np.divide(view.net_delta_usd, eq, out=np.zeros(view.n), where=eq > 0)
        fire = np.abs(drift) > c.delta_drift_threshold
        moving = self._in_transit(ctx)
        for p in self.perps:
            mr = view.margin_ratios[p]
            fire |= mr < c.margin_ratio_floor
            if not moving:
                fire |= mr > c.margin_ratio_ceiling
        hit = np.flatnonzero(fire)
        return int(hit[0]) if hit.size else view.n

    def quiet_now(self, ctx: StrategyContext) -> bool:
        """Whether the strategy holds with the balances as they are (the conditions of :meth:`_trigger`
        that do not move with prices): entered, not awaiting transfers, decided at this step, no
        withdrawal to pay, no idle cash to deploy."""
        c = self.config
        if not self.entered or self._awaiting or self._step != ctx.step:
            return False
        pending = ctx.pending_withdrawal_usd()
        cash = ctx.cash(WALLET)
        wallet = cash + ctx.in_transit(WALLET)
        min_usd = max(c.min_trade_usd, 1.0) * 2
        idle_usd = max(min_usd, self._lot_slack_usd(ctx))
        if pending > wallet + 1e-9 or wallet - pending > idle_usd and cash > idle_usd:
            return False
        return not (ctx.cash(self.spot) > idle_usd and not ctx.in_transit(self.spot))

    def on_quiet(self, last_step: int) -> None:
        """The quiet steps up to ``last_step`` passed (each would have held)."""
        self._step = last_step
        self._targets = None

    # -- state ----------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The strategy's own state, JSON-able: whether the book was entered, a re-target waiting for
        transfers, the step's frozen targets (spot quantity in base units, perp sizes in base units,
        perp margins in USDT) and the step's action."""
        t = self._targets
        return {"entered": self.entered, "awaiting": self._awaiting, "step": self._step,
                "targets": None if t is None else {"spot_qty": t[0], "perp_sizes": dict(t[1]), "margins": dict(t[2])},
                "action": self._action.value, "reason": self._reason, "trigger": self._why}

    def restore(self, state: dict) -> None:
        """Back to a :meth:`snapshot` (e.g. read from the run store). Raises KeyError on a missing field."""
        t = state["targets"]
        self.entered, self._awaiting, self._step = bool(state["entered"]), bool(state["awaiting"]), int(state["step"])
        self._targets = None if t is None else (float(t["spot_qty"]), dict(t["perp_sizes"]), dict(t["margins"]))
        self._action, self._reason, self._why = Action(state["action"]), state["reason"], state["trigger"]

    # -- decision -------------------------------------------------------------------------------
    def _in_transit(self, ctx: StrategyContext) -> bool:
        return any(ctx.in_transit(acc) for acc in (WALLET, *self._accounts()))

    def decide(self, ctx: StrategyContext) -> Decision:
        if ctx.step != self._step:
            self._step = ctx.step
            if self._awaiting:  # a re-target sent USDT between venues: finish it once the money has landed
                if self._in_transit(ctx):
                    return HOLD
                self._awaiting = False
                self._reason = f"{self._reason}; transfers landed"
            else:
                trig = self._trigger(ctx)
                if trig is None:
                    self._targets = None
                    return HOLD
                self._action, self._reason, self._why = trig
                self._targets = None
            stale = self._stale(ctx)
            if stale:
                self._targets = None
                return Decision(self._action, [], f"{self._reason}: deferred, no traded price on {', '.join(stale)}",
                                deferred=True, trigger=self._why)
            if self._targets is None:
                self._targets = self._compute_targets(ctx)
        if self._targets is None:
            return HOLD
        orders = getattr(self, self._action.value)(ctx)
        if not orders:
            if self._in_transit(ctx):
                self._awaiting = True  # keep the targets; the spot leg and the shorts follow when the cash lands
                return HOLD
            self._targets = None
            self.entered = True
            return HOLD
        return Decision(self._action, orders, self._reason + self._residual_note(ctx, orders), trigger=self._why)

    def _residual_note(self, ctx: StrategyContext, orders: list[Order]) -> str:
        """With lots: the delta residual the book will have once ``orders`` fill (spot held - shorts, base
        units), for the decision's reason; '' without lots."""
        if self._lots(ctx) is None:
            return ""
        a = self.config.asset
        spot = ctx.cash(self.spot, a)
        shorts = -sum(ctx.perp_size(v, a) for v in self.perps)
        for o in orders:
            if o.operation is Operation.SPOT_TRADE:
                spot += o.amount if o.side is Side.BUY else -o.amount
            elif o.operation is Operation.PERP_TRADE:
                shorts += o.amount if o.side is Side.SELL else -o.amount
        return f" (lot sizes: delta residual {spot - shorts:+.8g} {a} after these orders)"

    def _pass(self, ctx: StrategyContext) -> list[Order]:
        """One pass towards the step's targets: reduce, else transfer, else increase."""
        return self._reduce(ctx) or self._transfers(ctx) or self._increase(ctx)

    def entry_full(self, ctx: StrategyContext) -> list[Order]:
        return self._pass(ctx)

    def entry_partial(self, ctx: StrategyContext) -> list[Order]:
        return self._pass(ctx)

    def exit_partial(self, ctx: StrategyContext) -> list[Order]:
        return self._pass(ctx)

    # -- lot sizes ------------------------------------------------------------------------------
    def _lots(self, ctx: StrategyContext) -> dict | None:
        """account -> ``LotSize`` or None, for the book's accounts; None when no account has one."""
        lot_of = getattr(ctx, "lot", None)
        if lot_of is None:
            return None
        a = self.config.asset
        lots = {acc: lot_of(acc, a) for acc in self._accounts()}
        return lots if any(v is not None for v in lots.values()) else None

    @staticmethod
    def _floor(lot, amount: float) -> float:
        return lot.floor(amount) if lot is not None and amount > 0 else amount

    def _sendable(self, lot, amount: float, price: float, tol: float) -> bool:
        """Whether an order of ``amount`` (on the grid) is worth building: above ``tol`` and, with a lot, at
        least its minimum amount and notional."""
        return amount > tol and (lot is None or lot.problem(amount, price) is None)

    def _lot_slack_usd(self, ctx: StrategyContext) -> float:
        """USDT the rounding of the targets can leave undeployed (in the wallet or on the spot account): one
        step of each perp venue of spot (with its cost) and of margin (with the perp's cost), plus one spot
        step; 0 without lots. Idle cash below it is the rounding's remainder, not worth a re-target."""
        lots = self._lots(ctx)
        if lots is None:
            return 0.0
        a, k = self.config.asset, self.config.perp_margin_fraction
        spot_unit = ctx.spot_price(self.spot, a) * (1 + ctx.cost_rate(self.spot))
        slack = lots[self.spot].step * spot_unit if lots[self.spot] is not None else 0.0
        for v in self.perps:
            if lots[v] is not None:
                slack += lots[v].step * (spot_unit + ctx.perp_mark(v, a) * (k + ctx.cost_rate(v)))
        return slack

    def _compute_targets(self, ctx: StrategyContext) -> tuple[float, dict[str, float], dict[str, float]]:
        c, a = self.config, self.config.asset
        equity = ctx.equity_usd() - ctx.pending_withdrawal_usd()
        p = ctx.spot_price(self.spot, a)
        denom = p * (1 + ctx.cost_rate(self.spot))
        for v, w in self.perps.items():
            denom += w * ctx.perp_mark(v, a) * (c.perp_margin_fraction + ctx.cost_rate(v))
        q = max(equity, 0.0) / denom
        lots = self._lots(ctx)
        if lots is not None:  # one hedge size: each short rounded down to its step, the spot their sum
            sizes = {v: -self._floor(lots[v], w * q) for v, w in self.perps.items()}
            q = self._floor(lots[self.spot], -sum(sizes.values()))
            margins = {v: c.perp_margin_fraction * -sizes[v] * ctx.perp_mark(v, a) for v in self.perps}
            return q, sizes, margins
        sizes = {v: -w * q for v, w in self.perps.items()}
        margins = {v: c.perp_margin_fraction * w * q * ctx.perp_mark(v, a) for v, w in self.perps.items()}
        return q, sizes, margins

    def _min_qty(self, ctx: StrategyContext) -> float:
        return self.config.min_trade_usd / ctx.spot_price(self.spot, self.config.asset)

    def _reduce(self, ctx: StrategyContext) -> list[Order]:
        a = self.config.asset
        q_t, sizes, _ = self._targets
        tol = self._min_qty(ctx)
        out: list[Order] = []
        excess = ctx.cash(self.spot, a) - q_t
        lots = self._lots(ctx)
        if lots is not None:
            return self._reduce_lots(ctx, lots, excess, sizes, tol)
        if excess > tol:
            out.append(Order(Operation.SPOT_TRADE, self.spot, excess, a, Side.SELL, reason="reduce spot to target"))
        for v, target in sizes.items():
            cover = target - ctx.perp_size(v, a)  # > 0: short larger than target
            if cover > tol:
                out.append(Order(Operation.PERP_TRADE, v, cover, a, Side.BUY, reason="reduce short to target"))
        return out

    def _reduce_lots(self, ctx: StrategyContext, lots: dict, excess: float, sizes: dict, tol: float) -> list[Order]:
        """``_reduce`` on the lots: each amount rounded down to its step, orders below a minimum not built."""
        a = self.config.asset
        out: list[Order] = []
        sell = self._floor(lots[self.spot], excess) if excess > 0 else 0.0
        if self._sendable(lots[self.spot], sell, ctx.spot_price(self.spot, a), tol):
            out.append(Order(Operation.SPOT_TRADE, self.spot, sell, a, Side.SELL, reason="reduce spot to target"))
        for v, target in sizes.items():
            cover = target - ctx.perp_size(v, a)
            cover = self._floor(lots[v], cover) if cover > 0 else 0.0
            if self._sendable(lots[v], cover, ctx.perp_mark(v, a), tol):
                out.append(Order(Operation.PERP_TRADE, v, cover, a, Side.BUY, reason="reduce short to target"))
        return out

    def _transfers(self, ctx: StrategyContext) -> list[Order]:
        a = self.config.asset
        q_t, sizes, margins = self._targets
        surplus: dict[str, float] = {}
        deficit: dict[str, float] = {}
        pending = ctx.pending_withdrawal_usd()
        wallet_transit = ctx.in_transit(WALLET)
        wallet = ctx.cash(WALLET) + wallet_transit - pending
        if wallet > 0:
            surplus[WALLET] = max(0.0, min(wallet, ctx.cash(WALLET)))
        else:
            deficit[WALLET] = -wallet
        buy = max(0.0, q_t - ctx.cash(self.spot, a))
        spot_need = buy * ctx.spot_price(self.spot, a) * (1 + ctx.cost_rate(self.spot)) * (1 + 1e-6)
        spot_gap = ctx.cash(self.spot) + ctx.in_transit(self.spot) - spot_need
        if spot_gap > 0:
            surplus[self.spot] = max(0.0, min(spot_gap, ctx.withdrawable(self.spot)))
        else:
            deficit[self.spot] = -spot_gap
        for v, target in sizes.items():
            add = abs(target - ctx.perp_size(v, a)) * ctx.perp_mark(v, a) * ctx.cost_rate(v)
            gap = ctx.margin_balance(v) + ctx.in_transit(v) - margins[v] - add
            if abs(gap) <= margin_tolerance(margins[v], self.config.min_trade_usd):
                continue  # close enough to its target: not worth a transfer
            if gap > 0:
                surplus[v] = max(0.0, min(gap, ctx.withdrawable(v)))
            else:
                deficit[v] = -gap
        min_usd = self.config.min_trade_usd
        out: list[Order] = []
        for dst, need in sorted(deficit.items(), key=lambda kv: -kv[1]):
            # idle wallet cash first (it is what triggered a deposit re-target), then the largest surplus
            for src in sorted(surplus, key=lambda s: (s != WALLET, -surplus[s])):
                if need <= min_usd:
                    break
                fee = ctx.transfer_fee(src, dst)
                amt = min(need, surplus[src] - fee)  # the source pays the fee on top of the amount
                # a withdrawal is paid whatever the fee; other moves only when worth their fee
                if worth_sending(amt, fee, min_usd) or (dst == WALLET and pending > 0 and amt > 0):
                    out.append(Order(Operation.TRANSFER, src, amt, "USDT", to_venue=dst, reason="move USDT to target"))
                    surplus[src] -= amt + fee
                    need -= amt
        return out

    def _increase(self, ctx: StrategyContext) -> list[Order]:
        a = self.config.asset
        q_t, sizes, _ = self._targets
        tol = self._min_qty(ctx)
        out: list[Order] = []
        p = ctx.spot_price(self.spot, a)
        affordable = ctx.cash(self.spot) / (p * (1 + ctx.cost_rate(self.spot)) * (1 + 1e-9))
        held = ctx.cash(self.spot, a)
        buy = min(q_t - held, affordable)
        lots = self._lots(ctx)
        if lots is not None:
            return self._increase_lots(ctx, lots, held, buy, tol)
        if buy > tol:
            out.append(Order(Operation.SPOT_TRADE, self.spot, buy, a, Side.BUY, reason="raise spot to target"))
        # the shorts follow the spot actually held (cash for the rest may still be in transit)
        hedged = min(q_t, held + max(buy, 0.0)) / q_t if q_t > 0 else 0.0
        for v, target in sizes.items():
            add = ctx.perp_size(v, a) - target * hedged  # > 0: short smaller than target
            if add > tol:
                out.append(Order(Operation.PERP_TRADE, v, add, a, Side.SELL, reason="raise short to target"))
        return out

    def _increase_lots(self, ctx: StrategyContext, lots: dict, held: float, buy: float, tol: float) -> list[Order]:
        """``_increase`` on the lots, one hedge size: the shorts first -- each its target x the share of the
        target the spot will hold, rounded down to its step; adds below a minimum not built -- then the
        spot buys up to what the shorts (held and added) hedge, rounded down to its step."""
        a = self.config.asset
        q_t, sizes, _ = self._targets
        hedged = min(q_t, held + max(buy, 0.0)) / q_t if q_t > 0 else 0.0
        shorts: list[Order] = []
        total = 0.0  # the shorts' size once the adds are filled (base units)
        for v, target in sizes.items():
            now = -ctx.perp_size(v, a)
            want = self._floor(lots[v], -target * hedged) if target < 0 else 0.0
            add = self._floor(lots[v], want - now) if want > now else 0.0
            if self._sendable(lots[v], add, ctx.perp_mark(v, a), tol):
                shorts.append(Order(Operation.PERP_TRADE, v, add, a, Side.SELL, reason="raise short to target"))
                now += add
            total += now
        spot_buy = self._floor(lots[self.spot], min(total - held, buy)) if min(total - held, buy) > 0 else 0.0
        out: list[Order] = []
        if self._sendable(lots[self.spot], spot_buy, ctx.spot_price(self.spot, a), tol):
            out.append(Order(Operation.SPOT_TRADE, self.spot, spot_buy, a, Side.BUY, reason="raise spot to target"))
        return out + shorts

    def exit_full(self, ctx: StrategyContext) -> list[Order]:
        a = self.config.asset
        out = []
        lots = self._lots(ctx)
        if lots is not None:
            return self._exit_lots(ctx, lots)
        q = ctx.cash(self.spot, a)
        if q > 0:
            out.append(Order(Operation.SPOT_TRADE, self.spot, q, a, Side.SELL, reason="exit"))
        for v in self.perps:
            s = ctx.perp_size(v, a)
            if s < 0:
                out.append(Order(Operation.PERP_TRADE, v, -s, a, Side.BUY, reason="exit"))
        return out

    def _exit_lots(self, ctx: StrategyContext, lots: dict) -> list[Order]:
        """``exit_full`` on the lots: what rounds to a sendable order (dust below a lot stays)."""
        a = self.config.asset
        out = []
        q = self._floor(lots.get(self.spot), ctx.cash(self.spot, a))
        if q > 0 and self._sendable(lots.get(self.spot), q, ctx.spot_price(self.spot, a), 0.0):
            out.append(Order(Operation.SPOT_TRADE, self.spot, q, a, Side.SELL, reason="exit"))
        for v in self.perps:
            s = -self._floor(lots.get(v), -ctx.perp_size(v, a))
            if s < 0 and self._sendable(lots.get(v), -s, ctx.perp_mark(v, a), 0.0):
                out.append(Order(Operation.PERP_TRADE, v, -s, a, Side.BUY, reason="exit"))
        return out
