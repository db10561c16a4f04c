"""Transfers of a token between two accounts (wallet <-> CEX accounts, CEX <-> CEX): the ``transit``
account.

The source venue's ``transfer_fee_usdt`` (config) is charged on top of the amount and booked as
``fees``; the amount must not exceed what the source says is withdrawable (e.g. a perp account keeps
twice its maintenance margin). With the source's ``transfer_delay_seconds`` > 0 the amount is in
transit (part of equity; delayed transfers carry USDT only) and lands at the
first step at or after its arrival time; otherwise it lands at once.
"""

from __future__ import annotations

from basiskit.domain.events import Event
from basiskit.domain.orders import Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import FEES, Attribution, Ledger

TRANSIT = "transit"


class Transfers:
    name = TRANSIT

    def __init__(self, venues: dict, fees_usdt: dict[str, float], ledger: Ledger, attribution: Attribution,
                 grid_list: list[int], delays_s: dict[str, int] | None = None) -> None:
        self.venues = venues
        self.fees = fees_usdt
        self.delays_ns = {k: v * 10**9 for k, v in (delays_s or {}).items() if v}
        self.accrues = bool(self.delays_ns)
        self.ledger = ledger
        self.attr = attribution
        self.grid_list = grid_list
        self.pending: list[tuple[int, str, str, float]] = []  # (arrival ns, destination, token, amount)

    def accrue(self, i: int) -> list[Event]:
        if not self.pending:
            return []
        t = self.grid_list[i]
        arrived = [p for p in self.pending if p[0] <= t]
        if not arrived:
            return []
        self.pending = [p for p in self.pending if p[0] > t]
        out = []
        for _, dst, tok, amt in arrived:
            self.ledger.add(dst, tok, amt)
            out.append(Event(t, TRANSIT, "transfer_arrived", {"to": dst, "token": tok, "amount": amt}))
        return out

    def execute(self, order: Order, i: int) -> Trade:
        t = self.grid_list[i]
        src, dst, tok = order.venue, order.to_venue, order.token
        if src not in self.venues or dst not in self.venues:
            return Trade(order, t, TradeStatus.REJECTED, error_code="EXEC-002",
                         error=f"unknown account in transfer {src} -> {dst}")
        fee = self.fees.get(src, 0.0)
        avail = self.venues[src].withdrawable(tok, i)
        if order.amount + fee > avail * (1 + 1e-12) + 1e-9:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                         error=f"{src} can release {avail:.2f} {tok}, transfer needs {order.amount + fee:.2f}")
        delay = self.delays_ns.get(src, 0)
        if delay and tok != "USDT":
            return Trade(order, t, TradeStatus.REJECTED, error_code="EXEC-002",
                         error=f"delayed transfers carry USDT only (a {tok} transfer from {src} has a delay)")
        self.ledger.add(src, tok, -(order.amount + fee))
        if delay:
            self.pending.append((t + delay, dst, tok, order.amount))
            landed = (TRANSIT, tok)
        else:
            self.ledger.add(dst, tok, order.amount)
            landed = (dst, tok)
        if fee:
            self.attr.add(FEES, src, -fee)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=order.amount, price=1.0, fee=fee, fee_currency=tok,
                     position_deltas={(src, tok): -(order.amount + fee), landed: order.amount})

    def withdrawable(self, token: str, i: int) -> float:
        return 0.0

    def value_usd(self, i: int) -> float:
        v = 0.0
        for _, _, tok, amt in self.pending:
            v += amt
        return v

    def state(self):
        return list(self.pending)

    def restore(self, state) -> None:
        self.pending = list(state)
