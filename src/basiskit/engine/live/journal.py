"""The order journal: every order and transfer of a session persisted by client order id as it
changes, written *ahead* of the venue call, so a crash at any point leaves a record recovery can
settle with the venue (``engine.live.recovery``).

Per order handed to a venue account (``JournaledAccount.submit``, installed on the run's accounts):

1. ``intent`` journaled (client order id, venue, operation, token, side, amount, clock time);
2. handed to the exchange (live: the adapter / ``remote``) -- the latency from the step's market data
   to this moment is measured here (``latencies_ns``);
3. the local account applies the same order (paper: it *is* the venue; live: its mirror, which must
   agree with the exchange's fill, else ``RecoveryConflict``; a venue that filled its lot-size rounding of
   the amount -- ccxt truncates to the market's amount precision -- is mirrored with the amount it filled,
   and an order the venue refused is not applied at all);
4. the venue's answer journaled: ``filled`` (amount, price, fee) / ``rejected`` / ``deferred``; a
   transfer with a delay is ``pending`` until its arrival time passes (then ``arrived``), and each
   transfer is also a ``fund_transfers`` row per status.

The IOC orders of the book-ticker (signal) modes do not pass an account's ``submit``: the execution manager
hands them to the account's latency book (``venues.sim.latency_book``), which executes them ``latency_ms``
later. :class:`JournaledBook` journals them the same way: ``intent`` before the book gets the order, then
``submitted`` (accepted, on its way to the venue) or its outcome at once (``rejected``; ``filled`` /
``expired`` with no latency), and the outcome when it meets the venue at a later step: ``filled`` (amount,
average price, fee), ``expired`` (IOC: the book beyond the limit) or ``cancelled``.

:class:`CrashPoints` is the fault-injection hook the recovery tests use (``BASISKIT_LIVE_CRASH_AT``):
the process SIGKILLs itself the n-th time it reaches a point (``before_submit``, ``after_submit``:
the exchange has the order, nothing journaled; ``after_ack``: the fill applied in memory, not
stored; ``after_store``: between two orders of a step, e.g. mid-rebalance or with a transfer pending).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import replace

from basiskit.domain.order_state import OrderRecord, OrderStatus
from basiskit.domain.orders import Operation, Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.engine.live.errors import RecoveryConflict
from basiskit.persistence.live_store import LiveOrderRecord
from basiskit.persistence.records import TransferRecord

CRASH_ENV = "BASISKIT_LIVE_CRASH_AT"
CRASH_POINTS = ("before_submit", "after_submit", "after_ack", "after_store")


class CrashPoints:
    """``spec``: ``point:n[,point:n...]`` -- SIGKILL this process the n-th time ``point`` is reached
    (counted over the process). Raises ValueError for an unknown point or a bad count."""

    def __init__(self, spec: str | None = None) -> None:
        self.at: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        for part in filter(None, (spec or "").split(",")):
            point, _, n = part.partition(":")
            if point not in CRASH_POINTS or not n.isdigit() or int(n) < 1:
                raise ValueError(f"{CRASH_ENV}: {part!r} is not point:n with a point in {CRASH_POINTS} and n >= 1")
            self.at[point] = int(n)

    @classmethod
    def from_env(cls) -> CrashPoints:
        return cls(os.environ.get(CRASH_ENV))

    def hit(self, point: str) -> None:
        if not self.at:
            return
        k = self.seen[point] = self.seen.get(point, 0) + 1
        if self.at.get(point) == k:
            os.kill(os.getpid(), signal.SIGKILL)


def _matches(a: Trade, b: Trade) -> bool:
    if a.status is not b.status:
        return False
    if a.status is not TradeStatus.FILLED:
        return True
    if a.order.operation is Operation.TRANSFER:  # token units moved, no price (the simulators quote 1, venues none)
        return abs(a.executed_amount - b.executed_amount) <= 1e-9 * max(1.0, abs(a.executed_amount))
    tol = 1e-9 * max(1.0, abs(a.executed_amount))
    return abs(a.executed_amount - b.executed_amount) <= tol and abs((a.price or 0) - (b.price or 0)) <= 1e-9 * max(1.0, abs(a.price or 0))


class OrderJournal:
    """Args: store (a ``LiveStore``), strategy_id, run_id, clock (() -> the run's clock time, ns),
    crash (``CrashPoints``), step_started (() -> perf_counter ns when the step's market data was
    taken in; the driver's ``step_started_ns``), step_started_cpu (the thread's CPU time then)."""

    def __init__(self, store, strategy_id: str, run_id: str, clock: Callable[[], int], crash: CrashPoints | None = None,
                 step_started: Callable[[], int] | None = None, step_started_cpu: Callable[[], int] | None = None) -> None:
        self.store = store
        self.strategy_id = strategy_id
        self.run_id = run_id
        self.clock = clock
        self.crash = crash or CrashPoints()
        self.step_started = step_started
        self.seq = 0
        self.latencies_ns: list[int] = []      # wall (perf_counter) ns from the step's market data to the hand-over
        self.cpu_latencies_ns: list[int] = []  # the same in this thread's CPU time (without scheduling waits)
        self.step_started_cpu = step_started_cpu
        self.pending_transfers: dict[str, tuple[int, LiveOrderRecord]] = {}  # cid -> (arrival ns, record)
        self.order_seq: dict[str, int] = {}  # cid -> the seq of its intent (an order a latency book holds)

    def _record(self, o: Order, status: str, seq: int | None = None, **kw) -> LiveOrderRecord:
        return LiveOrderRecord(o.client_order_id or "", self.run_id, self.seq if seq is None else seq, self.clock(),
                               o.venue, o.operation.value, o.token, o.side.value if o.side else None, o.amount, status,
                               to_venue=o.to_venue, **kw)

    def intent(self, o: Order) -> None:
        self.seq += 1
        self.store.put_order(self.strategy_id, self._record(o, "intent", data={"reason": o.reason}))

    def handed(self) -> None:
        if self.step_started is not None:
            s = self.step_started()
            if s:
                self.latencies_ns.append(time.perf_counter_ns() - s)
                if self.step_started_cpu is not None:
                    self.cpu_latencies_ns.append(time.thread_time_ns() - self.step_started_cpu())

    def result(self, o: Order, tr: Trade, arrival_ns: int | None = None, bookkeeping: bool = False) -> None:
        """Store the outcome of ``o``. ``bookkeeping``: nothing moved at the venue (a transfer between the
        sub-accounts of a unified venue account): recorded in the row's ``data``."""
        data = {"fee": tr.fee, "fee_currency": tr.fee_currency, "error_code": tr.error_code, "error": tr.error}
        if bookkeeping:
            data["bookkeeping"] = "sub-accounts of one unified venue account: no venue call"
        if tr.status is TradeStatus.FILLED:
            status = "pending" if arrival_ns is not None else "filled"
            if arrival_ns is not None:
                data["arrival_ns"] = arrival_ns
        else:
            status = tr.status.value
        rec = self._record(o, status, filled=tr.executed_amount, price=tr.price, data=data)
        self.store.put_order(self.strategy_id, rec)
        if o.operation is Operation.TRANSFER and tr.status is TradeStatus.FILLED:
            self._transfer_row(rec, status)
            if arrival_ns is not None:
                self.pending_transfers[rec.client_order_id] = (arrival_ns, rec)

    def book_result(self, record: OrderRecord, events: list) -> None:
        """The state of an order a latency book holds (module docstring), after ``events`` (the book's
        output that changed it: its ``Trade`` gives the fee). ``submitted`` while it is on its way."""
        o, st = record.order, record.status
        status = "submitted" if st in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED) \
            else st.value
        data: dict = {"reason": record.history[-1].reason or o.reason}
        tr = next((e for e in events if isinstance(e, Trade) and e.order.client_order_id == o.client_order_id), None)
        if tr is not None:
            data.update(fee=tr.fee, fee_currency=tr.fee_currency, error_code=tr.error_code, error=tr.error)
        cid = o.client_order_id or ""
        seq = self.order_seq.pop(cid, 0) if status != "submitted" else self.order_seq.get(cid, 0)
        self.store.put_order(self.strategy_id, self._record(o, status, seq, filled=record.filled, price=record.avg_price,
                                                            data=data))

    def _transfer_row(self, rec: LiveOrderRecord, status: str) -> None:
        add = getattr(self.store, "add_transfers", None)
        if add is not None:
            add([TransferRecord(self.strategy_id, self.clock(), "transfer", rec.token, rec.filled, rec.venue,
                                rec.to_venue, status, self.run_id)])

    def arrivals(self, t: int) -> None:
        """Pending transfers whose arrival time has passed at clock time ``t``: ``arrived``."""
        for cid, (arr, rec) in list(self.pending_transfers.items()):
            if arr <= t:
                done = LiveOrderRecord(**{**{f: getattr(rec, f) for f in rec.__dataclass_fields__}, "status": "arrived"})
                self.store.put_order(self.strategy_id, done)
                self._transfer_row(done, "arrived")
                del self.pending_transfers[cid]


