"""Transfers of a token between two accounts (wallet <-> CEX accounts, CEX <-> CEX).

Instant in this version; the source venue's ``transfer_fee_usdt`` (config) is charged on top of the
amount and booked as ``fees``. The amount must not exceed what the source venue says is
withdrawable (e.g. a perp account keeps twice its maintenance margin).
"""

from __future__ import annotations

from basiskit.domain.orders import Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import FEES, Attribution, Ledger


class Transfers:
    def __init__(self, venues: dict, fees_usdt: dict[str, float], ledger: Ledger, attribution: Attribution,
                 grid_list: list[int]) -> None:
        self.venues = venues
        self.fees = fees_usdt
        self.ledger = ledger
        self.attr = attribution
        self.grid_list = grid_list

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
        self.ledger.add(src, tok, -(order.amount + fee))
        self.ledger.add(dst, tok, order.amount)
        if fee:
            self.attr.add(FEES, src, -fee)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=order.amount, price=1.0, fee=fee, fee_currency=tok,
                     position_deltas={(src, tok): -(order.amount + fee), (dst, tok): order.amount})
