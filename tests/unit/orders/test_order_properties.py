"""Property tests (hypothesis): random order / resubmit / cancel / fill / bar / expiry sequences.

Whatever the sequence: every status change of every order is in the state table, history times never
go backwards, no order fills beyond its quantity, an id is executed by the venue exactly for what its
record booked (never twice, never after a terminal status), at most one member of an OCO group or a
bracket pair ever fills, bracket children never exceed their entry's fills, and a reduce-only fill
never takes the position through zero.
"""

from __future__ import annotations

import math
from collections import defaultdict

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from basiskit.domain.order_state import QTY_RTOL, TERMINAL, IllegalTransition, OrderRecord, OrderStatus, is_legal
from basiskit.domain.orders import Operation, Order, OrderType, Side, TimeInForce
from basiskit.engine.order_registry import OrderRegistry
from basiskit.errors import DuplicateOrderId, OrderRejected
from basiskit.venues.sim.resting import Bar, Executed, RestingBook, Trigger

H = 3600 * 10**9
S = OrderStatus
FILLS = (S.PARTIALLY_FILLED, S.FILLED)


def fill_sum(r: OrderRecord) -> float:
    return sum(h.quantity for h in r.history if h.status in FILLS)


def check_record(r: OrderRecord) -> None:
    h = r.history
    assert h[0].status is S.INITIALISED
    for a, b in zip(h, h[1:]):
        assert is_legal(a.status, b.status), (r.client_order_id, a.status, b.status)
        assert b.ts >= a.ts
    assert all(x.status not in TERMINAL for x in h[:-1])  # a terminal status is the last word
    assert r.status is h[-1].status
    assert r.filled <= r.quantity * (1 + QTY_RTOL)
    assert math.isclose(r.filled, fill_sum(r), rel_tol=1e-9, abs_tol=1e-12)
    assert (r.status is S.FILLED) == (r.filled >= r.quantity * (1 - QTY_RTOL) and r.filled > 0)


# ---- the record alone ----------------------------------------------------------------------------

_ops = st.lists(st.one_of(
    st.sampled_from(["submit", "accept", "cancel", "expire", "reject"]).map(lambda op: (op, 0.0)),
    st.floats(min_value=-0.5, max_value=1.5, allow_nan=False).map(lambda q: ("fill", q)),
), max_size=25)


@settings(max_examples=300, deadline=None)
@given(_ops)
def test_any_call_sequence_on_a_record_stays_in_the_table(ops):
    r = OrderRecord(Order(Operation.SPOT_TRADE, "binance.spot", 1.0, "BTC", side=Side.BUY, client_order_id="x"), 0)
    for ts, (op, q) in enumerate(ops, start=1):
        before = (r.status, r.filled, r.history)
        try:
            if op == "fill":
                r.fill(ts, q, 100.0)
            elif op == "reject":
                r.reject(ts, "no")
            else:
                getattr(r, op)(ts)
        except IllegalTransition:
            assert (r.status, r.filled, r.history) == before  # refused: nothing changed
        else:
            assert len(r.history) == len(before[2]) + 1 and is_legal(before[0], r.status)
        check_record(r)


# ---- registry + resting book + a venue ----------------------------------------------------------

sides = st.sampled_from([Side.BUY, Side.SELL])
offsets = st.floats(min_value=-0.08, max_value=0.08, allow_nan=False)
quantities = st.floats(min_value=0.05, max_value=3.0, allow_nan=False)
ids = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))