class JournaledAccount:
    """Installs the journal on one venue account (``install``: its ``submit`` and ``on_market`` are
    replaced on the instance, so every reader of the account still sees the simulator itself).
    ``remote``: the exchange the orders really go to (``engine.live.sim_exchange.ExchangeClient`` or
    a live adapter with ``submit(t, account, order) -> Trade``), or None (paper: the account is the
    venue)."""

    def __init__(self, account, journal: OrderJournal, remote=None, sync_market: bool = False) -> None:
        self.account = account
        self.journal = journal
        self.remote = remote
        self._submit = account.submit
        self._on_market = account.on_market
        self._sync = sync_market and remote is not None
        self._transit = hasattr(account, "pending") and hasattr(account, "in_transit")

    def install(self) -> None:
        self.account.submit = self.submit
        self.account.on_market = self.on_market

    def on_market(self, tick):
        if self._sync:
            self.remote.sync(tick.timestamp)
        if self._transit:
            self.journal.arrivals(tick.timestamp)
        return self._on_market(tick)

    def submit(self, orders) -> list:
        j, crash = self.journal, self.journal.crash
        out = []
        for o in orders:
            j.intent(o)
            crash.hit("before_submit")
            j.handed()
            theirs = self.remote.submit(j.clock(), o.venue, o) if self.remote is not None else None
            crash.hit("after_submit")
            before = len(self.account.pending) if self._transit else 0
            if theirs is not None and getattr(theirs, "status", None) is TradeStatus.REJECTED:
                tr = theirs  # the venue refused it (e.g. below its minimum lot): nothing happened, the mirror neither
                crash.hit("after_ack")
                j.result(o, tr, None)
                crash.hit("after_store")
                out.append(tr)
                continue
            mine = o
            if (isinstance(theirs, Trade) and theirs.ok and o.operation is not Operation.TRANSFER
                    and theirs.executed_amount != o.amount):
                # the venue filled its lot-size rounding of the amount: the session's view books what it filled
                mine = replace(o, amount=theirs.executed_amount)
            tr = self._submit((mine,))[0]
            if theirs is not None and not _matches(theirs, tr):
                raise RecoveryConflict(f"the exchange answered {o.client_order_id} with {theirs.status.value} "
                                       f"{theirs.executed_amount} @ {theirs.price}, the session's mirror of {o.venue} with "
                                       f"{tr.status.value} {tr.executed_amount} @ {tr.price}")
            crash.hit("after_ack")
            arrival = self.account.pending[-1][0] if self._transit and len(self.account.pending) > before else None
            book_only = getattr(self.remote, "is_bookkeeping", None)
            j.result(o, tr, arrival, bookkeeping=bool(book_only and book_only(o.venue, o)))
            crash.hit("after_store")
            out.append(tr)
        return out


