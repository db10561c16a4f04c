"""Transfers between venue accounts run by the transfer manager: the ``transit`` account of a run whose
mode configures ``transfers`` (``config.bridges.ManagedTransfersConfig``), in place of
``venues.sim.transfer.Transfers``.

Every ``TRANSFER`` order becomes a ``TransferOperation`` (``domain.transfer_ops``) that the
:class:`~basiskit.venues.transfers.manager.TransferManager` drives through pending -> withdrawing ->
bridging -> depositing -> completed | failed, one step per clock step, over the bridge the manager
chooses (the cheapest serving the route). The delays are the bridge's; failures are drawn from a
generator seeded by the config (``seed``), so a backtest is reproducible:

* a send error leaves the money at the source and is retried with backoff (after ``max_attempts``
  the transfer fails, nothing moved);
* a failed withdrawal is refunded with its fee, a failed bridge without it (the fee was spent);
* amount + fee leave the source when the withdrawal is sent (``transfer_sent``: fee booked as
  ``fees``); the amount is in transit -- counted in equity (this account's value), not usable --
  until the destination credits it (``transfer_arrived``) or it is refunded (``transfer_refunded``).

Every state change is written to the injected ``TransferStore`` (``venues.transfers.store`` writes
``fund_transfers`` rows through the run store); a backtest without one keeps them in memory.
Transfers between accounts of one venue are internal: instant and free, not through a bridge.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from basiskit.config.bridges import ManagedTransfersConfig
from basiskit.data.market_state import MarketState
from basiskit.domain.events import AccountChange, MarketTick
from basiskit.domain.money import within
from basiskit.domain.orders import Order
from basiskit.domain.portfolio import FEES, Attribution
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.domain.transfer_ops import IN_TRANSIT, TransferOperation, TransferState
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection
from basiskit.venues.sim.transfer import TRANSIT, Route, venue_of
from basiskit.venues.transfers.bridges import BridgeManager
from basiskit.venues.transfers.manager import MemoryTransferStore, TransferManager, TransferStore, TransientError
from basiskit.venues.transfers.sim import SimTransferNetwork


class _RunBackend(SimTransferNetwork):
    """The simulated network over the run's accounts: balance moves become account events (``effects``)."""

    def __init__(self, venues: dict, bridges: BridgeManager, seed: int, state: MarketState) -> None:
        super().__init__({}, bridges, seed)
        self.venues = venues
        self.state = state
        self.effects: list[AccountChange] = []

    def _take(self, op: TransferOperation) -> None:
        source = self.venues[op.source]
        stale = getattr(source, "stale_now", None)
        if stale is not None and stale():
            raise TransientError(f"{op.source} has no traded price now (data gap): its margin is unknown")
        avail = source.withdrawable(op.token)
        if not within(op.amount + op.fee, avail):
            raise TransientError(f"{op.source} cannot release {op.amount + op.fee:.2f} {op.token} (withdrawable {avail:.2f})")
        self.effects.append(AccountChange(self.state.t, TRANSIT, "transfer_sent",
                                          deltas=((op.source, op.token, -(op.amount + op.fee)),),
                                          pnl=((FEES, op.source, -op.fee),) if op.fee else (),
                                          data={"transfer_id": op.transfer_id, "to": op.destination, "token": op.token,
                                                "amount": op.amount, "fee": op.fee, "bridge": op.bridge}))

    def _give(self, op: TransferOperation, account: str, amount: float, why: str, fee_back: float = 0.0) -> None:
        self.effects.append(AccountChange(self.state.t, TRANSIT, f"transfer_{why}", deltas=((account, op.token, amount),),
                                          pnl=((FEES, op.source, fee_back),) if fee_back else (),
                                          data={"transfer_id": op.transfer_id, "to": account, "token": op.token,
                                                "amount": amount, "bridge": op.bridge}))


class _BridgeCosts:
    """``route(src, dst, token)`` as ``TransferCosts`` answers it: the bridge the manager would choose for
    ``reference_amount`` (fee at that amount, delay without failures); internal moves are free."""

    def __init__(self, bridges: BridgeManager, reference_amount: float) -> None:
        self.bridges = bridges
        self.reference = reference_amount

    def route(self, src: str, dst: str, token: str) -> Route | None:
        a, b = venue_of(src), venue_of(dst)
        if a == b:
            return Route(None, 0.0, 0)
        try:
            br = self.bridges.choose(a, b, token, self.reference)
        except LookupError:
            return None
        return Route(br.name, br.fee(self.reference), br.delay_s() * 10**9)

    any_delay = True


