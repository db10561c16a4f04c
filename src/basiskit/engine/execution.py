"""Execution manager: registers every order with the run's order registry, routes it to its venue,
applies the outcome to the portfolio and reports it; sequential orders in order, atomic groups
all-or-nothing; cancels resting orders.

Client order ids and records (``engine/order_registry.py``: one registry per run, prefix ``o``): an
order without ``client_order_id`` gets ``o-<n>`` (n counting the run's orders in submission order),
and every order an ``OrderRecord`` that follows the state table (``domain/order_state.py``):

* a market order (and every other operation: transfers, supply, borrow, ...) goes SUBMITTED ->
  ACCEPTED -> FILLED when its venue fills it, SUBMITTED -> REJECTED when the venue refuses or defers
  it (the record's reason starts with the trade's error code). A fill the venue trims to what the
  account holds (within the amount tolerance of ``domain.money``) leaves PARTIALLY_FILLED -> EXPIRED
  for the dust. Its trade line says all there is: no ``OrderStatusChanged`` is published for it (the
  event log would double for nothing on the run's most frequent event).
* a resting order (limit, stop, take-profit; any time in force) goes to its venue's book
  (``venues/sim/bar_orders.py``): every status change is published as an ``OrderStatusChanged``
  account event (accepted, partially filled, filled, cancelled, expired, rejected), each fill also as
  its ``Trade`` -- now if it fills at submission, or when a later bar fills it (the venue reports it
  from ``on_market``). A venue without a book (only ``CexSpot`` and ``CexPerp`` have one) refuses it
  (VENUE-002).
* a market entry with ``take_profit`` / ``stop_loss``: the entry is a market order (its trade line);
  once it fills, its venue attaches the bracket (``<id>-tp-1`` / ``<id>-sl-1``, reduce-only, OCO),
  whose changes are published as above. Bracket prices that cannot work are refused before sending.
* the same id with the same order again (``reason`` aside): nothing is sent; a REJECTED trade with
  ``EXEC-006`` says it was already submitted and how far it got (``ctx.order_status(id)`` gives the
  record). The same id with a different order, or an id of the form of a bracket leg's (``<x>-tp-<k>``
  / ``<x>-sl-<k>``, kept for the legs the venues create): REJECTED, ``EXEC-005``. An id is never filled
  twice.

Lot sizes (``domain/lots.py``): a spot or perp order (not an atomic leg) to an account whose ``lot(token)``
gives a ``LotSize`` (the venue config's ``lot_sizes`` when enabled; in a live session through ccxt, the
market's amount precision and limits) is rounded toward zero to the step before it is registered (its
record, journal and venue see the rounded amount); the amount cut off is published as a ``lot_rounded``
event (requested, amount, step, residual). A rounded amount below the minimum amount or notional (at
the limit price, else the account's price / mark) is not registered nor sent: a REJECTED trade with
``EXEC-009`` that the kernel publishes as ``order_skipped`` with the reason. The same order skipped again
(account, operation, token, side, type and amount -- at any price; still below the minimum) is not sent
and not reported again: it is counted in ``skips_repeated`` (the kernel publishes the counts at the end
of the run), and a pass whose orders were all skipped ends the step's decisions (``all_skipped``: nothing
changed, the strategy would ask the same) -- a strategy that does not round to lots is not asked again
and again in a loop. Without a lot (the default) the order goes as it is.

Cancels (``cancel``, before a decision's orders): each id's resting order is cancelled at its venue's
book (CANCELLED, published). An id the run does not know (``EXEC-007``) or an order that has already
ended (``EXEC-004``) gives a ``cancel_failed`` error event, not an exception.

An atomic group (orders sharing ``atomic_group_id``, run by ``sequence_in_group``) is one on-chain
transaction (the shape of a flash-loan loop). Its legs run one by one, each applied to the portfolio
before the next (a leg sees what the previous ones did), against a checkpoint of the portfolio and of
every venue. If a leg is not filled, or a flash loan is still open when the last leg has run
(``EXEC-003``), everything is restored and every leg's trade is reported FAILED with the failing
leg's reason. Legs are reported only once the group's outcome is known; their records stay SUBMITTED
until then (FILLED, or REJECTED with the group's reason). Resting orders and bracketed entries are
refused as legs (``EXEC-008``): a transaction has no resting state, so a venue's checkpoint needs no
resting book. Gas is paid once per transaction (``gas.tx_gas_units`` of the legs' units): after
success for every leg, and after a failure for the legs up to the failing one -- a reverted
transaction still burns its gas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from basiskit.domain.events import AccountChange, Event, OrderStatusChanged
from basiskit.domain.order_state import OrderRecord, OrderView
from basiskit.domain.orders import ExecutionMode, Operation, Order, OrderType
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.engine.order_registry import OrderRegistry
from basiskit.errors.exceptions import DuplicateOrderId, IllegalTransition, RetryWithBackoff, UnknownOrder
from basiskit.venues.sim.gas import GasModel, tx_gas_units
from basiskit.venues.sim.resting import bracket_problem

_MARKET = OrderType.MARKET
_LOTTED = (Operation.SPOT_TRADE, Operation.PERP_TRADE)  # operations a venue's lot size applies to
_REPEAT = object()  # an order skipped for its lot again (not reported again)
_LEG_ID = re.compile(r"-(tp|sl)-\d+$")  # ids the venues give bracket legs (venues/sim/resting.py)


def _no_retry(what: str, call: Callable, first: RetryWithBackoff):
    raise first


class ExecutionManager:
    """Args: venues (account -> venue), transfers (the transit account), portfolio, state (the run's
    market state: its ``t`` stamps refusals and records), gas, wallet, tx_base_gas, id_prefix (of the
    ids the registry assigns).

    Attributes:
        registry: the run's ``OrderRegistry`` (every order and bracket child by client order id).
    """

    def __init__(self, venues: dict, transfers, portfolio: Portfolio, state, gas: GasModel | None = None,
                 wallet: str = "wallet", tx_base_gas: int = 21000, id_prefix: str = "o") -> None:
        self.venues = venues
        self.transfers = transfers
        self.portfolio = portfolio
        self.state = state
        self.gas = gas
        self.wallet = wallet
        self.tx_base_gas = tx_base_gas
        self.registry = OrderRegistry(id_prefix)
        self.retry = _no_retry  # the kernel sets its RetryWithBackoff policy (Kernel.retry)
        self.publish: Callable | None = None  # the kernel's publish (lot_rounded events); None: not published
        self.skipped: set = set()  # signatures of the orders skipped for their lot (EXEC-009)
        self.skips_repeated: dict = {}  # signature -> times the same order was skipped again (not reported)
        self.all_skipped = False  # whether the last execute() call skipped every order it got (lot sizes)
        self._books = {name: v.resting for name, v in venues.items() if getattr(v, "resting", None) is not None}
        for book in self._books.values():
            book.adopt = self.registry.adopt  # bracket children join the run's registry

    # -- orders ------------------------------------------------------------------------------------
    def execute(self, orders: list[Order], report: Callable) -> list[Trade]:
        """Run ``orders``; ``report(ev)`` receives every account event once it is final (already applied
        to the portfolio). Returns the trades in order (fills and refusals; a resting order that only
        rests has none)."""
        trades: list[Trade] = []
        groups: dict[str, list] = {}
        plan: list = []
        register = self._register
        n_skipped = 0
        for o in orders:
            if o.operation in _LOTTED and o.execution_mode is not ExecutionMode.ATOMIC:
                o, skipped = self._to_lot(o)
                if skipped is not None:
                    n_skipped += 1
                    if skipped is not _REPEAT:
                        plan.append(skipped)
                    continue
            item = register(o)
            if o.execution_mode is ExecutionMode.ATOMIC:
                g = groups.get(o.atomic_group_id)
                if g is None:
                    g = groups[o.atomic_group_id] = []
                    plan.append(g)
                g.append(item)
            else:
                plan.append(item)
        apply = self.portfolio.apply
        for item in plan:
            kind = type(item)
            if kind is OrderRecord:
                o = item.order
                if o.order_type is _MARKET and o.take_profit is None and o.stop_loss is None:
                    tr = self._send(o)
                    self._settle(item, tr)
                    apply(tr)
                    report(tr)
                    trades.append(tr)
                else:
                    trades.extend(self._place(item, report))
            elif kind is list:
                trades.extend(self._atomic(sorted(item, key=lambda x: x.order.sequence_in_group), report))
            else:  # a refusal by the registry, or an order skipped for its lot: nothing was sent
                report(item)
                trades.append(item)
        self.all_skipped = bool(orders) and n_skipped == len(orders)
        return trades

    def _to_lot(self, order: Order) -> tuple[Order, Trade | None]:
        """``order`` rounded to its account's lot (module docstring), or a skipped (EXEC-009) trade."""
        venue = self.venues.get(order.venue)
        lot_of = getattr(venue, "lot", None)
        lot = lot_of(order.token) if lot_of is not None else None
        if lot is None:
            return order, None
        t = self.state.t
        amount = lot.floor(order.amount)
        price = order.limit_price or (venue.price(order.token) if hasattr(venue, "price") else venue.mark_price(order.token))
        why = lot.problem(amount, price)
        if why is not None:
            # the same amount still below the minimum (at any price: the check above ran at this one)
            sig = (order.venue, order.operation, order.token, order.side, order.order_type, order.amount)
            if sig in self.skipped:
                self.skips_repeated[sig] = self.skips_repeated.get(sig, 0) + 1
                return order, _REPEAT
            self.skipped.add(sig)
            return order, Trade(order, t, TradeStatus.REJECTED, error_code="EXEC-009",
                                error=f"not sent: {order.amount:.10g} {order.token} rounded to {order.venue}'s lot "
                                      f"step {lot.step:.10g} -> {why}")
        if amount != order.amount:
            if self.publish is not None:
                self.publish(Event(t, order.venue, "lot_rounded", {
                    "operation": order.operation.value, "token": order.token,
                    "side": order.side.value if order.side else None, "requested": order.amount, "amount": amount,
                    "step": lot.step, "residual": order.amount - amount}))
            order = replace(order, amount=amount)
        return order, None

    def _register(self, order: Order) -> OrderRecord | Trade:
        """The order's new record (SUBMITTED), or a REJECTED trade when its id is known (EXEC-006: the same
        order again; EXEC-005: another order) or has the form of a bracket leg's id (EXEC-005)."""
        t = self.state.t
        cid = order.client_order_id
        if cid is not None and _LEG_ID.search(cid) and cid not in self.registry:
            return Trade(order, t, TradeStatus.REJECTED, error_code="EXEC-005",
                         error=f"client order id {cid!r} has the form of a bracket leg's id (<entry>-tp-<k> / "
                               "<entry>-sl-<k>), which the venues give the legs they create: choose another id")
        try:
            record, new = self.registry.submit(order, t)
        except DuplicateOrderId as exc:
            return Trade(order, t, TradeStatus.REJECTED, error_code=exc.code, error=str(exc))
        if not new:
            return Trade(record.order, t, TradeStatus.REJECTED, error_code="EXEC-006",
                         error=f"client order id {record.client_order_id!r} was already submitted ({record.status.value}, "
                               f"filled {record.filled:.10g} of {record.quantity:.10g}): not sent again")
        return record

    def _send(self, order: Order) -> Trade:
        if order.operation is Operation.TRANSFER:
            return self.transfers.submit((order,))[0]
        venue = self.venues.get(order.venue)
        if venue is None:
            return Trade(order, self.state.t, TradeStatus.REJECTED, error_code="EXEC-002",
                         error=f"unknown venue account {order.venue!r}; known: {sorted(self.venues)}")
        try:
            return venue.submit((order,))[0]
        except RetryWithBackoff as exc:  # resent under the same client order id: a venue never fills it twice
            return self.retry(f"{order.venue}.submit {order.client_order_id}", lambda: venue.submit((order,))[0], exc)

    def _settle(self, record: OrderRecord, tr: Trade) -> None:
        """A market order's record after its venue's answer (module docstring)."""
        t = self.state.t
        if tr.status is TradeStatus.FILLED:
            record.accept(t)
            q = tr.executed_amount
            if q > 0.0 and tr.price > 0.0:
                record.fill(t, min(q, record.quantity), tr.price)
            if not record.is_terminal:
                record.expire(t, f"the venue executed {q:.10g} of {record.quantity:.10g} (what the account held, "
                                 "within the amount tolerance): the rest expires")
        else:
            record.reject(t, f"{tr.error_code}: {tr.error}")

    def _place(self, record: OrderRecord, report: Callable) -> list[Trade]:
        """A resting order, or a market entry with a bracket (module docstring)."""
        o, t = record.order, self.state.t
        book = self._books.get(o.venue)
        if book is None:
            code, why = (("EXEC-002", f"unknown venue account {o.venue!r}; known: {sorted(self.venues)}")
                         if o.venue not in self.venues else
                         ("VENUE-002", f"{o.venue} takes market orders only (no resting orders, no brackets)"))
            tr = Trade(o, t, TradeStatus.REJECTED, error_code=code, error=why)
            self._settle(record, tr)
            events: list = [tr]
            if o.order_type is not _MARKET:  # a resting order: its rejection is published too
                events.append(OrderStatusChanged(t, o.venue, record.client_order_id, record.status.value,
                                                 record.history[-1].reason))
            return self._emit(events, report)
        if o.order_type is not _MARKET:
            return self._emit(book.place(record), report)
        code, problem = book.problem(o) or ("VENUE-002", bracket_problem(o))
        tr = Trade(o, t, TradeStatus.REJECTED, error_code=code, error=problem) if problem else self._send(o)
        self._settle(record, tr)
        out = self._emit([tr], report)
        if tr.ok and record.filled > 0.0:
            out += self._emit(book.attach(record, record.filled), report)
        return out

    def _emit(self, events: Iterable, report: Callable) -> list[Trade]:
        """Apply and report ``events`` in order; returns the trades among them."""
        apply = self.portfolio.apply
        out = []
        for ev in events:
            apply(ev)
            report(ev)
            if ev.kind == "trade":
                out.append(ev)
        return out

    # -- cancels and look-ups ----------------------------------------------------------------------
    def cancel(self, client_order_ids: Iterable[str], report: Callable) -> list[Event]:
        """Cancel the resting orders named by ``client_order_ids`` at their venues' books, in order;
        ``report`` receives each CANCELLED ``OrderStatusChanged``. Returns one ``cancel_failed`` error
        event (``data``: client_order_id, code, error) per id that could not be cancelled: EXEC-007 an
        id the run does not know, EXEC-004 an order that has already ended."""
        errors: list[Event] = []
        for cid in client_order_ids:
            try:
                events = self._cancel(cid)
            except (UnknownOrder, IllegalTransition) as exc:
                errors.append(Event(self.state.t, "execution", "cancel_failed",
                                    {"client_order_id": cid, "code": exc.code, "error": str(exc)}))
                continue
            self._emit(events, report)
        return errors

    def _cancel(self, cid) -> list:
        if not isinstance(cid, str) or cid not in self.registry:
            raise UnknownOrder(f"cancel: no order of this run has client order id {cid!r}")
        record = self.registry.get(cid)
        book = self._books.get(record.order.venue)
        if record.is_terminal or book is None:
            raise IllegalTransition(f"cancel: order {cid!r} has already ended ({record.status.value}, filled "
                                    f"{record.filled:.10g} of {record.quantity:.10g}): nothing to cancel")
        return book.cancel(cid)

    def open_orders(self, account: str | None = None, token: str | None = None) -> list[OrderView]:
        """Working resting orders (accepted, partially filled), bracket children included, of one venue
        account and/or token or all; per account in submission order."""
        out: list[OrderView] = []
        for name, book in self._books.items():
            if book.active and (account is None or account == name):
                out += [r.view() for r in book.open_orders(token)]
        return out

    def order_status(self, client_order_id: str) -> OrderView | None:
        """The order's state now, or None when the run knows no order with this id."""
        reg = self.registry
        return reg.get(client_order_id).view() if client_order_id in reg else None

    # -- atomic groups -----------------------------------------------------------------------------
    def _atomic(self, group: list, report: Callable) -> list[Trade]:
        portfolio_cp = self.portfolio.snapshot()
        venue_cps = {name: v.checkpoint() for name, v in self.venues.items()}
        done: list[Trade] = []
        failed: Trade | None = None
        t = self.state.t
        for item in group:
            if type(item) is not OrderRecord:
                tr = item  # refused by the registry
            elif item.order.order_type is not _MARKET or item.order.take_profit is not None \
                    or item.order.stop_loss is not None:
                tr = Trade(item.order, t, TradeStatus.REJECTED, error_code="EXEC-008",
                           error="a resting order or a bracketed entry cannot be a leg of an atomic group")
            else:
                tr = self._send(item.order)
            done.append(tr)
            if not tr.ok:
                failed = tr
                break
            self.portfolio.apply(tr)
        if failed is None:
            open_loans = {f"{name}:{tok}": owed for name, v in self.venues.items()
                          for tok, owed in (v.open_flash() if hasattr(v, "open_flash") else {}).items()}
            if open_loans:
                failed = Trade(group[-1].order, t, TradeStatus.REJECTED, error_code="EXEC-003",
                               error=f"flash loan not repaid by the end of the group: {open_loans}")
        units = tx_gas_units([tr.gas_units if tr.ok else self._leg_units(tr.order) for tr in done], self.tx_base_gas)
        records = [x for x in group if type(x) is OrderRecord]
        if failed is None:
            gas_usd = self._pay_gas(group[0].order.venue, units, report)
            out = [replace(tr, gas_usd=gas_usd) if k == 0 else tr for k, tr in enumerate(done)]
            for rec, tr in zip(group, out):
                if type(rec) is OrderRecord:
                    self._settle(rec, tr)
            for tr in out:
                report(tr)
            return out
        self.portfolio.restore(portfolio_cp)
        for name, v in self.venues.items():
            v.restore(venue_cps[name])
        gas_usd = self._pay_gas(group[0].order.venue, units, report)  # the reverted transaction still burnt its gas
        leg = failed.order.sequence_in_group
        reason = f"atomic group {group[0].order.atomic_group_id} failed at leg {leg}: {failed.error}"
        code = failed.error_code or "EXEC-001"
        for rec in records:
            rec.reject(t, f"{code}: {reason}")
        out = [Trade(x.order, t, TradeStatus.FAILED, error_code=code, error=reason,
                     gas_usd=gas_usd if k == 0 else 0.0) for k, x in enumerate(group)]
        for tr in out:
            report(tr)
        return out

    def _leg_units(self, order: Order) -> int:
        """Gas of a leg that reverted: the call still ran up to the revert."""
        venue = self.venues.get(order.venue)
        return venue.gas_units(order.operation) if venue is not None and hasattr(venue, "gas_units") else 0

    def _pay_gas(self, venue: str, units: int, report: Callable) -> float:
        if not units or self.gas is None:
            return 0.0
        usd, deltas, pnl = self.gas.charge(self.wallet, venue, units)
        ev = AccountChange(self.state.t, self.wallet, "gas", deltas=deltas, pnl=pnl,
                           data={"venue": venue, "gas_units": units, "usd": usd})
        self.portfolio.apply(ev)
        report(ev)
        return usd
