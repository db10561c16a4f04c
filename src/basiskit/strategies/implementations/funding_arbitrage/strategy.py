"""The funding-arbitrage orchestrator (a stateful strategy): long the perpetual where funding is low,
short it where funding is high, same quantity on both venues (delta ~ 0), and move as the best pair moves.

Economics: with funding APRs ``a_L`` (long venue) and ``a_S`` (short venue) the pair earns
``(a_S - a_L) x notional`` a year (the short receives its rate, the long pays its rate; positive rate:
longs pay shorts), plus the small basis between the two venues' prices, less four taker legs per pair
(open and close, both legs), slippage and the withdrawal fees of the margin moved between venues.

Each clock step runs four phases (the first pass of a step decides; the passes that follow execute):

1. **monitor positions**: each venue's funding estimate (the mean of its last ``lookback_settlements``
   settled rates, annualised with its own interval: ``models.estimate``), the open pair's margin ratios,
   the funding each leg received (``on_event``), venues without a traded price (data gaps);
2. **rebalance**: the rebalance sub-strategy (``rebalance.make_rule``) judges the open pair
   (``models.PairView``) -> keep, close, or switch to another pair;
3. **open new positions**: flat and no transfer pending -> the pair of highest spread APR net of its
   annualised one-off costs (``entry_min_net_apr`` at least; not a pair closed less than
   ``cooldown_hours`` ago);
4. **process fund transfers**: margin is sent where the target pair needs it (each leg
   ``deploy_fraction x equity / 2``); a leg whose margin ratio fell below ``margin_ratio_floor`` gets
   margin from the other leg (equal margin balances). Every transfer is tracked as a
   ``domain.transfer_ops.TransferOperation`` through its states (pending -> withdrawing -> bridging ->
   depositing -> completed | failed) from the engine's events: sent (the trade), in transit (counted in
   equity, not usable: the engine's transit account), landed (``transfer_arrived``).

Passes within a step: close what the target does not hold, else transfer, else open both legs together
(only once the margin of both has landed, so the book never holds one leg alone). A pass that must trade
on a venue without a traded price at the step (a data gap: e.g. OKX ETH's missing months) is deferred.
With ``static_pair`` the strategy holds that pair throughout (the static-pair comparison): no rules.

Reporting (``snapshot()["state"]["report"]``, in ``summary.strategy_state``): opens, closes, switches (by
rule), pair changes per month (switches + closes over the months run), transfer fees (total and per month), hours
held per pair, funding received per leg (USDT), transfer fees (USDT), transfers by final state,
steps each venue had no traded price or no funding estimate.
"""

from __future__ import annotations

from dataclasses import asdict

from basiskit.domain.actions import Action
from basiskit.domain.events import AccountChange, FundingSettled
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.domain.transfer_ops import TransferOperation, TransferState, advance, from_dict, to_dict
from basiskit.strategies.base import HOLD, Decision, Requirements
from basiskit.strategies.categories.stateful import StatefulStrategy
from basiskit.strategies.context import StrategyContext
from basiskit.strategies.implementations.funding_arbitrage.config import FundingArbConfig
from basiskit.strategies.implementations.funding_arbitrage.models import (NS_PER_HOUR, Pair, PairView, PositionPair,
                                                                          estimate, spread_apr)
from basiskit.strategies.implementations.funding_arbitrage.rebalance import make_rule
from basiskit.strategies.transfer_rules import worth_sending

WALLET = "wallet"
S = TransferState