class OrderLife(RuleBasedStateMachine):
    """A venue that trades one token: the test keeps the position and a log of what it executed."""

    @initialize(participation=st.one_of(st.none(), st.sampled_from([0.001, 0.01, 0.2])))
    def start(self, participation):
        self.reg = OrderRegistry("p")
        self.book = RestingBook(participation=participation)
        self.i, self.price, self.position = 1, 100.0, 0.0
        self.executed: dict[str, float] = defaultdict(float)
        self.groups = 0
        self.refuse = False

    @property
    def now(self) -> int:
        return self.i * H  # the next bar's open: decisions happen there

    def execute(self, t: Trigger) -> Executed:
        if self.refuse:  # the venue refuses the first fill of this bar (e.g. margin)
            self.refuse = False
            raise OrderRejected("refused by the test venue")
        before = self.position
        self.position += t.quantity if t.side is Side.BUY else -t.quantity
        if t.reduce_only:  # never through zero
            assert abs(self.position) <= abs(before) * (1 + 1e-9) + 1e-12 and self.position * before >= -1e-12
        self.executed[t.client_order_id] += t.quantity
        return Executed(t.quantity, t.price)

    def _adopt(self, updates) -> None:
        for u in updates:
            self.reg.adopt(u.record)

    def _make(self, side, otype, off, qty, cid, tif, expire_h, reduce_only, bracket, oco) -> Order | None:
        ref = self.price * (1 + off)
        kw: dict = dict(side=side, order_type=otype, client_order_id=cid, reduce_only=reduce_only, oco_group=oco)
        if otype is OrderType.LIMIT:
            kw["limit_price"] = ref
        elif otype is not OrderType.MARKET:
            kw["stop_price"] = ref
        if otype is OrderType.LIMIT or tif in (TimeInForce.GTC, TimeInForce.GTD):
            kw["time_in_force"] = tif
        if tif is TimeInForce.GTD and "time_in_force" in kw:
            kw["expire_ns"] = self.now + int(expire_h * H)
        if bracket:
            up, down = ref * 1.03, ref * 0.97
            kw["take_profit"], kw["stop_loss"] = (up, down) if side is Side.BUY else (down, up)
        return Order(Operation.PERP_TRADE, "sim.perp", qty, "BTC", **kw)

    @rule(side=sides, otype=st.sampled_from([OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT]),
          off=offsets, qty=quantities, cid=ids, tif=st.sampled_from(list(TimeInForce)),
          expire_h=st.floats(min_value=0.0, max_value=4.0), reduce_only=st.booleans(), bracket=st.booleans())
    def submit(self, side, otype, off, qty, cid, tif, expire_h, reduce_only, bracket):
        self._submit(self._make(side, otype, off, qty, cid, tif, expire_h, reduce_only, bracket, None))

    def _submit(self, order: Order) -> OrderRecord | None:
        known = self.reg.get(order.client_order_id) if order.client_order_id in self.reg else None
        before = None if known is None else (known.status, known.history)
        try:
            sub = self.reg.submit(order, self.now)
        except DuplicateOrderId:
            assert known is not None and known.order != order and (known.status, known.history) == before
            return None
        if not sub.new:  # a resubmission: the known record, untouched, and nothing reaches the venue
            assert sub.record is known and (known.status, known.history) == before
            return None
        self._adopt(self.book.add(sub.record, self.now))
        return sub.record

    @rule(data=st.data())
    def resubmit(self, data):
        records = list(self.reg)
        if records:
            r = data.draw(st.sampled_from(records))
            before = (r.status, r.history)
            sub = self.reg.submit(r.order, self.now + 1)
            assert not sub.new and sub.record is r and (r.status, r.history) == before

    @rule(side=sides, off1=offsets, off2=offsets, qty=quantities)
    def oco_pair(self, side, off1, off2, qty):
        self.groups += 1
        g = f"g{self.groups}"
        self._submit(self._make(side, OrderType.LIMIT, -abs(off1) if side is Side.BUY else abs(off1), qty, None,
                                TimeInForce.GTC, 0, False, False, g))
        self._submit(self._make(side, OrderType.STOP, abs(off2) if side is Side.BUY else -abs(off2), qty, None,
                                TimeInForce.GTC, 0, False, False, g))

    @rule(side=sides, qty=quantities)
    def market_entry_with_bracket(self, side, qty):
        order = self._make(side, OrderType.MARKET, 0.0, qty, None, TimeInForce.GTC, 0, False, True, None)
        rec = self.reg.submit(order, self.now).record
        rec.accept(self.now)
        t = Trigger(rec.client_order_id, "BTC", side, qty, self.price, self.now, "market", False, False)
        done = self.execute(t)
        rec.fill(self.now, done.quantity, done.price)
        self._adopt(self.book.attach_bracket(rec, self.now, done.quantity))

    @rule(data=st.data())
    def cancel(self, data):
        records = [r for r in self.reg if r.order.order_type is not OrderType.MARKET]  # the book's orders
        if not records:
            return
        r = data.draw(st.sampled_from(records))
        before = (r.status, r.history)
        try:
            self.book.cancel(r.client_order_id, self.now)
        except IllegalTransition:
            assert before[0] in TERMINAL and (r.status, r.history) == before
        else:
            assert before[0] not in TERMINAL and r.status is S.CANCELLED

    @rule(gap=st.one_of(st.floats(min_value=-0.01, max_value=0.01), st.floats(min_value=-0.1, max_value=0.1)),
          move=st.floats(min_value=-0.05, max_value=0.05), up=st.floats(min_value=0, max_value=0.05),
          down=st.floats(min_value=0, max_value=0.05), volume=st.floats(min_value=0, max_value=500),
          split=st.booleans(), refuse=st.sampled_from([False, False, False, True]))
    def bar(self, gap, move, up, down, volume, split, refuse):
        self.refuse = refuse
        o = self.price * (1 + gap)
        c = o * (1 + move)
        b = Bar("BTC", self.i * H, (self.i + 1) * H, o, max(o, c) * (1 + up), min(o, c) * (1 - down), c, volume)
        if split:
            self._adopt(self.book.on_open("BTC", b.open_ns, o, position=self.position, execute=self.execute))
        ups = self.book.on_bar(b, position=self.position, execute=self.execute)
        self._adopt(ups)
        for u in ups:  # what the sequences reach (shown by --hypothesis-show-statistics)
            o = u.record.order
            if u.change.status in FILLS:
                event(f"fill of a {'bracket child' if '-bracket-' in (o.oco_group or '') else o.order_type.value}"
                      f"{' (partial)' if u.change.status is S.PARTIALLY_FILLED else ''}")
            elif u.change.status is not S.ACCEPTED and u.change.status is not S.SUBMITTED:
                event(f"{u.change.status.value}: {u.change.reason.split(':')[0]}")
        self.i += 1
        self.price = c
        self.refuse = False

    @rule(frac=st.floats(min_value=0, max_value=1))
    def expire(self, frac):
        self._adopt(self.book.expire(self.now - int(frac * H)))

    # ---- what must hold after every step ---------------------------------------------------------
    @invariant()
    def every_record_is_consistent(self):
        for r in self.reg:
            check_record(r)
            assert math.isclose(self.executed.get(r.client_order_id, 0.0), r.filled, rel_tol=1e-9, abs_tol=1e-12)

    @invariant()
    def the_book_holds_exactly_the_open_resting_orders(self):
        resting = {r.client_order_id for r in self.reg if r.is_open and r.order.order_type is not OrderType.MARKET}
        assert {r.client_order_id for r in self.book.open_orders()} == resting

    @invariant()
    def at_most_one_member_of_a_group_fills(self):
        groups: dict[str, list[OrderRecord]] = defaultdict(list)
        for r in self.reg:
            if r.order.oco_group:
                groups[r.order.oco_group].append(r)
        for g, members in groups.items():
            assert sum(1 for r in members if r.filled > 0) <= 1, g

    @invariant()
    def brackets_never_exceed_their_entry(self):
        for r in self.reg:
            o = r.order
            if o.take_profit is None and o.stop_loss is None:
                continue
            pairs = [x for x in self.reg if x.client_order_id.startswith(r.client_order_id + "-")
                     and x.order.oco_group and x.order.oco_group.startswith(r.client_order_id + "-bracket-")]
            sizes = {x.order.oco_group: x.order.amount for x in pairs}
            assert math.isclose(sum(sizes.values()), r.filled, rel_tol=1e-9, abs_tol=1e-12)
            assert sum(x.filled for x in pairs) <= r.filled * (1 + 1e-9)


OrderLife.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
TestOrderLife = OrderLife.TestCase
