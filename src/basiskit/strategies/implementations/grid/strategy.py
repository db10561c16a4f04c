"""``grid``: a ladder of limit orders around a reference price on one perp, re-armed on fills.

A stateless strategy (``categories.stateless``): every step it reads its working orders back from the
venue (``ctx.open_orders``), works out the ladder it wants (``ladder.py``) and sends the difference --
cancels for orders that should not be there (duplicates included), limit orders for empty rungs. So
a fill re-arms the other side at the next step, and a restarted grid (a fresh instance, the venue
still holding the old orders) rebuilds from those orders: it sends nothing that is already working.

Flow per step (the template): ``ready`` (a traded price on the account; the margin transfer landed)
-> ``cancels`` -> ``orders``. At the start it moves ``margin_fraction`` of the wallet's USDT to the
perp account (less the transfer fee), then places the ladder. Economics: each completed buy-low /
sell-high pair one level apart earns ``order_size x spacing x price`` less two maker fees; the open
position (long below the reference, short above) carries price PnL and funding.

Not handled: a withdrawal request (the grid never frees margin; run it without withdrawals); a rung the
venue refuses at its fill (insufficient margin: the order is cancelled by the venue and placed again
at the next step).
"""

from __future__ import annotations

from basiskit.domain.actions import Action
from basiskit.domain.orders import Operation, Order, OrderType, Side
from basiskit.strategies.base import Requirements
from basiskit.strategies.categories.market import price
from basiskit.strategies.categories.stateless import StatelessStrategy
from basiskit.strategies.context import StrategyContext
from basiskit.strategies.implementations.grid import ladder
from basiskit.strategies.implementations.grid.config import GridConfig

WALLET = "wallet"


class Grid(StatelessStrategy):
    """See the module docstring. ``_whole`` is a cache, not state: True once a step found the ladder
    whole (nothing to cancel or place) and no account event but funding has come since -- then the
    ladder cannot have changed and the step holds without reading the orders back. A fresh instance
    starts without it and reads the venue."""

    config: GridConfig

    def __init__(self, config: GridConfig) -> None:
        super().__init__(config)
        self._whole = False

    def on_event(self, ev) -> None:
        """Any account event but a funding settlement (fills, order status changes, transfers landing)
        may change the ladder or the margin: the next step reads the venue again."""
        if ev.kind != "funding":
            self._whole = False

    def requirements(self) -> Requirements:
        c = self.config
        return Requirements(perp={c.account: [c.token]}, perp_bars=c.bars, perp_funding=c.funding == "data")

    # -- reading the ladder back ---------------------------------------------------------------------
    def rungs(self, ctx: StrategyContext) -> list[ladder.Rung]:
        """The ladder's working orders on the account (other orders are left alone), oldest first."""
        c = self.config
        out = []
        for v in ctx.open_orders(c.account, c.token):
            parsed = ladder.parse(c.name, v.client_order_id)
            if parsed is not None:
                out.append(ladder.Rung(parsed[0], parsed[1], v.client_order_id, v.limit_price))
        return out

    def reference(self, rungs: list[ladder.Rung], px: float) -> float:
        c = self.config
        if c.reference_price is not None:
            return c.reference_price
        if rungs:
            r = min(rungs, key=lambda r: (abs(r.level), r.level))
            return ladder.reference_from(r.price, c.spacing, r.level)
        return ladder.snap(px)  # a new (or emptied) ladder is centred on the price now

    def _plan(self, ctx: StrategyContext) -> tuple[list[str], list[tuple[int, str]], float]:
        """(ids to cancel, rungs to place, reference), once per ``decide`` call (``scratch``)."""
        memo = getattr(self, "scratch", None)
        if memo is not None and "plan" in memo:
            return memo["plan"]
        c = self.config
        rungs = self.rungs(ctx)
        px = price(ctx, c.account, c.token)
        ref = self.reference(rungs, px)
        want = ladder.wanted(ladder.centre(rungs, c.levels, c.spacing, ref, px), c.levels)
        cancel, place = ladder.plan(rungs, want)
        if memo is not None:
            memo["plan"] = (cancel, place, ref)
        return cancel, place, ref

    # -- the template's steps --------------------------------------------------------------------------
    def ready(self, ctx: StrategyContext) -> str | None:
        c = self.config
        if self._whole:
            return "ladder whole; no order event since"
        if ctx.in_transit(c.account) > 0:
            return "margin transfer in transit"
        if not ctx.price_live(c.account, c.token):
            return f"no traded {c.token} price on {c.account}"
        return None

    def _needs_margin(self, ctx: StrategyContext) -> float:
        """USDT to move from the wallet to the perp account now (0: none)."""
        c = self.config
        if ctx.cash(c.account) > 0 or ctx.perp_size(c.account, c.token) != 0.0:
            return 0.0
        amount = ctx.cash(WALLET) * c.margin_fraction - ctx.transfer_fee(WALLET, c.account)
        return amount if amount > c.min_trade_usd else 0.0

    def cancels(self, ctx: StrategyContext) -> list[str]:
        if self._needs_margin(ctx):
            return []
        return self._plan(ctx)[0]

    def orders(self, ctx: StrategyContext) -> list[Order]:
        c = self.config
        fund = self._needs_margin(ctx)
        if fund:
            return [Order(Operation.TRANSFER, WALLET, fund, "USDT", to_venue=c.account, reason="grid margin")]
        cancel, place, ref = self._plan(ctx)
        if not cancel and not place:
            self._whole = True
            return []
        t_s = ctx.time_ns // 1_000_000_000
        out = []
        for k, side in place:
            out.append(Order(Operation.PERP_TRADE, c.account, c.order_size, c.token,
                             Side.BUY if side == "b" else Side.SELL, order_type=OrderType.LIMIT,
                             limit_price=ladder.level_price(ref, c.spacing, k),
                             client_order_id=self._fresh_id(ctx, k, side, t_s), reason=f"grid level {k:+d}"))
        return out

    def _fresh_id(self, ctx: StrategyContext, k: int, side: str, t_s: int) -> str:
        """The rung's id; with a letter suffix when the run already knows that id (a rung placed twice
        in one second: filled at once, then wanted again)."""
        name = self.config.name
        cid = ladder.order_id(name, k, side, t_s)
        n = 0
        while ctx.order_status(cid) is not None:
            n += 1
            cid = ladder.order_id(name, k, side, t_s, _suffix(n))
        return cid

    def action(self, cancels: list[str], orders: list[Order]) -> Action:
        if orders and orders[0].operation is Operation.TRANSFER:
            return Action.ENTRY_FULL
        return Action.ENTRY_PARTIAL

    def reason(self, cancels: list[str], orders: list[Order]) -> str:
        if orders and orders[0].operation is Operation.TRANSFER:
            return f"move {orders[0].amount:.2f} USDT margin to {self.config.account}"
        return f"grid: {len(orders)} rungs placed, {len(cancels)} cancelled"

    def exit_full(self, ctx: StrategyContext) -> list[Order]:
        """Close the perp position at market (the risk override; the ladder's rungs are left working and
        the gate lets only reducing orders through)."""
        c = self.config
        size = ctx.perp_size(c.account, c.token)
        if size == 0.0:
            return []
        return [Order(Operation.PERP_TRADE, c.account, abs(size), c.token, Side.BUY if size < 0 else Side.SELL,
                      reduce_only=True, reason="grid exit")]

    exit_partial = exit_full


def _suffix(n: int) -> str:
    """1 -> a, 26 -> z, 27 -> aa, ..."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(97 + r) + s
    return s
