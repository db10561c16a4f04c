"""Liquid-staking books: staked ETH, optionally levered on AAVE v3 in E-mode, optionally hedged with
ETH perpetual shorts. One strategy class; the modes (``lst_modes``) differ only in configuration.

Economics. With equity ``E`` (USD(T)), ETH price ``P``, target LTV ``t`` and, when hedged, CEX margin
fraction ``k`` (USDT margin / short notional):

* on-chain equity ``E_on = E / (1 + k)`` when hedged (the rest is perp margin), else ``E``;
* net on-chain ETH ``N = E_on / P``: LST collateral worth ``C = N / (1 - t)`` ETH and WETH debt
  ``D = N t / (1 - t)`` (with ``t = 0``: ``N`` ETH of LST held in the wallet, no AAVE);
* perp shorts ``-w_v N`` ETH on each venue (``hedge_allocation`` weights ``w_v``), margin ``k w_v N P``.

Yield: staking ``y`` and supply ``s`` on ``C``, borrow ``b`` on ``D``, i.e. ``(y + s - b t) / (1 - t)``
a year on ``E_on`` before costs, plus funding on the shorts when hedged, plus restaking rewards on
weETH. Risk: the LST/ETH exchange rate is the AAVE oracle, so an ETH price move does not change the
health factor of an LST/WETH loop; debt growing faster than the collateral does.

Entering and changing leverage is one atomic flash-loan transaction:
``flash_borrow WETH -> stake (wallet WETH + loan) -> supply LST -> borrow WETH -> flash_repay``; cutting
it is ``flash_borrow WETH -> repay -> withdraw LST -> swap LST->WETH (DEX, market rate) -> flash_repay``.

Rebalancing re-targets the whole book to the current equity when (priority order) a perp margin ratio
is below ``margin_ratio_floor``, |net delta| / equity exceeds ``delta_drift_threshold`` (hedged), the
LTV leaves ``target_ltv +/- ltv_band``, a perp margin ratio is above ``margin_ratio_ceiling`` (margin
both ways: what a winning short leaves idle goes back on chain), cash is idle (deposits, rewards sold,
a transfer that landed) or a withdrawal is pending. CEX <-> wallet transfers cost the source's
withdrawal fee and take time (``venues.sim.transfer``); while USDT is on its way to the wallet the
increase pass waits for it (no leverage or shorts added on money that is not there yet) and the cash
that lands re-triggers the re-target. A re-target that would trade on a perp whose price did not
trade at the step (a data gap) is deferred until the data resumes. A step runs in passes: reduce (cover shorts, cut leverage) -> move (CEX <-> wallet
transfers, WETH <-> USDT swaps) -> increase (lever up, add shorts), with targets frozen for the step.
Reward tokens worth more than ``dust_delta`` x equity are sold for WETH (``sell_dust``).
``reserve_ratio`` x equity stays in the wallet as share-class cash.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from basiskit.config.modes import ModeConfig, RiskConfig
from basiskit.domain.actions import Action
from basiskit.domain.orders import ExecutionMode, Operation, Order, Side
from basiskit.domain.tokens import ShareClass
from basiskit.strategies.base import HOLD, Decision, Requirements
from basiskit.strategies.categories.stateful import StatefulStrategy
from basiskit.strategies.context import StrategyContext
from basiskit.strategies.margin_reserve import MarginReserve
from basiskit.strategies.transfer_rules import MARGIN_TOLERANCE, MAX_FEE_SHARE, margin_tolerance, worth_sending

WALLET = "wallet"
AAVE = "aave_v3"  # default lending account (``lending_venue``)
WETH = "WETH"
USDT = "USDT"
REWARD_TOKENS = ("EIGEN", "ETHFI")
STAKING_ACCOUNT = {"weETH": "etherfi", "wstETH": "lido"}
LstMode = Literal["eth_staking_only", "eth_leveraged", "eth_leveraged_restaking", "usdt_market_neutral_no_leverage",
                  "usdt_market_neutral"]


class LstConfig(ModeConfig):
    mode: LstMode
    lst_type: Literal["weETH", "wstETH"] = Field(default="weETH", description="LST staked and used as collateral")
    target_ltv: float = Field(default=0.0, ge=0, lt=0.95, description="AAVE debt / collateral target (0 = no leverage)")
    ltv_band: float = Field(default=0.02, gt=0, description="re-target when |LTV - target| exceeds this")
    hedge: bool = Field(default=False, description="short ETH perps equal to the net ETH exposure")
    hedge_allocation: dict[str, float] = Field(default_factory=lambda: {"binance": 0.5, "bybit": 0.5},
                                               description="perp venue -> share of the short (sums to 1)")
    perp_margin_fraction: float = Field(default=0.5, gt=0, le=2, description="USDT margin / short notional")
    delta_drift_threshold: float = Field(default=0.02, gt=0, description="|net delta| / equity that triggers a rebalance")
    margin_ratio_floor: float = Field(default=0.25, gt=0, description="perp margin ratio that triggers a re-target")
    margin_ratio_ceiling: float = Field(default=0.6, gt=0, description="perp margin ratio above which the excess "
                                                                         "margin goes back on chain")
    rebalance: bool = True
    rewards: Literal["base_only", "base_and_restaking"] = Field(default="base_only",
                                                                description="credit EIGEN/ETHFI restaking rewards (weETH)")
    include_estimated_rewards: bool = Field(default=False, description="also credit rows the data marks as estimates")
    dust_delta: float = Field(default=0.001, ge=0, description="sell reward tokens worth more than this x equity")
    reserve_ratio: float = Field(default=0.0, ge=0, lt=1, description="share-class cash kept in the wallet / equity")
    gas_reserve_eth: float = Field(default=0.05, ge=0, description="WETH kept in the wallet for gas")
    onchain_min_trade_fraction: float = Field(default=0.002, ge=0,
                                              description="smallest on-chain adjustment worth its gas, fraction of equity")
    lending_venue: str = Field(default=AAVE, description="AAVE v3 account of the loop (its venue file: "
                               "basiskit/configs/venues/<name>.yaml; aave_v3 -> aave_v3_ethereum.yaml)")
    staking_venue: str | None = Field(default=None, description="staking account that mints the LST (default: "
                                      "etherfi for weETH, lido for wstETH)")
    margin_reserve: Literal["none", "aave_usdt"] = Field(
        default="none", description="aave_usdt: margin above the ceiling is parked as a USDT supply on AAVE v3 and "
                                    "tops up margin below the floor, instead of resizing the levered loop "
                                    "(strategies.margin_reserve)")
    deploy_min_fraction: float = Field(default=0.01, ge=0,
                                       description="idle cash below this share of equity waits (each deployment is a "
                                                   "flash-loan transaction with its gas and swap costs)")
    risk: RiskConfig = Field(default_factory=lambda: RiskConfig(override=True))

    @field_validator("hedge_allocation")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must be >= 0")
        if v and abs(sum(v.values()) - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got {sum(v.values())}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "LstConfig":
        if self.hedge and self.share_class is not ShareClass.USDT:
            raise ValueError("hedge: perp shorts hedge a USDT book; use share_class USDT")
        if self.rewards == "base_and_restaking" and self.lst_type != "weETH":
            raise ValueError("rewards: restaking rewards are paid on weETH only (lst_type weETH)")
        if self.margin_reserve != "none" and not (self.hedge and self.target_ltv > 0):
            raise ValueError("margin_reserve: a reserve on AAVE needs a hedged, levered book (hedge and target_ltv > 0)")
        if self.hedge and not self.margin_ratio_floor < self.perp_margin_fraction < self.margin_ratio_ceiling:
            raise ValueError(f"margin_ratio_floor ({self.margin_ratio_floor}) < perp_margin_fraction "
                             f"({self.perp_margin_fraction}) < margin_ratio_ceiling ({self.margin_ratio_ceiling}) must hold")
        return self


class LstBook(StatefulStrategy):
    config: LstConfig

    def __init__(self, config: LstConfig) -> None:
        super().__init__(config)
        c = config
        self.lst = c.lst_type
        self.staking = c.staking_venue or STAKING_ACCOUNT[c.lst_type]
        self.aave = c.lending_venue
        self.levered = c.target_ltv > 0
        self.usdt = c.share_class is ShareClass.USDT
        self.cash_token = USDT if self.usdt else WETH
        self.perps = {f"{v}.perp": w for v, w in c.hedge_allocation.items() if w > 0} if c.hedge else {}
        self.entered = False
        self._step = -1
        self._targets: dict | None = None
        self._action = Action.HOLD
        self._reason = ""
        self._why = ""
        self._plan = "retarget"  # or a MarginReserve move: release, park, top_up
        self._quiet_noop = None  # a quiet stretch's margin-ceiling steps that send nothing (quiet_steps)
        self._group = 0
        self.reserve = (MarginReserve(self.aave, WALLET, list(self.perps), c.perp_margin_fraction, c.min_trade_usd)
                        if c.margin_reserve == "aave_usdt" else None)

    # -- state ----------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The strategy's own state, JSON-able: entered, the step's frozen targets (ETH units; margins in
        USDT), action and plan, the atomic-group counter and the margin reserve's pending USDT."""
        return {"entered": self.entered, "step": self._step,
                "targets": None if self._targets is None else dict(self._targets),
                "action": self._action.value, "reason": self._reason, "trigger": self._why, "plan": self._plan,
                "group": self._group, "reserve_pending": self.reserve.pending if self.reserve is not None else None}

    def restore(self, state: dict) -> None:
        """Back to a :meth:`snapshot`. Raises KeyError on a missing field."""
        self.entered, self._step = bool(state["entered"]), int(state["step"])
        self._targets = None if state["targets"] is None else dict(state["targets"])
        self._action, self._reason, self._why = Action(state["action"]), state["reason"], state["trigger"]
        self._plan, self._group = state["plan"], int(state["group"])
        if self.reserve is not None:
            self.reserve.pending = float(state["reserve_pending"] or 0.0)

    def requirements(self) -> Requirements:
        c = self.config
        pools = [f"{self.lst}WETH"]
        if self.usdt:
            pools.append("WETHUSDT")
        tokens = [WETH, self.lst]
        restaking = c.rewards == "base_and_restaking"
        if restaking:
            tokens += list(REWARD_TOKENS)
            pools += [f"{t}WETH" for t in REWARD_TOKENS]
        return Requirements(
            perp={p: ["ETH"] for p in self.perps},
            lending={self.aave: [self.lst, *([USDT] if self.reserve else [])]} if self.levered else {},
            borrowing={self.aave: [WETH]} if self.levered else {},
            emode=(self.aave,) if self.levered else (),
            staking=(self.staking,),
            dex_pools=tuple(pools),
            onchain_tokens=tuple(tokens),
            restaking_rewards=restaking,
            include_estimated_rewards=c.include_estimated_rewards,
            gas=True,
            gas_token=WETH,
        )

    # -- readings -------------------------------------------------------------------------------------
    def _positions(self, ctx: StrategyContext) -> tuple[float, float]:
        """(collateral in ETH, debt in ETH) of the LST position (wallet LST when unlevered)."""
        r = ctx.eth_per_unit(self.lst)
        if self.levered:
            return ctx.supplied(self.aave, self.lst) * r + ctx.cash(WALLET, self.lst) * r, ctx.borrowed(self.aave, WETH)
        return ctx.cash(WALLET, self.lst) * r, 0.0

    def _pending_usd(self, ctx: StrategyContext) -> float:
        p = ctx.pending_withdrawal_usd()
        return p if self.usdt else p * ctx.eth_usd()

    def _reward_value_usd(self, ctx: StrategyContext) -> float:
        if self.config.rewards != "base_and_restaking":
            return 0.0
        v = 0
        for t in REWARD_TOKENS:
            q = ctx.cash(WALLET, t)
            if q > 0:
                v += q * ctx.price_usd(t)
        return v

    def _ltv(self, ctx: StrategyContext) -> float:
        """LTV of the LST loop (the account's when nothing else is supplied)."""
        if self.reserve is None:
            return ctx.ltv(self.aave)
        coll, debt = self._positions(ctx)
        return debt / coll if coll > 0 else 0.0

    def _trigger(self, ctx: StrategyContext) -> tuple[Action, str, str] | None:
        c = self.config
        self._plan = "retarget"
        if not self.entered:
            return Action.ENTRY_FULL, "initial entry", "initial_entry"
        eq = ctx.equity_usd()
        if self._reward_value_usd(ctx) > c.dust_delta * eq > 0:
            return Action.SELL_DUST, "reward tokens above dust threshold", "sell_dust"
        pending = ctx.pending_withdrawal_usd()
        cash = ctx.cash(WALLET, self.cash_token)
        if pending > cash + ctx.in_transit(WALLET, self.cash_token) + 1e-9:
            return Action.EXIT_PARTIAL, f"withdrawal of {pending:.6g} {self.cash_token} requested", "withdrawal"
        if self.reserve is not None and self.reserve.pending and not ctx.in_transit(WALLET):
            self._plan = "park"
            return Action.ENTRY_PARTIAL, f"park {self.reserve.pending:.2f} USDT of released margin on AAVE", "margin_ceiling"
        p = ctx.eth_usd()
        min_usd = max(c.min_trade_usd * 2, 2.0, c.deploy_min_fraction * eq)
        idle_usd = (cash - pending) * (1.0 if self.usdt else p) - c.reserve_ratio * eq
        if self.usdt:
            idle_usd += max(0.0, ctx.cash(WALLET, WETH) - c.gas_reserve_eth) * p
        else:
            idle_usd -= c.gas_reserve_eth * p
        if idle_usd > min_usd:
            return Action.ENTRY_PARTIAL, f"deploy {idle_usd:.2f} USD of idle cash", "idle_cash"
        if c.reserve_ratio and -idle_usd > 0.5 * c.reserve_ratio * eq:
            return Action.EXIT_PARTIAL, f"cash reserve {c.reserve_ratio * eq + idle_usd:.2f} USD below half its target", "reserve_low"
        if not c.rebalance:
            return None
        for v in self.perps:
            mr = ctx.margin_ratio(v)
            if mr is not None and mr < c.margin_ratio_floor:
                if self.reserve is not None and self.reserve.balance(ctx) >= self.reserve.top_up_need(ctx):
                    self._plan = "top_up"
                return Action.EXIT_PARTIAL, f"margin ratio {mr:.4f} on {v} below {c.margin_ratio_floor}", "margin_floor"
        if self.perps and eq > 0:
            drift = ctx.net_delta_usd() / eq
            if abs(drift) > c.delta_drift_threshold:
                return Action.ENTRY_PARTIAL if drift < 0 else Action.EXIT_PARTIAL, f"delta drift {drift:+.4f} of equity", "delta_drift"
        if self.levered:
            ltv = self._ltv(ctx)
            if abs(ltv - c.target_ltv) > c.ltv_band:
                return (Action.EXIT_PARTIAL if ltv > c.target_ltv else Action.ENTRY_PARTIAL,
                        f"LTV {ltv:.4f} outside {c.target_ltv} +/- {c.ltv_band}", "ltv_band")
        if self.perps and not ctx.in_transit(WALLET) and not self._perp_margin_moving(ctx):
            for v in self.perps:
                mr = ctx.margin_ratio(v)
                if mr is not None and mr > c.margin_ratio_ceiling:
                    if self.reserve is not None:
                        self._plan = "release"
                    return Action.ENTRY_PARTIAL, f"margin ratio {mr:.4f} on {v} above ceiling {c.margin_ratio_ceiling}", "margin_ceiling"
        return None

    def _perp_margin_moving(self, ctx: StrategyContext) -> bool:
        """Whether USDT is on its way to any perp account."""
        for v in self.perps:
            if ctx.in_transit(v):
                return True
        return False

    # -- quiet stretches (engine.quiet) ----------------------------------------------------------------
    def quiet_now(self, ctx: StrategyContext) -> bool:
        """Whether the strategy holds with the balances as they are (the conditions of :meth:`_trigger`
        that do not move with prices): entered, decided at this step, no
        withdrawal to pay, no released margin to park, nothing in transit."""
        if not self.entered or self._step != ctx.step:
            return False
        pending = ctx.pending_withdrawal_usd()
        cash = ctx.cash(WALLET, self.cash_token)
        if pending > cash + ctx.in_transit(WALLET, self.cash_token) + 1e-9:
            return False
        if self.reserve is not None and self.reserve.pending:
            return False
        return not ctx.in_transit(WALLET) and not self._perp_margin_moving(ctx)

    def quiet_steps(self, ctx: StrategyContext, view) -> int:
        """How many leading steps of a quiet stretch ``view`` (``engine.quiet.QuietView``) :meth:`_trigger`
        returns None on: its price-moved conditions (idle cash and cash reserve against equity, margin
        ratios, delta drift, LTV band) in arrays, with the same arithmetic."""
        self._quiet_noop = None
        if not self.quiet_now(ctx):
            return 0
        c = self.config
        n = view.n
        eq = view.equity_usd
        pending = ctx.pending_withdrawal_usd()
        cash = ctx.cash(WALLET, self.cash_token)
        p = view.prices.eth_usd[:n]
        min_usd = np.maximum(max(c.min_trade_usd * 2, 2.0), c.deploy_min_fraction * eq)
        idle_usd = (cash - pending) * (1.0 if self.usdt else p) - c.reserve_ratio * eq
        if self.usdt:
            idle_usd = idle_usd + max(0.0, ctx.cash(WALLET, WETH) - c.gas_reserve_eth) * p
        else:
            idle_usd = idle_usd - c.gas_reserve_eth * p
        fire = idle_usd > min_usd
        if c.rewards == "base_and_restaking":  # reward tokens worth more than the dust threshold
            value = 0
            for t in REWARD_TOKENS:
                q = ctx.cash(WALLET, t)
                if q > 0:
                    value = value + q * view.prices.usd(t)[:n]
            dust = c.dust_delta * eq
            fire |= (value > dust) & (dust > 0)
        if c.reserve_ratio:
            fire |= -idle_usd > 0.5 * c.reserve_ratio * eq
        if c.rebalance:
            for v in self.perps:
                fire |= view.margin_ratios[v] < c.margin_ratio_floor
            if self.perps:
                drift = np.divide(view.net_delta_usd, eq, out=np.zeros(n), where=eq > 0)
                fire |= (eq > 0) & (np.abs(drift) > c.delta_drift_threshold)
            if self.levered:
                ltv = self._quiet_ltv(ctx, view)
                fire |= np.abs(ltv - c.target_ltv) > c.ltv_band
            above = np.zeros(n, dtype=bool)
            first = np.full(n, -1)  # the first perp above the ceiling: the one the trigger names
            for j, v in enumerate(self.perps):
                over = view.margin_ratios[v] > c.margin_ratio_ceiling
                first = np.where(over & ~above, j, first)
                above |= over
            if self.reserve is not None and not any(not ctx.price_live(v, "ETH") for v in self.perps):
                # above the ceiling with a margin reserve: the step releases margin, or holds when no
                # transfer is worth sending (then it only leaves the trigger's reason behind)
                noop = above & ~self._release_sends(ctx, view) & ~fire
                fire |= above & ~noop
                self._quiet_noop = (ctx.step + 1, noop, first, view)
            else:
                fire |= above
        hit = np.flatnonzero(fire)
        return int(hit[0]) if hit.size else n

    def _release_sends(self, ctx: StrategyContext, view):
        """Per step of a quiet stretch: whether ``MarginReserve.release`` would send any transfer."""
        r, n = self.reserve, view.n
        sends = np.zeros(n, dtype=bool)
        for v in self.perps:
            acc = view.accounts[v]
            target = r.k * abs(ctx.perp_size(v, r.asset)) * acc.mark[:n]
            gap = acc.value_usd[:n] + ctx.in_transit(v) - target
            fee = ctx.transfer_fee(v, r.wallet)
            amt = np.minimum(gap, acc.withdrawable[:n] - fee)
            sends |= ((np.abs(gap) > np.maximum(r.min_trade, MARGIN_TOLERANCE * target)) & (gap > 0)
                      & (amt > r.min_trade) & (fee <= MAX_FEE_SHARE * amt))
        return sends

    def _quiet_ltv(self, ctx: StrategyContext, view):
        """:meth:`_ltv` per step of a quiet stretch."""
        n = view.n
        if self.reserve is None:
            return view.ltvs[self.aave]
        aave = view.accounts[self.aave]
        r = view.prices.eth(self.lst)[:n]
        coll = aave.supplied[self.lst][:n] * r + ctx.cash(WALLET, self.lst) * r
        debt = aave.borrowed[WETH][:n] if WETH in aave.borrowed else np.zeros(n)
        return np.divide(debt, coll, out=np.zeros(n), where=coll > 0)

    def on_quiet(self, last_step: int) -> None:
        """The quiet steps up to ``last_step`` passed (each would have held; a margin-ceiling step that
        sent nothing leaves its trigger's action, reason and plan, as it does when stepped)."""
        self._step = last_step
        self._targets = None
        self._plan = "retarget"
        q, self._quiet_noop = self._quiet_noop, None
        if q is None:
            return
        lo, noop, first, view = q
        k = last_step - lo + 1
        hits = np.flatnonzero(noop[:k])
        if hits.size:
            x = int(hits[-1])
            v = list(self.perps)[int(first[x])]
            mr = float(view.margin_ratios[v][x])
            self._action, self._why = Action.ENTRY_PARTIAL, "margin_ceiling"
            self._reason = f"margin ratio {mr:.4f} on {v} above ceiling {self.config.margin_ratio_ceiling}"
            if x == k - 1:
                self._plan = "release"

    # -- decision -------------------------------------------------------------------------------------
    def decide(self, ctx: StrategyContext) -> Decision:
        if ctx.step != self._step:
            self._step = ctx.step
            trig = self._trigger(ctx)
            if trig is None:
                self._targets = None
                return HOLD
            self._action, self._reason, self._why = trig
            stale = [v for v in self.perps if not ctx.price_live(v, "ETH")]
            if stale and self._action is not Action.SELL_DUST:
                self._targets = None
                return Decision(self._action, [], f"{self._reason}: deferred, no traded price on {', '.join(stale)}",
                                deferred=True, trigger=self._why)
            self._targets = None if self._action is Action.SELL_DUST or self._plan != "retarget" else self._compute_targets(ctx)
        if self._plan != "retarget":  # a margin-reserve move: the book itself stays as it is
            orders = getattr(self.reserve, self._plan)(ctx)
            return Decision(self._action, orders, self._reason, trigger=self._why) if orders else HOLD
        if self._action is Action.SELL_DUST:
            orders = self.sell_dust(ctx)
            if orders:
                return Decision(Action.SELL_DUST, orders, self._reason, trigger=self._why)
            self._action, self._reason, self._why = Action.ENTRY_PARTIAL, "deploy proceeds of reward sales", "idle_cash"
            self._targets = self._compute_targets(ctx)
        if self._targets is None:
            return HOLD
        # deploying idle cash only adds: re-leveling the rest of the book at this step's price would pay
        # gas and swap costs for moves within tolerance
        reduce = [] if self._why == "idle_cash" else self._reduce(ctx)
        orders = reduce or self._move(ctx) or self._increase(ctx)
        if not orders:
            self._targets = None
            self.entered = True
            return HOLD
        return Decision(self._action, orders, self._reason, trigger=self._why)

    def _compute_targets(self, ctx: StrategyContext, scale: float = 1.0) -> dict:
        c = self.config
        p = ctx.eth_usd()
        eq = ctx.equity_usd()
        e = max(0.0, eq - self._pending_usd(ctx) - c.reserve_ratio * eq - c.gas_reserve_eth * p) * scale
        k = c.perp_margin_fraction if self.perps else 0.0
        # costs of getting there are small against the tolerances; the next re-target absorbs them
        n = e / (1 + k) / p
        t = c.target_ltv
        return {
            "collateral_eth": n / (1 - t),
            "debt_eth": n * t / (1 - t),
            "shorts": {v: -w * n for v, w in self.perps.items()},
            "margins": {v: k * w * n * p for v, w in self.perps.items()},
            "net_eth": n,
        }

    def _tol_eth(self, ctx: StrategyContext) -> float:
        """Smallest on-chain or perp adjustment, ETH: min_trade_usd or onchain_min_trade_fraction x equity."""
        c = self.config
        return max(c.min_trade_usd, 1.0, c.onchain_min_trade_fraction * ctx.equity_usd()) / ctx.eth_usd()

    def _gid(self, ctx: StrategyContext, what: str) -> str:
        self._group += 1
        return f"{what}-{ctx.step}-{self._group}"

    # -- reduce ---------------------------------------------------------------------------------------
    def _reduce(self, ctx: StrategyContext) -> list[Order]:
        tg = self._targets
        tol = self._tol_eth(ctx)
        out: list[Order] = []
        for v, target in tg["shorts"].items():
            cover = target - ctx.perp_size(v, "ETH")
            if cover > tol:
                out.append(Order(Operation.PERP_TRADE, v, cover, "ETH", Side.BUY, reason="reduce short to target"))
        coll, debt = self._positions(ctx)
        if coll - tg["collateral_eth"] > tol or debt - tg["debt_eth"] > tol:
            out += self._delever(ctx, max(0.0, debt - tg["debt_eth"]), max(0.0, coll - tg["collateral_eth"]))
        return out

    def _delever(self, ctx: StrategyContext, repay_eth: float, release_eth: float) -> list[Order]:
        """Cut debt by ``repay_eth`` and collateral by at least ``release_eth`` (ETH worth); one atomic
        transaction when levered (flash loan unless the wallet can repay), a DEX sale otherwise."""
        lst, r = self.lst, ctx.eth_per_unit(self.lst)
        mkt = ctx.pool_price(lst, WETH)
        cost = ctx.swap_cost_rate(lst, WETH, release_eth * ctx.eth_usd())
        if not self.levered:
            units = min(release_eth / r, ctx.cash(WALLET, lst))
            return [Order(Operation.SWAP, "dex", units, lst, Side.SELL, quote=WETH, reason="sell LST above target")] if units > 0 else []
        fee = ctx.flash_fee_rate(self.aave)
        # borrow what the wallet's WETH above the gas reserve cannot repay (also refills a spent reserve)
        flash = max(0.0, repay_eth - (ctx.cash(WALLET, WETH) - self.config.gas_reserve_eth)) if repay_eth > 0 else 0.0
        need_units = flash * (1 + fee) / (mkt * (1 - cost)) * (1 + 1e-6)
        supplied = ctx.supplied(self.aave, lst)
        units = min(max(release_eth / r, need_units), supplied)
        gid = self._gid(ctx, "delever")
        legs: list[tuple[Operation, str, float, str, Side | None]] = []
        if flash > 0:
            legs.append((Operation.FLASH_BORROW, self.aave, flash, WETH, None))
        if repay_eth > 0:
            legs.append((Operation.REPAY, self.aave, repay_eth, WETH, None))
        if units > 0:
            legs.append((Operation.WITHDRAW, self.aave, units, lst, None))
            legs.append((Operation.SWAP, "dex", units, lst, Side.SELL))
        if flash > 0:
            legs.append((Operation.FLASH_REPAY, self.aave, flash * (1 + fee), WETH, None))
        return [Order(op, venue, amt, tok, side, quote=WETH if op is Operation.SWAP else USDT,
                      execution_mode=ExecutionMode.ATOMIC, atomic_group_id=gid, sequence_in_group=k,
                      reason="cut leverage to target") for k, (op, venue, amt, tok, side) in enumerate(legs)]

    # -- move -----------------------------------------------------------------------------------------
    def _moving(self, ctx: StrategyContext) -> bool:
        """Whether USDT is on its way between the book's accounts: buying, levering and shorting wait for it."""
        return ctx.in_transit(WALLET) > 0.0 or any(ctx.in_transit(v) > 0.0 for v in self.perps)

    def _move(self, ctx: StrategyContext) -> list[Order]:
        if not self.usdt:
            return []
        c, tg = self.config, self._targets
        p = ctx.eth_usd()
        min_usd = c.min_trade_usd
        out: list[Order] = []
        wallet_usdt = ctx.cash(WALLET, USDT) - ctx.pending_withdrawal_usd() - c.reserve_ratio * ctx.equity_usd()
        deficits: dict[str, float] = {}
        if self.reserve is not None:  # a full re-target redeploys the margin reserve with the rest
            freed = self.reserve.withdraw_all(ctx)
            out += freed
            wallet_usdt += sum(o.amount for o in freed)
        for v, target in tg["shorts"].items():
            add = abs(target - ctx.perp_size(v, "ETH")) * ctx.perp_mark(v, "ETH") * ctx.cost_rate(v)
            gap = ctx.margin_balance(v) + ctx.in_transit(v) - tg["margins"][v] - add
            tol = margin_tolerance(tg["margins"][v], min_usd)
            if gap > tol:
                fee = ctx.transfer_fee(v, WALLET)
                amt = min(gap, ctx.withdrawable(v) - fee)
                if worth_sending(amt, fee, min_usd):
                    out.append(Order(Operation.TRANSFER, v, amt, USDT, to_venue=WALLET, reason="release surplus margin"))
                    if not ctx.transfer_delay_s(v, WALLET):  # usable in this step only if it lands at once
                        wallet_usdt += amt
            elif gap < -tol:
                deficits[v] = -gap
        coll, debt = self._positions(ctx)
        onchain_short = max(0.0, (tg["collateral_eth"] - coll) - (tg["debt_eth"] - debt))  # ETH to put on-chain
        weth_target = c.gas_reserve_eth + onchain_short
        weth_gap = ctx.cash(WALLET, WETH) - weth_target
        swap_min = max(min_usd, c.gas_reserve_eth * p)  # the gas buffer absorbs smaller gaps (each swap burns gas)
        if weth_gap * p > swap_min:
            sell = weth_gap
            out.append(Order(Operation.SWAP, "dex", sell, WETH, Side.SELL, quote=USDT, reason="WETH above target to USDT"))
            wallet_usdt += sell * ctx.pool_price(WETH, USDT) * (1 - ctx.swap_cost_rate(WETH, USDT, sell * p))
        for v, need in sorted(deficits.items(), key=lambda kv: -kv[1]):
            fee = ctx.transfer_fee(WALLET, v)
            amt = min(need, wallet_usdt - fee)
            if worth_sending(amt, fee, min_usd):
                out.append(Order(Operation.TRANSFER, WALLET, amt, USDT, to_venue=v, reason="top up margin"))
                wallet_usdt -= amt + fee
        if weth_gap * p < -swap_min and wallet_usdt > min_usd and not self._moving(ctx):
            px = ctx.pool_price(WETH, USDT)
            cost = ctx.swap_cost_rate(WETH, USDT, -weth_gap * px)
            qty = min(-weth_gap, wallet_usdt / (px * (1 + cost) * (1 + 1e-9)))
            out.append(Order(Operation.SWAP, "dex", qty, WETH, Side.BUY, quote=USDT, reason="buy WETH to stake"))
        return out

    # -- increase -------------------------------------------------------------------------------------
    def _increase(self, ctx: StrategyContext) -> list[Order]:
        c, tg = self.config, self._targets
        tol = self._tol_eth(ctx)
        if self._moving(ctx):
            return []  # wait for the money on its way; its arrival re-triggers the re-target (idle cash)
        out: list[Order] = []
        coll, debt = self._positions(ctx)
        reserve_weth = c.gas_reserve_eth
        if not self.usdt:
            reserve_weth += ctx.pending_withdrawal_usd() + c.reserve_ratio * ctx.equity_usd() / ctx.eth_usd()
        free = max(0.0, ctx.cash(WALLET, WETH) - reserve_weth)
        add_debt = max(0.0, tg["debt_eth"] - debt)
        add_coll = tg["collateral_eth"] - coll
        if add_coll > tol:
            fee = ctx.flash_fee_rate(self.aave) if self.levered else 0.0
            own = min(free, max(0.0, add_coll - add_debt / (1 + fee)))
            add_debt = add_debt if add_debt > tol else 0.0
            if own > tol or add_debt > 0:  # else the gap is costs already paid: nothing worth a transaction
                out += self._lever_up(ctx, own, add_debt)
        for v, target in tg["shorts"].items():
            add = ctx.perp_size(v, "ETH") - target
            if add > tol:
                out.append(Order(Operation.PERP_TRADE, v, add, "ETH", Side.SELL, reason="raise short to target"))
        return out

    def _lever_up(self, ctx: StrategyContext, free_weth: float, add_debt: float) -> list[Order]:
        """Stake ``free_weth`` (+ a flash loan repaid by borrowing ``add_debt``) and supply the LST."""
        lst = self.lst
        if not self.levered:
            return [Order(Operation.STAKE, self.staking, free_weth, WETH, reason="stake idle WETH")] if free_weth > 0 else []
        fee = ctx.flash_fee_rate(self.aave)
        flash = add_debt / (1 + fee)
        stake = free_weth + flash
        r = ctx.eth_per_unit(lst)
        supply = stake / r * (1 - 1e-9) + ctx.cash(WALLET, lst)
        gid = self._gid(ctx, "lever")
        legs: list[tuple[Operation, str, float, str]] = []
        if flash > 0:
            legs.append((Operation.FLASH_BORROW, self.aave, flash, WETH))
        if stake > 0:
            legs.append((Operation.STAKE, self.staking, stake, WETH))
        if supply > 0:
            legs.append((Operation.SUPPLY, self.aave, supply, lst))
        if flash > 0:
            legs.append((Operation.BORROW, self.aave, flash * (1 + fee), WETH))
            legs.append((Operation.FLASH_REPAY, self.aave, flash * (1 + fee), WETH))
        return [Order(op, venue, amt, tok, execution_mode=ExecutionMode.ATOMIC, atomic_group_id=gid, sequence_in_group=k,
                      reason="lever up to target") for k, (op, venue, amt, tok) in enumerate(legs)]

    # -- standard actions -----------------------------------------------------------------------------
    def entry_full(self, ctx: StrategyContext) -> list[Order]:
        return self.decide(ctx).orders

    def entry_partial(self, ctx: StrategyContext) -> list[Order]:
        return self.decide(ctx).orders

    def exit_partial(self, ctx: StrategyContext) -> list[Order]:
        """Risk reduction (also the risk override's): re-target to the current equity, then cover shorts on
        venues whose margin ratio is below the floor in proportion; reduce and move passes only."""
        if self._step != ctx.step or self._targets is None:
            self._step = ctx.step
            self._targets = self._compute_targets(ctx)
            for v in self.perps:
                mr = ctx.margin_ratio(v)
                if mr is not None and mr < self.config.margin_ratio_floor:
                    self._targets["shorts"][v] = ctx.perp_size(v, "ETH") * max(mr, 0.0) / self.config.margin_ratio_floor
        return self._reduce(ctx) or self._move(ctx)

    def exit_full(self, ctx: StrategyContext) -> list[Order]:
        """Close everything: cover all shorts, repay all debt and sell all LST for WETH (one flash-loan
        transaction when levered)."""
        out: list[Order] = []
        for v in self.perps:
            s = ctx.perp_size(v, "ETH")
            if s < 0:
                out.append(Order(Operation.PERP_TRADE, v, -s, "ETH", Side.BUY, reason="exit"))
        coll, debt = self._positions(ctx)
        if self.reserve is not None:
            out += self.reserve.withdraw_all(ctx)
        if coll > 0 or debt > 0:
            if self.levered:
                out += self._delever(ctx, debt, coll)
            elif ctx.cash(WALLET, self.lst) > 0:
                out.append(Order(Operation.SWAP, "dex", ctx.cash(WALLET, self.lst), self.lst, Side.SELL, quote=WETH,
                                 reason="exit"))
        return out

    def sell_dust(self, ctx: StrategyContext) -> list[Order]:
        """Sell reward tokens (EIGEN, ETHFI) for WETH when worth more than ``dust_delta`` x equity."""
        eq = ctx.equity_usd()
        out = []
        for tok in REWARD_TOKENS:
            q = ctx.cash(WALLET, tok) if self.config.rewards == "base_and_restaking" else 0.0
            if q > 0 and q * ctx.price_usd(tok) > self.config.dust_delta * eq:
                out.append(Order(Operation.SWAP, "dex", q, tok, Side.SELL, quote=WETH, reason="sell reward tokens"))
        return out
