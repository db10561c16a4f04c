"""A USDT margin reserve on AAVE v3: CEX margin kept near its target without resizing the book.

A hedged book's perp margin drifts with the price: a short that wins piles up margin (idle: a CEX
pays nothing on it), a short that loses eats it. Re-targeting the whole book each time is expensive
when the yield leg is a levered LST loop (a DEX sale of the LST at its market discount, flash-loan
fees, gas). With a reserve:

* **release** (a venue's margin ratio above the ceiling): every venue's margin above
  ``k x notional`` (``k`` = the mode's ``perp_margin_fraction``, beyond the shared tolerance of
  ``transfer_rules``) is sent to the on-chain wallet, and once it has landed it is **parked**:
  supplied to AAVE v3 as USDT, where it earns the USDT supply rate (the liquidity index) and adds
  to the account's collateral;
* **top up** (a margin ratio below the floor): USDT is withdrawn from the reserve and sent to every
  venue below ``k x notional``, if the reserve holds enough; otherwise the mode re-targets the book;
* a full re-target (deposits, withdrawals, delta drift, LTV band) withdraws the reserve and
  deploys it with the rest of the equity.

The reserve never changes the book's delta (no perp or on-chain ETH position moves). Amounts are
USDT; each method returns the orders of one pass (empty: nothing left to do).
"""

from __future__ import annotations

from basiskit.domain.orders import Operation, Order
from basiskit.strategies.context import StrategyContext
from basiskit.strategies.transfer_rules import margin_tolerance, worth_sending

USDT = "USDT"


class MarginReserve:
    def __init__(self, aave: str, wallet: str, perps: list[str], margin_fraction: float, min_trade_usd: float,
                 asset: str = "ETH") -> None:
        self.aave, self.wallet, self.perps = aave, wallet, list(perps)
        self.k = margin_fraction
        self.min_trade = min_trade_usd
        self.asset = asset
        self.pending = 0.0  # USDT released from margin and not yet parked

    def balance(self, ctx: StrategyContext) -> float:
        """USDT in the reserve (aToken balance)."""
        return ctx.supplied(self.aave, USDT)

    def _gaps(self, ctx: StrategyContext) -> dict[str, float]:
        """Per venue: margin balance (+ in transit) - k x notional, USDT; venues within tolerance left out."""
        out = {}
        for v in self.perps:
            target = self.k * abs(ctx.perp_size(v, self.asset)) * ctx.perp_mark(v, self.asset)
            gap = ctx.margin_balance(v) + ctx.in_transit(v) - target
            if abs(gap) > margin_tolerance(target, self.min_trade):
                out[v] = gap
        return out

    def release(self, ctx: StrategyContext) -> list[Order]:
        out = []
        for v, gap in self._gaps(ctx).items():
            fee = ctx.transfer_fee(v, self.wallet)
            amt = min(gap, ctx.withdrawable(v) - fee)
            if gap > 0 and worth_sending(amt, fee, self.min_trade):
                out.append(Order(Operation.TRANSFER, v, amt, USDT, to_venue=self.wallet, reason="release excess margin"))
                self.pending += amt
        return out

    def park(self, ctx: StrategyContext) -> list[Order]:
        """Supply the released USDT that has landed in the wallet."""
        amt = min(self.pending, ctx.cash(self.wallet, USDT) - ctx.pending_withdrawal_usd())
        self.pending = 0.0
        if amt > self.min_trade:
            return [Order(Operation.SUPPLY, self.aave, amt, USDT, reason="park released margin in the reserve")]
        return []

    def top_up_need(self, ctx: StrategyContext) -> float:
        """USDT (fees included) the venues below target need."""
        return sum(-gap + ctx.transfer_fee(self.wallet, v) for v, gap in self._gaps(ctx).items() if gap < 0)

    def top_up(self, ctx: StrategyContext) -> list[Order]:
        """One pass: withdraw from the reserve what the wallet lacks, else send it to the venues."""
        need = self.top_up_need(ctx)
        cash = ctx.cash(self.wallet, USDT) - ctx.pending_withdrawal_usd()
        if need > cash + self.min_trade:
            amt = min(need - max(cash, 0.0), self.balance(ctx))
            return [Order(Operation.WITHDRAW, self.aave, amt, USDT, reason="margin from the reserve")] if amt > 0 else []
        out = []
        for v, gap in sorted(self._gaps(ctx).items(), key=lambda kv: kv[1]):
            fee = ctx.transfer_fee(self.wallet, v)
            amt = min(-gap, cash - fee)
            if gap < 0 and worth_sending(amt, fee, self.min_trade):
                out.append(Order(Operation.TRANSFER, self.wallet, amt, USDT, to_venue=v, reason="top up margin from the reserve"))
                cash -= amt + fee
        return out

    def withdraw_all(self, ctx: StrategyContext) -> list[Order]:
        """Empty the reserve into the wallet (a full re-target or an exit redeploys it)."""
        bal = self.balance(ctx)
        self.pending = 0.0
        return [Order(Operation.WITHDRAW, self.aave, bal, USDT, reason="redeploy the margin reserve")] if bal > self.min_trade else []