class JournaledBook:
    """Installs the journal on an account's latency book (module docstring): its ``place``, ``on_open`` and
    ``cancel`` are replaced on the instance (the account and the execution manager still hold the book
    itself). Crash points as for ``JournaledAccount``: ``before_submit`` (intent journaled), ``after_submit``
    (the book has the order), ``after_ack`` (an order's new state in memory, not stored), ``after_store``."""

    def __init__(self, book, journal: OrderJournal) -> None:
        self.book = book
        self.journal = journal
        self._place = book.place
        self._on_open = book.on_open
        self._cancel = book.cancel

    def install(self) -> None:
        self.book.place = self.place
        self.book.on_open = self.on_open
        self.book.cancel = self.cancel

    def place(self, record: OrderRecord) -> list:
        j, crash = self.journal, self.journal.crash
        j.intent(record.order)
        j.order_seq[record.client_order_id] = j.seq
        crash.hit("before_submit")
        j.handed()
        out = self._place(record)
        crash.hit("after_submit")
        crash.hit("after_ack")
        j.book_result(record, out)
        crash.hit("after_store")
        return out

    def on_open(self) -> list:
        waiting = self.book.open_orders()
        out = self._on_open()
        self._store([r for r in waiting if r.is_terminal], out)
        return out

    def cancel(self, client_order_id: str) -> list:
        record = next((r for r in self.book.open_orders() if r.client_order_id == client_order_id), None)
        out = self._cancel(client_order_id)
        if record is not None:
            self._store([record], out)
        return out

    def _store(self, records: list[OrderRecord], events: list) -> None:
        j, crash = self.journal, self.journal.crash
        for r in records:
            crash.hit("after_ack")
            j.book_result(r, events)
            crash.hit("after_store")