class FundingArbitrage(StatefulStrategy):
    config: FundingArbConfig

    def __init__(self, config: FundingArbConfig, components=None) -> None:
        super().__init__(config, components)
        self.accounts = [f"{v}.perp" for v in config.perp_venues]
        self.rule = make_rule(config.rebalance)
        self.pair: PositionPair | None = None
        self.target: Pair | None = None
        self._step = -1
        self._skip_open = False
        self._t = 0
        self._t0: int | None = None
        self._est: dict = {}
        self._cooldown: dict[Pair, int] = {}
        self._action, self._reason, self._trigger = Action.HOLD, "", ""
        self._ids = 0
        self.ops: dict[str, TransferOperation] = {}
        self.report = {"opens": 0, "closes": 0, "switches": 0, "rules_fired": {}, "hours_by_pair": {},
                       "funding_by_leg_usd": {a: 0.0 for a in self.accounts}, "transfer_fees_usd": 0.0,
                       "transfers": {}, "steps_without_price": {a: 0 for a in self.accounts},
                       "steps_without_funding_estimate": {a: 0 for a in self.accounts}, "pair_log": []}

    def requirements(self) -> Requirements:
        # OKX's funding misses whole days (44 of the all-instruments files): those settlements pay nothing
        return Requirements(perp={a: [self.config.asset] for a in self.accounts}, funding_holes=True,
                            managed_transfers=self.config.transfers)

    # -- events (phase 1 inputs and phase 4 tracking) ---------------------------------------------
    def on_event(self, ev) -> None:
        super().on_event(ev)
        if isinstance(ev, FundingSettled) and ev.component in self.report["funding_by_leg_usd"]:
            self.report["funding_by_leg_usd"][ev.component] += ev.amount
        elif isinstance(ev, Trade) and ev.order.operation is Operation.TRANSFER:
            self._on_transfer_trade(ev)
        elif isinstance(ev, AccountChange) and ev.kind.startswith("transfer_"):
            self._on_transfer_change(ev)

    def _on_transfer_trade(self, tr: Trade) -> None:
        tid = tr.order.client_order_id
        op = self.ops.get(tid) if tid else None
        if op is None:
            return
        if tr.status is not TradeStatus.FILLED:
            self.ops[tid] = advance(op, S.FAILED, tr.timestamp, error=tr.error or tr.status.value)
            return
        if not tr.deltas:  # queued by the transfer manager (a send error): sent later (transfer_sent)
            return
        self.ops[tid] = self._sent(op, tr.timestamp, tr.fee, tr.executed_amount or op.amount)
        if any(d[0] == op.destination for d in tr.deltas):  # no delay: landed at once
            self._landed(tid, tr.timestamp)

    def _sent(self, op: TransferOperation, t: int, fee: float, amount: float) -> TransferOperation:
        self.report["transfer_fees_usd"] += fee
        return advance(advance(op, S.WITHDRAWING, t, withdrawal_id=op.transfer_id, fee=fee, amount=amount), S.BRIDGING, t)

    def _landed(self, tid: str, t: int) -> None:
        self.ops[tid] = advance(advance(self.ops[tid], S.DEPOSITING, t), S.COMPLETED, t)

    def _match(self, state: TransferState, account_field: str, account: str, amount: float | None) -> str | None:
        """The oldest tracked transfer in ``state`` whose ``account_field`` is ``account`` (and amount, when given)."""
        for tid, op in self.ops.items():
            if op.state is state and getattr(op, account_field) == account and (
                    amount is None or abs(op.amount - amount) <= 1e-6 * max(1.0, op.amount)):
                return tid
        return None

    def _on_transfer_change(self, ev: AccountChange) -> None:
        """The transit account's events: ``transfer_sent`` (a queued one left its source), ``transfer_arrived``
        (credited), ``transfer_refunded`` / ``transfer_failed`` (given up). Matched to the strategy's
        transfers by account and amount, oldest first (the transit account keeps their order)."""
        d, t = ev.data, ev.timestamp
        amount = float(d.get("amount", 0.0)) if "amount" in d else None
        if ev.kind == "transfer_sent":
            tid = self._match(S.PENDING, "destination", d.get("to"), amount)
            if tid:
                self.ops[tid] = self._sent(self.ops[tid], t, float(d.get("fee", 0.0)), amount or self.ops[tid].amount)
        elif ev.kind == "transfer_arrived":
            tid = self._match(S.BRIDGING, "destination", d.get("to"), amount)
            if tid:
                self._landed(tid, t)
        elif ev.kind == "transfer_refunded":
            self.report["transfer_fees_usd"] -= sum(b[2] for b in ev.pnl)  # a failed withdrawal's fee comes back
            tid = self._match(S.BRIDGING, "source", d.get("to"), None)
            if tid:
                self.ops[tid] = advance(self.ops[tid], S.FAILED, t, refunded=amount or 0.0, error="refunded")
        elif ev.kind == "transfer_failed":
            tid = self._match(S.PENDING, "destination", d.get("to"), None)
            if tid:
                self.ops[tid] = advance(self.ops[tid], S.FAILED, t, error=str(d.get("error", "")))

    # -- decision ---------------------------------------------------------------------------------
    def decide(self, ctx: StrategyContext) -> Decision:
        if ctx.step != self._step:
            self._step, self._t = ctx.step, ctx.time_ns
            if self._t0 is None:
                self._t0 = ctx.time_ns
            self._skip_open = False
            self._monitor(ctx)
            self._rebalance(ctx)
            self._choose_new(ctx)
        orders = self._close(ctx) or self._transfers(ctx) or self._open(ctx)
        if not orders:
            return HOLD
        stale = sorted({o.venue for o in orders if o.operation is Operation.PERP_TRADE
                        and not ctx.price_live(o.venue, self.config.asset)})
        if stale:
            return Decision(self._action, [], f"{self._reason}: deferred, no traded price on {', '.join(stale)}",
                            deferred=True, trigger=self._trigger)
        return Decision(self._action, orders, self._reason, trigger=self._trigger)

    # phase 1
    def _monitor(self, ctx: StrategyContext) -> None:
        c, a = self.config, self.config.asset
        est = {}
        for acc in self.accounts:
            live = ctx.price_live(acc, a)
            if not live:
                self.report["steps_without_price"][acc] += 1
            e = estimate(acc, ctx.funding_rates(acc, a, c.lookback_settlements))
            # a venue counts only with a traded price and a settlement no older than three of its periods
            if e is None or self._t - e.last_ns > 3 * e.interval_h * NS_PER_HOUR:
                self.report["steps_without_funding_estimate"][acc] += 1
                continue
            if live:
                est[acc] = e
        self._est = est
        if self.pair is not None and self.pair.qty > 0 and self._legs_broken(ctx):
            cur = self.pair.pair
            self.report["legs_lost"] = self.report.get("legs_lost", 0) + 1
            self.report["pair_log"].append({"t": self._t, "from": str(cur), "to": None, "rule": "leg_lost",
                                            "reason": "a leg no longer matches the pair (liquidated?)"})
            self.pair, self.target = None, None
            self._skip_open = True  # close what is left first; a pair may open from the next step
            self._action, self._reason, self._trigger = Action.EXIT_FULL, f"{cur}: a leg was lost: close the other", "leg_lost"
        if self.pair is not None:
            key = f"{self.pair.pair.long}/{self.pair.pair.short}"
            hours = self.report["hours_by_pair"]
            hours[key] = hours.get(key, 0.0) + c.step_seconds / 3600

    def _legs_broken(self, ctx: StrategyContext) -> bool:
        a, p = self.config.asset, self.pair
        tol = 1e-6 * max(p.qty, 1e-9)
        return (abs(ctx.perp_size(p.pair.long, a) - p.qty) > tol or abs(ctx.perp_size(p.pair.short, a) + p.qty) > tol)

    def _notional(self, ctx: StrategyContext) -> float:
        c = self.config
        eq = max(ctx.equity_usd() - ctx.pending_withdrawal_usd(), 0.0)
        return eq * c.deploy_fraction / 2 / c.margin_fraction

    def _fee(self, ctx: StrategyContext, src: str, dst: str) -> float:
        return ctx.transfer_fee(src, dst) if src != dst else 0.0

    def _entry_net_apr(self, ctx: StrategyContext, pair: Pair, spread: float) -> float:
        """Spread APR less the pair's four taker legs and two margin transfers, annualised over hold_days."""
        n = max(self._notional(ctx), 1.0)
        once = 2 * (ctx.cost_rate(pair.long) + ctx.cost_rate(pair.short)) + 2 * self._fee(ctx, pair.long, pair.short) / n
        return spread - once * 365.0 / self.config.hold_days

    def _switch_cost_apr(self, ctx: StrategyContext, cur: Pair, new: Pair) -> float:
        """Closing the open legs, opening the new ones and moving margin, annualised over hold_days."""
        n = max(self._notional(ctx), 1.0)
        legs = sum(ctx.cost_rate(x) for x in (cur.long, cur.short, new.long, new.short))
        moves = {x for x in (new.long, new.short) if x not in (cur.long, cur.short)}
        fees = sum(self._fee(ctx, cur.long, x) for x in moves)
        return (legs + fees / n) * 365.0 / self.config.hold_days

    def _pairs(self):
        return [Pair(lo, sh) for lo in self.accounts for sh in self.accounts if lo != sh]

    # phase 2
    def _rebalance(self, ctx: StrategyContext) -> None:
        if self.pair is None or self.config.static_pair is not None:
            return
        cur = self.pair.pair
        spread = spread_apr(self._est, cur)
        if spread is None:
            return  # a leg has no estimate now (data gap): hold, nothing to judge by
        alts = [(p, s) for p in self._pairs() if p != cur and (s := spread_apr(self._est, p)) is not None]
        best = max(alts, key=lambda x: x[1]) if alts else None
        view = PairView(cur, (self._t - self.pair.opened_ns) / 1e9, self.pair.entry_spread_apr, spread, best,
                        self._switch_cost_apr(ctx, cur, best[0]) if best else 0.0)
        sig = self.rule(view)
        if sig is None:
            return
        fired = self.report["rules_fired"]
        fired[sig.rule] = fired.get(sig.rule, 0) + 1
        self._cooldown[cur] = self._t + int(self.config.cooldown_hours * NS_PER_HOUR)
        target = None
        if sig.action == "switch" and sig.target is not None:
            t_spread = spread_apr(self._est, sig.target)
            if t_spread is not None and self._entry_net_apr(ctx, sig.target, t_spread) >= self.config.entry_min_net_apr:
                target = sig.target
        self.report["switches" if target is not None else "closes"] += 1
        self.report["pair_log"].append({"t": self._t, "from": str(cur), "to": str(target) if target else None,
                                        "rule": sig.rule, "reason": sig.reason})
        self.target = target
        self._set_pair_target(target, ctx, spread_apr(self._est, target) if target else 0.0)
        self._action = Action.ENTRY_PARTIAL if target else Action.EXIT_FULL
        self._reason, self._trigger = f"{sig.rule}: {sig.reason}", sig.rule

    def _set_pair_target(self, target: Pair | None, ctx: StrategyContext, spread: float) -> None:
        self.pair = None if target is None else PositionPair(target, 0.0, self._t, spread or 0.0, self._notional(ctx))

    # phase 3
    def _choose_new(self, ctx: StrategyContext) -> None:
        c = self.config
        if self._skip_open:
            return
        if self.pair is not None or self.target is not None:
            if self._margin_low(ctx) and not self._pending_transfers(ctx):
                if self._topup_amount(ctx) is None:  # the rich leg cannot release enough: realise and re-split
                    self.report["recenters"] = self.report.get("recenters", 0) + 1
                    self.report["pair_log"].append({"t": self._t, "from": str(self.pair.pair), "to": str(self.pair.pair),
                                                    "rule": "margin_recenter", "reason": "margin ratio below floor, "
                                                    "not enough collateral to move: close and reopen"})
                    self._set_pair_target(self.pair.pair, ctx, self.pair.entry_spread_apr)
                    self._action, self._reason, self._trigger = (Action.ENTRY_PARTIAL, "margin ratio below floor: "
                                                                 "close, re-split margin, reopen", "margin_recenter")
                else:
                    self._action, self._reason, self._trigger = Action.ENTRY_PARTIAL, "margin ratio below floor", "margin_floor"
            return
        if self._pending_transfers(ctx):
            return
        if c.static_pair is not None:
            cands = [Pair(f"{c.static_pair[0]}.perp", f"{c.static_pair[1]}.perp")]
        else:
            cands = [p for p in self._pairs() if self._cooldown.get(p, 0) <= self._t]
        best, best_net = None, None
        for p in cands:
            s = spread_apr(self._est, p)
            if s is None:
                continue
            net = self._entry_net_apr(ctx, p, s)
            if best_net is None or net > best_net:
                best, best_net = (p, s), net
        if best is None or (c.static_pair is None and best_net < c.entry_min_net_apr):
            return
        self.target = best[0]
        self._set_pair_target(best[0], ctx, best[1])
        self.report["opens"] += 1
        self._action, self._trigger = Action.ENTRY_FULL, "new_pair"
        self._reason = f"open {best[0]}: spread {best[1]:.4f} APR, net {best_net:.4f}"

    def _margin_low(self, ctx: StrategyContext) -> bool:
        if self.pair is None or self.pair.qty <= 0:
            return False
        return any((mr := ctx.margin_ratio(a)) is not None and mr < self.config.margin_ratio_floor
                   for a in (self.pair.pair.long, self.pair.pair.short))

    def _pending_transfers(self, ctx: StrategyContext) -> bool:
        """Money on its way to one of the strategy's accounts (the engine's transit account)."""
        return any(ctx.in_transit(a) > 0 for a in (WALLET, *self.accounts))

    # -- passes -----------------------------------------------------------------------------------
    def _close(self, ctx: StrategyContext) -> list[Order]:
        """Close every position the open pair does not hold (all of them while the pair is not yet open)."""
        a = self.config.asset
        out = []
        p = self.pair
        want = {p.pair.long: p.qty, p.pair.short: -p.qty} if p is not None and p.qty > 0 else {}
        for acc in self.accounts:
            s = ctx.perp_size(acc, a)
            if abs(s) * max(ctx.perp_mark(acc, a), 1.0) < 1e-6 or acc in want:
                continue
            out.append(Order(Operation.PERP_TRADE, acc, abs(s), a, Side.SELL if s > 0 else Side.BUY,
                             reduce_only=True, reason="close leg not in the open pair"))
        return out

    def _transfer(self, src: str, dst: str, amount: float, reason: str) -> Order:
        self._ids += 1
        tid = f"fa-transfer-{self._ids}"
        self.ops[tid] = TransferOperation(tid, src, dst, "USDT", amount, "engine", created_ns=self._t, updated_ns=self._t)
        return Order(Operation.TRANSFER, src, amount, "USDT", to_venue=dst, client_order_id=tid, reason=reason)

    def _transfers(self, ctx: StrategyContext) -> list[Order]:
        c, min_usd = self.config, self.config.min_trade_usd
        if self.target is None:
            return []  # flat: margin stays where it is until a pair needs it
        legs = (self.target.long, self.target.short)
        if self.pair is not None and self.pair.qty > 0:
            return self._margin_topup(ctx)
        eq = max(ctx.equity_usd() - ctx.pending_withdrawal_usd(), 0.0)
        need = {acc: eq * c.deploy_fraction / 2 for acc in legs}
        deficit = {acc: need[acc] - ctx.margin_balance(acc) - ctx.in_transit(acc) for acc in legs}
        deficit = {k: v for k, v in deficit.items() if v > max(min_usd, 0.01 * need[k])}
        if not deficit:
            return []
        surplus = {WALLET: ctx.cash(WALLET)}
        for acc in self.accounts:
            if acc not in legs:
                surplus[acc] = ctx.withdrawable(acc)
            else:
                surplus[acc] = max(0.0, min(ctx.withdrawable(acc), ctx.margin_balance(acc) - need[acc]))
        out = []
        for dst, gap in sorted(deficit.items(), key=lambda kv: -kv[1]):
            for src in sorted(surplus, key=lambda s: -surplus[s]):
                if gap <= min_usd or src == dst:
                    continue
                fee = self._fee(ctx, src, dst)
                amt = min(gap, surplus[src] - fee)
                if worth_sending(amt, fee, min_usd):
                    out.append(self._transfer(src, dst, amt, f"margin for {self.target}"))
                    surplus[src] -= amt + fee
                    gap -= amt
        return out

    def _topup_amount(self, ctx: StrategyContext) -> tuple[str, str, float] | None:
        """(rich leg, poor leg, USDT) that equalises the two legs' margin balances, or None when the rich
        leg cannot release at least half of it (its collateral is unrealised PnL) or it is not worth a transfer."""
        lo, sh = self.pair.pair.long, self.pair.pair.short
        mb = {lo: ctx.margin_balance(lo), sh: ctx.margin_balance(sh)}
        rich, poor = (lo, sh) if mb[lo] > mb[sh] else (sh, lo)
        fee = self._fee(ctx, rich, poor)
        need = (mb[rich] - mb[poor]) / 2
        amt = min(need, ctx.withdrawable(rich) - fee)
        if amt < 0.5 * need or not worth_sending(amt, fee, self.config.min_trade_usd):
            return None
        return rich, poor, amt

    def _margin_topup(self, ctx: StrategyContext) -> list[Order]:
        """Equal margin balances on the two legs when one fell below the floor (phase 4)."""
        if not self._margin_low(ctx) or self._pending_transfers(ctx):
            return []
        move = self._topup_amount(ctx)
        if move is None:
            return []
        rich, poor, amt = move
        return [self._transfer(rich, poor, amt, f"margin ratio of {poor} below {self.config.margin_ratio_floor}")]

    def _open(self, ctx: StrategyContext) -> list[Order]:
        c, a = self.config, self.config.asset
        if self.target is None or self.pair is None or self.pair.qty > 0:
            return []
        lo, sh = self.target.long, self.target.short
        if ctx.in_transit(lo) or ctx.in_transit(sh):
            return []  # both legs open together, once their margin has landed
        marks = {x: ctx.perp_mark(x, a) for x in (lo, sh)}
        want = self.pair.entry_notional_usd / max(marks.values())
        afford = min(ctx.margin_balance(x) / (marks[x] * (c.margin_fraction + ctx.cost_rate(x)) * (1 + 1e-9))
                     for x in (lo, sh))
        q = min(want, afford)
        if q * max(marks.values()) < c.min_trade_usd:
            return []
        self.pair = PositionPair(self.target, q, self._t, self.pair.entry_spread_apr, q * max(marks.values()))
        return [Order(Operation.PERP_TRADE, lo, q, a, Side.BUY, reason=f"open long leg of {self.target}"),
                Order(Operation.PERP_TRADE, sh, q, a, Side.SELL, reason=f"open short leg of {self.target}")]

    # -- state ----------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The strategy's state, JSON-able (in the state manager, ``state``): the report (module docstring),
        the open pair, the target, the tracked transfers, cooldowns and the step; with the tracked positions."""
        st = self.state
        rep = dict(self.report)
        counts: dict[str, int] = {}
        for op in self.ops.values():
            counts[op.state.value] = counts.get(op.state.value, 0) + 1
        rep["transfers"] = counts
        months = (self._t - self._t0) / 1e9 / 86_400 / 30.4375 if self._t0 is not None else 0.0
        rep["pair_changes_per_month"] = (rep["switches"] + rep["closes"]) / months if months > 0 else None
        rep["transfer_fees_per_month_usd"] = rep["transfer_fees_usd"] / months if months > 0 else None
        st.set("report", rep)
        st.set("t0", self._t0)
        st.set("pair", None if self.pair is None else {**asdict(self.pair), "pair": asdict(self.pair.pair)})
        st.set("target", None if self.target is None else asdict(self.target))
        st.set("operations", {tid: to_dict(op) for tid, op in self.ops.items()})
        st.set("cooldown", [[p.long, p.short, t] for p, t in self._cooldown.items()])
        st.set("step", self._step)
        st.set("ids", self._ids)
        st.set("action", [self._action.value, self._reason, self._trigger])
        return super().snapshot()

    def restore(self, state: dict) -> None:
        """Back to a :meth:`snapshot` (a restarted run). Raises KeyError / ValueError on a malformed state."""
        super().restore(state)
        st = self.state
        p, t = st.get("pair"), st.get("target")
        self.pair = None if p is None else PositionPair(Pair(**p["pair"]), float(p["qty"]), int(p["opened_ns"]),
                                                        float(p["entry_spread_apr"]), float(p["entry_notional_usd"]))
        self.target = None if t is None else Pair(**t)
        self.ops = {tid: from_dict(d) for tid, d in (st.get("operations") or {}).items()}
        self._cooldown = {Pair(lo, sh): int(until) for lo, sh, until in st.get("cooldown") or []}
        self._step, self._ids = int(st.get("step", -1)), int(st.get("ids", 0))
        self._t0 = st.get("t0")
        action, self._reason, self._trigger = st.get("action") or ["hold", "", ""]
        self._action = Action(action)
        rep = st.get("report")
        if rep:
            self.report = {**self.report, **rep}
