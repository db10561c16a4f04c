"""``pure_lending`` (USDT share class): all equity supplied to AAVE v3 USDT.

Economics: earns the USDT supply rate through the reserve's liquidity index, less gas for each
supply/withdraw. Over [t0, t1] with no flows: return = liquidityIndex(t1)/liquidityIndex(t0) - 1
on (capital - gas of the first supply).
"""

from __future__ import annotations

from typing import Literal

from basiskit.config.modes import ModeConfig
from basiskit.domain.actions import Action
from basiskit.domain.orders import Operation, Order
from basiskit.strategies.base import HOLD, BaseStrategy, Decision, Requirements
from basiskit.strategies.context import StrategyContext


class PureLendingConfig(ModeConfig):
    mode: Literal["pure_lending"] = "pure_lending"
    lending_venue: Literal["aave_v3"] = "aave_v3"
    token: Literal["USDT"] = "USDT"


class PureLending(BaseStrategy):
    config: PureLendingConfig
    wallet = "wallet"

    def requirements(self) -> Requirements:
        return Requirements(lending={self.config.lending_venue: [self.config.token]}, gas=True)

    def decide(self, ctx: StrategyContext) -> Decision:
        c = self.config
        cash = ctx.cash(self.wallet, c.token)
        need = ctx.pending_withdrawal_usd()
        if need > cash + 1e-9:
            return Decision(Action.EXIT_PARTIAL, self.exit_partial(ctx), f"withdrawal of {need:.2f} requested", trigger="withdrawal")
        idle = cash - need
        if idle > c.min_trade_usd and idle > c.min_trade_usd + ctx.gas_cost_usd(c.lending_venue, Operation.SUPPLY):
            first = ctx.supplied(c.lending_venue, c.token) == 0.0
            action = Action.ENTRY_FULL if first else Action.ENTRY_PARTIAL
            return Decision(action, self.entry_full(ctx), f"supply idle {cash - need:.2f} {c.token}", trigger="idle_cash")
        return HOLD

    # -- quiet stretches (engine.quiet) ----------------------------------------------------------------
    def quiet_now(self, ctx: StrategyContext) -> bool:
        """Whether :meth:`decide` holds whatever the prices do: no withdrawal to fund and no idle cash
        above ``min_trade_usd`` (then the gas price, the one thing that moves, cannot matter)."""
        c = self.config
        cash = ctx.cash(self.wallet, c.token)
        need = ctx.pending_withdrawal_usd()
        return not need > cash + 1e-9 and not cash - need > c.min_trade_usd

    def quiet_steps(self, ctx: StrategyContext, view) -> int:
        """All the steps of a quiet stretch when :meth:`quiet_now`, else none (balances are constant)."""
        return view.n if self.quiet_now(ctx) else 0

    def on_quiet(self, last_step: int) -> None:
        """Nothing to remember: the strategy keeps no state between steps."""
        return None

    def entry_full(self, ctx: StrategyContext) -> list[Order]:
        c = self.config
        amount = ctx.cash(self.wallet, c.token) - ctx.pending_withdrawal_usd() - ctx.gas_cost_usd(c.lending_venue, Operation.SUPPLY)
        return [Order(Operation.SUPPLY, c.lending_venue, amount, c.token, reason="supply idle cash")] if amount > 0 else []

    entry_partial = entry_full

    def exit_partial(self, ctx: StrategyContext) -> list[Order]:
        c = self.config
        short = ctx.pending_withdrawal_usd() - ctx.cash(self.wallet, c.token)
        amount = min(short + ctx.gas_cost_usd(c.lending_venue, Operation.WITHDRAW), ctx.supplied(c.lending_venue, c.token))
        return [Order(Operation.WITHDRAW, c.lending_venue, amount, c.token, reason="fund withdrawal")] if amount > 0 else []

    def exit_full(self, ctx: StrategyContext) -> list[Order]:
        c = self.config
        amount = ctx.supplied(c.lending_venue, c.token)
        return [Order(Operation.WITHDRAW, c.lending_venue, amount, c.token, reason="exit")] if amount > 0 else []