class ManagedTransfers:
    name = TRANSIT
    accrues = True

    def __init__(self, venues: dict, state: MarketState, attribution: Attribution, config: ManagedTransfersConfig,
                 store: TransferStore | None = None) -> None:
        self.venues = venues
        self.state = state
        self.attr = attribution
        self.bridges = BridgeManager(dict(config.bridges))
        self.costs = _BridgeCosts(self.bridges, config.reference_amount_usd)
        self.backend = _RunBackend(venues, self.bridges, config.seed, state)
        self.manager = TransferManager(self.backend, self.bridges, store or MemoryTransferStore(), config.max_attempts,
                                       config.backoff_s, config.max_backoff_s, id_prefix="transfer")

    @property
    def pending(self) -> bool:
        return bool(self.manager.open())

    def _drain(self) -> list[AccountChange]:
        out, self.backend.effects = self.backend.effects, []
        return out

    def on_market(self, tick: MarketTick) -> list:
        if not self.pending:
            return []
        before = {tid: op.state for tid, op in self.manager.ops.items() if not op.terminal}
        self.manager.step(self.state.t)
        events = self._drain()
        for tid, st in before.items():
            op = self.manager.ops[tid]
            if op.state is TransferState.FAILED and not op.refunded:
                events.append(AccountChange(self.state.t, TRANSIT, "transfer_failed",
                                            data={"transfer_id": tid, "to": op.destination, "error": op.error}))
        return events

    def poll(self, now_ns: int) -> list:
        return []

    def in_transit(self, account: str, token: str = "USDT") -> float:
        """Token units on their way to ``account``: sent or still queued at the source (not usable there
        either way; equity counts the queued amount at the source, the sent amount here)."""
        return sum(op.amount for op in self.manager.open() if op.destination == account and op.token == token)

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [self._execute(o) for o in orders]

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        src, dst, tok = order.venue, order.to_venue, order.token
        if src not in self.venues or dst not in self.venues:
            return Trade(order, t, TradeStatus.REJECTED, error_code="EXEC-002", error=f"unknown account in transfer {src} -> {dst}")
        if venue_of(src) == venue_of(dst):  # internal: instant and free
            avail = self.venues[src].withdrawable(tok)
            if not within(order.amount, avail):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"{src} cannot release {order.amount:.2f} {tok} (withdrawable {avail:.2f})")
            amt = min(order.amount, avail)
            return Trade(order, t, TradeStatus.FILLED, executed_amount=amt, price=1.0, fee_currency=tok,
                         deltas=((src, tok, -amt), (dst, tok, amt)))
        if tok != "USDT":
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002", error="managed transfers carry USDT only")
        try:
            op = self.manager.request(src, dst, tok, order.amount, t)
        except LookupError as exc:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002", error=str(exc))
        op = self.manager.step_one(op.transfer_id, t)
        sent = self._drain()
        deltas = tuple(d for ev in sent for d in ev.deltas)
        pnl = tuple(b for ev in sent for b in ev.pnl)
        note = None if deltas else f"queued: {op.error} (retried with backoff)"
        return Trade(order, t, TradeStatus.FILLED, executed_amount=order.amount, price=1.0, fee=op.fee if deltas else 0.0,
                     fee_currency=tok, deltas=deltas, pnl=pnl, error=note)

    def withdrawable(self, token: str) -> float:
        return 0.0

    def quiet_now(self) -> bool:
        return not self.pending

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        if self.pending:
            return None
        return Projection(np.zeros(hi - lo), lambda k: None, {}, blocked=hi - lo)

    def value_usd(self) -> float:
        """USDT withdrawn and not yet credited or refunded (the states withdrawing, bridging, depositing)."""
        return sum(op.amount for op in self.manager.ops.values() if op.state in IN_TRANSIT)

    def account(self) -> AccountSnapshot:
        v = self.value_usd()
        return AccountSnapshot(TRANSIT, {"USDT": v} if v else {}, {}, v)

    def checkpoint(self):
        return copy.deepcopy((self.manager.ops, self.backend.flights, self.backend.sent, self.backend.fees_paid,
                              self.backend.rng.bit_generator.state))

    def restore(self, cp) -> None:
        ops, flights, sent, fees, rng = copy.deepcopy(cp)
        self.manager.ops, self.backend.flights, self.backend.sent, self.backend.fees_paid = ops, flights, sent, fees
        self.backend.rng.bit_generator.state = rng
