"""Resting orders of a bar-based simulated venue: limit, stop, take-profit, brackets, OCO, time in force.

A pure component: no ledger, no prices of its own. The venue hands it orders (``add``,
``attach_bracket``), cancels (``cancel``), the clock (``expire``) and bars (``on_open`` at a bar's
open, optional; ``on_bar`` once the bar has closed). It decides which order fills, how much, at what
reference price, and asks the venue to execute each fill through a callback (``execute``: the venue
applies slippage and fees, books the ledger and answers the executed quantity and price, or raises
``OrderRejected``). Every status change goes through the state table (``domain/order_state.py``);
each method returns the changes it made as ``Update`` s, in time order.

Units: quantities in base-token units, prices in quote per base, times int ns since the epoch (UTC),
``Bar.volume`` in base units.

When an order takes part
    An order added at ``ts`` takes part in every bar whose open is at or after ``ts``: first that bar's
    open (its *submission price*), then the bar's range. Call ``on_open`` before any decision that has
    seen the bar's open (so a strategy cannot cancel a stop it has just seen gapped through), and
    ``on_bar`` once the bar has closed, before the decisions taken at its close. An order added after
    ``on_open`` at that same open (a decision at the open) meets the open in ``on_bar``.

Fill prices (the reference price; the venue adds slippage and fees)
    * Limit, at its submission price: a buy whose limit is at or above the price (a sell: at or below)
      crosses at once and fills at that price (taker, ``maker=False``).
    * Limit, resting: fills at its limit price when the bar trades *through* it (buy: low < limit;
      sell: high > limit), a maker fill. Also when the bar opens through it: the price moved from the
      last bar through the limit, where the resting order was waiting, so it fills at the limit, not at
      the better open (a back-test filling it at the open books a gain no venue would have paid).
      Touching the limit exactly is not enough (queue position unknown).
    * Stop (stop-market; buy when the price rises to ``stop_price``, sell when it falls to it) and
      take-profit (take-profit-market; sell when the price rises to it, buy when it falls to it):
      triggered at the touch; fills at the trigger price, or at the open when the bar opens beyond it
      (a gap: the first price after the trigger is the open). Once triggered, the order is a market
      order for what is left: what the participation cap leaves unfilled fills at the next opens.
    * Fills at an open are stamped at the open; fills inside a bar at the bar's close (when they are
      known). A fill the venue refuses (``OrderRejected``) cancels the order, with the venue's reason.

Within one bar the order of the prices is unknown (OHLC says where the price went, not when). Rules:
    * The open comes first: anything that fills at the open fills before anything intrabar.
    * **Both legs of a bracket (or several members of one OCO group) reached in one bar**: a leg
      reached at the open fires (the open is the bar's first price). Otherwise the worst fill for the
      account is assumed to come first: for same-side members the lowest price of sells, the highest of
      buys; that is the stop-loss of a bracket (a long's TP above and SL below both touched: the SL
      fires at its stop price). Mixed sides: the earliest submitted. Why: OHLC cannot tell which came
      first; "nearest the open first" is a guess whose error has no known sign, while assuming the loss
      makes a back-test a lower bound, which is what a desk sizing risk on it needs.
    * A bracket's children are born at their entry's fill. Entry filled at the open: they meet the open
      and the whole bar. Entry filled intrabar at price P: the stop-loss fires in the same bar when the
      bar's range reaches it (it may have come after the fill: assumed so, pessimistic; certain for a
      limit entry, reached on the way down/up); the take-profit only when it is certain to have come
      after the fill: the bar opened on the near side of P (buy entry: open <= P) and went on to the TP.
    * Several unrelated orders in one bar: open fills, then intrabar, each in submission order (this
      only matters for the shared participation budget and reduce-only positions).

Time in force
    ``GTC`` rests until filled or cancelled. ``IOC`` and ``FOK`` meet their submission price only
    (limit orders; a stop or take-profit with IOC/FOK is rejected): IOC fills what it can, the rest
    EXPIRES; FOK fills all of it at once or EXPIRES without a fill. ``GTD`` expires at ``expire_ns``
    (EXPIRED, stamped ``expire_ns``); it meets a bar's open when ``expire_ns`` is after the open, the bar's
    range only when it is still live at the bar's close (a fill inside the bar may have come after the
    expiry). ``expire(ts)`` expires GTD orders between bars (a live clock).

OCO and brackets
    ``oco_group``: the first member to fill (any quantity) or to trigger (a stop / take-profit) cancels
    the others. An entry with ``take_profit`` / ``stop_loss`` gets, at each fill, a TAKE_PROFIT and a
    STOP order on the other side for the quantity just filled, reduce-only, as one OCO pair: ids
    ``<entry>-tp-<k>`` / ``<entry>-sl-<k>``, group ``<entry>-bracket-<k>`` (k = 1, 2, ... per fill).
    A market entry filled by the venue gets them through ``attach_bracket``.

Reduce-only
    Fills at most the position it reduces (sell: the long; buy: the short); cancelled when it would fill
    or a bar starts and there is nothing to reduce, and what is left once a fill closed the position.

Participation cap
    ``participation`` (None = no cap): the book's fills in one token fill at most ``participation x
    bar volume`` per bar, shared by its orders (one order split in many does not escape it), in the
    order above. Fills at an open that ``on_open`` processes before the bar is complete are capped with
    the last known volume (``volume=``, else the token's previous bar in this book, else nothing fills).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from basiskit.domain.order_state import QTY_RTOL, Change, OrderRecord, OrderStatus, transition
from basiskit.domain.orders import Order, OrderType, Side, TimeInForce
from basiskit.errors.exceptions import DuplicateOrderId, OrderRejected

_STOPS = (OrderType.STOP, OrderType.TAKE_PROFIT)


@dataclass(frozen=True, slots=True)
class Bar:
    """One completed bar of one token: [open_ns, close_ns), prices quote/base, volume base units."""

    token: str
    open_ns: int
    close_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        if not (0.0 < self.low <= min(self.open, self.close) and max(self.open, self.close) <= self.high
                and math.isfinite(self.high)):
            raise ValueError(f"inconsistent bar {self.token} at {self.open_ns}: o={self.open} h={self.high} "
                             f"l={self.low} c={self.close}")
        if not (self.close_ns > self.open_ns and self.volume >= 0.0):
            raise ValueError(f"bar {self.token} at {self.open_ns}: close_ns must follow open_ns, volume >= 0")


@dataclass(frozen=True, slots=True)
class Trigger:
    """What the book asks the venue to execute now.

    ``price`` is the reference price before slippage and fees; ``ts`` when the fill happens (the bar's
    open for fills at the open, the bar's close for fills inside the bar: known then). ``maker``: a
    resting limit filled at its limit price (maker fee, no slippage); otherwise a taker fill.
    """

    client_order_id: str
    token: str
    side: Side
    quantity: float
    price: float
    ts: int
    reason: str
    maker: bool
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class Executed:
    """The venue's answer: ``0 < quantity <= trigger.quantity`` filled at ``price`` (slippage included)."""

    quantity: float
    price: float


Executor = Callable[[Trigger], Executed]
"""Books a fill on the venue. Raises ``OrderRejected`` to refuse it (the order is then CANCELLED)."""


def fill_terms(trigger: Trigger, order: Order, slippage: float, taker_fee: float,
               maker_fee: float) -> tuple[float, float]:
    """(fill price, fee rate) of a resting order's fill, both venues' rule: a maker fill at the
    reference (limit) price with ``maker_fee``; a taker fill at the reference moved by ``slippage``
    against the order, a limit order never beyond its limit price, with ``taker_fee`` (rates as
    fractions, prices in quote units)."""
    ref, buy = trigger.price, trigger.side is Side.BUY
    if trigger.maker:
        return ref, maker_fee
    fill = ref * (1 + slippage) if buy else ref * (1 - slippage)
    if order.order_type is OrderType.LIMIT:
        fill = min(fill, order.limit_price) if buy else max(fill, order.limit_price)
    return fill, taker_fee


def at_trigger_price(trigger: Trigger) -> Executed:
    """An executor without costs: fills the whole quantity at the reference price."""
    return Executed(trigger.quantity, trigger.price)


@dataclass(frozen=True, slots=True)
class Update:
    """One change the book made: the record, the history entry, and for fills the trigger."""

    record: OrderRecord
    change: Change
    trigger: Trigger | None = None


def bracket_problem(order: Order) -> str | None:
    """Why the bracket prices of an entry cannot work (a buy's stop-loss must be below its
    take-profit, a sell's above), or None."""
    tp, sl = order.take_profit, order.stop_loss
    if tp is None or sl is None:
        return None
    if order.side is Side.BUY and not sl < tp:
        return f"a buy's stop_loss ({sl}) must be below its take_profit ({tp})"
    if order.side is Side.SELL and not sl > tp:
        return f"a sell's stop_loss ({sl}) must be above its take_profit ({tp})"
    return None


def _reducible(side: Side | None, position: float) -> float:
    return max(position, 0.0) if side is Side.SELL else max(-position, 0.0)


@dataclass(slots=True)
class _Entry:
    record: OrderRecord
    seq: int
    added_ns: int
    open_seen: int | None = None  # open_ns of the last bar open it met (None: not met a price yet)
    triggered: bool = False       # a stop / take-profit that triggered: a market order for the rest


_Hit = tuple[float, str, bool]  # (reference price, reason, maker)


@dataclass(slots=True)
class _Run:
    """One phase of one bar: its time, the budget left, the position as the book's fills move it."""

    token: str
    open_ns: int
    ts: int
    budget: float
    position: float
    execute: Executor
    out: list[Update]


class RestingBook:
    """The resting orders of one simulated venue account (any number of tokens).

    Args:
        participation: fraction of a bar's volume the book may fill per token and bar (0 < p <= 1),
            None for no cap.
    """

    def __init__(self, participation: float | None = None) -> None:
        if participation is not None and not (0.0 < participation <= 1.0):
            raise ValueError(f"participation must be in (0, 1] or None, got {participation!r}")
        self.participation = participation
        self._live: dict[str, _Entry] = {}
        self._known: dict[str, OrderRecord] = {}
        self._seq = 0
        self._pairs: dict[str, int] = {}          # entry id -> bracket pairs attached
        self._covered: dict[str, float] = {}      # entry id -> quantity its pairs cover
        self._used: dict[str, tuple[int, float]] = {}  # token -> (open_ns, quantity filled at that open)
        self._last_volume: dict[str, float] = {}

    # ---- reading ---------------------------------------------------------------------------------
    def get(self, client_order_id: str) -> OrderRecord:
        return self._known[client_order_id]

    def open_orders(self, token: str | None = None) -> list[OrderRecord]:
        """Working orders (accepted, partially filled) in submission order."""
        return [e.record for e in self._live.values() if token is None or e.record.order.token == token]

    # ---- orders in -------------------------------------------------------------------------------
    def add(self, record: OrderRecord, ts: int) -> list[Update]:
        """Accept a SUBMITTED resting order at ``ts`` (or reject it, saying why).

        Raises:
            ValueError: a MARKET order (the venue fills those; see ``attach_bracket``).
            IllegalTransition: the record is not SUBMITTED.
            DuplicateOrderId: another record with this id is known to the book.
        """
        o = record.order
        if o.order_type is OrderType.MARKET:
            raise ValueError(f"order {record.client_order_id!r} is a market order: the venue fills it")
        if self._known.get(record.client_order_id, record) is not record:
            raise DuplicateOrderId(f"client order id {record.client_order_id!r} is already in the book")
        transition(record.status, OrderStatus.ACCEPTED, client_order_id=record.client_order_id)  # SUBMITTED only
        self._known[record.client_order_id] = record
        problem = bracket_problem(o)
        if o.order_type in _STOPS and o.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            problem = f"{o.time_in_force.value} applies to limit orders, not {o.order_type.value}"
        if o.time_in_force is TimeInForce.GTD and o.expire_ns is not None and o.expire_ns <= ts:
            problem = f"expire_ns {o.expire_ns} is not after the submission time {ts}"
        if problem:
            return [Update(record, record.reject(ts, problem))]
        return [Update(record, self._rest(record, ts))]

    def _rest(self, record: OrderRecord, ts: int) -> Change:
        change = record.accept(ts)
        self._seq += 1
        self._live[record.client_order_id] = _Entry(record, self._seq, ts)
        return change

    def attach_bracket(self, entry: OrderRecord, ts: int, quantity: float) -> list[Update]:
        """Attach the TP/SL pair of an entry the venue filled itself (a market order) for ``quantity``.

        Raises:
            ValueError: the entry has no bracket, its prices cannot work (``bracket_problem``), or the
                pairs would cover more than the entry's filled quantity.
        """
        o, cid = entry.order, entry.client_order_id
        if o.take_profit is None and o.stop_loss is None:
            raise ValueError(f"order {cid!r} has no take_profit / stop_loss")
        if problem := bracket_problem(o):
            raise ValueError(problem)
        covered = self._covered.get(cid, 0.0) + quantity
        if not (quantity > 0.0 and covered <= entry.filled * (1.0 + QTY_RTOL)):
            raise ValueError(f"order {cid!r}: brackets for {covered:.10g} but {entry.filled:.10g} filled")
        out: list[Update] = []
        self._children(entry, quantity, ts, out)
        return out

    def _children(self, entry: OrderRecord, quantity: float, ts: int, out: list[Update]) -> list[_Entry]:
        o, cid = entry.order, entry.client_order_id
        if o.take_profit is None and o.stop_loss is None:
            return []
        k = self._pairs[cid] = self._pairs.get(cid, 0) + 1
        self._covered[cid] = self._covered.get(cid, 0.0) + quantity
        made = []
        for kind, otype, price in (("tp", OrderType.TAKE_PROFIT, o.take_profit), ("sl", OrderType.STOP, o.stop_loss)):
            if price is None:
                continue
            child = Order(o.operation, o.venue, quantity, o.token, side=Side.SELL if o.side is Side.BUY else Side.BUY,
                          quote=o.quote, order_type=otype, stop_price=price, reduce_only=True,
                          oco_group=f"{cid}-bracket-{k}", client_order_id=f"{cid}-{kind}-{k}",
                          reason=f"{'take-profit' if kind == 'tp' else 'stop-loss'} of {cid}")
            if child.client_order_id in self._known:
                raise DuplicateOrderId(f"bracket id {child.client_order_id!r} is already in the book")
            rec = OrderRecord(child, ts)
            out.append(Update(rec, rec.submit(ts)))
            self._known[rec.client_order_id] = rec
            out.append(Update(rec, self._rest(rec, ts)))
            made.append(self._live[rec.client_order_id])
        return made

    def cancel(self, client_order_id: str, ts: int, reason: str = "cancelled on request") -> Update:
        """Cancel an order of the book. Raises KeyError (unknown id), IllegalTransition (it has ended)."""
        record = self._known[client_order_id]
        change = record.cancel(ts, reason)
        self._live.pop(client_order_id, None)
        return Update(record, change)

    def expire(self, ts: int) -> list[Update]:
        """Expire the GTD orders whose ``expire_ns`` <= ``ts`` (each stamped at its ``expire_ns``)."""
        out: list[Update] = []
        for e in list(self._live.values()):
            x = e.record.order.expire_ns
            if e.record.order.time_in_force is TimeInForce.GTD and x is not None and x <= ts:
                self._end(e, out, "expire", max(x, e.record.last_ts), "GTD: expire_ns reached")
        return out

    def _end(self, e: _Entry, out: list[Update], how: str, ts: int, reason: str) -> None:
        change = getattr(e.record, how)(ts, reason)
        self._live.pop(e.record.client_order_id, None)
        out.append(Update(e.record, change))

    # ---- prices in -------------------------------------------------------------------------------
    def on_open(self, token: str, open_ns: int, price: float, *, position: float,
                execute: Executor = at_trigger_price, volume: float | None = None) -> list[Update]:
        """The open of ``token``'s bar at ``open_ns`` (optional; call before decisions that see it).

        Args:
            position: signed position in ``token`` on this account now (base units; spot: the balance).
            volume: base volume the participation cap uses at this open (default: the token's last bar).
        """
        if not (price > 0.0 and math.isfinite(price)):
            raise ValueError(f"open price of {token} at {open_ns} must be positive, got {price!r}")
        vol = volume if volume is not None else self._last_volume.get(token, 0.0)
        run = _Run(token, open_ns, open_ns, self._cap(vol), position, execute, [])
        self._open_phase(run, price)
        self._used[token] = (open_ns, self._cap(vol) - run.budget if self.participation is not None else 0.0)
        return run.out

    def on_bar(self, bar: Bar, *, position: float, execute: Executor = at_trigger_price) -> list[Update]:
        """The completed ``bar``: its open for orders that have not met it yet, then its range.

        Args:
            position: signed position in ``bar.token`` on this account now (base units; spot: the
                balance), before this call's fills; the book adds its own fills as it goes.
            execute: books each fill on the venue (see ``Executor``).
        """
        used = self._used.pop(bar.token, (None, 0.0))
        budget = self._cap(bar.volume) - (used[1] if used[0] == bar.open_ns else 0.0)
        run = _Run(bar.token, bar.open_ns, bar.open_ns, max(budget, 0.0), position, execute, [])
        self._open_phase(run, bar.open)
        run.ts = bar.close_ns
        for e in self._token_entries(run):
            x = e.record.order.expire_ns
            if e.record.order.time_in_force is TimeInForce.GTD and x is not None and x < bar.close_ns:
                self._end(e, run.out, "expire", max(x, e.record.last_ts), "GTD: expired inside the bar")
        hits = [(e, h) for e in self._token_entries(run) if not e.triggered and (h := self._range_hit(e, bar))]
        for e, hit in self._worst_first(hits):
            if e.record.client_order_id in self._live:
                for pair in self._fire(e, hit, run):
                    self._born_intrabar(pair, hit[0], bar, run)
        self._last_volume[bar.token] = bar.volume
        return run.out

    def _cap(self, volume: float) -> float:
        return math.inf if self.participation is None else self.participation * volume

    def _token_entries(self, run: _Run) -> list[_Entry]:
        return [e for e in self._live.values() if e.record.order.token == run.token and e.added_ns <= run.open_ns]

    def _open_phase(self, run: _Run, price: float) -> None:
        o_ns = run.open_ns
        pending = [e for e in self._token_entries(run) if e.open_seen != o_ns]
        for e in pending:
            x = e.record.order.expire_ns
            if e.record.order.time_in_force is TimeInForce.GTD and x is not None and x <= o_ns:
                self._end(e, run.out, "expire", max(x, e.record.last_ts), "GTD: expire_ns reached")
            elif e.record.order.reduce_only and _reducible(e.record.order.side, run.position) <= 0.0:
                self._end(e, run.out, "cancel", o_ns, "reduce-only: no position to reduce")
        hits: list[tuple[_Entry, _Hit]] = []
        immediate: set[str] = set()
        for e in pending:
            if e.record.client_order_id not in self._live:
                continue
            first, e.open_seen = e.open_seen is None, o_ns
            hit = self._open_hit(e, price, first)
            if first and e.record.order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                if hit is None:
                    tif = e.record.order.time_in_force.value.upper()
                    self._end(e, run.out, "expire", o_ns, f"{tif}: the limit does not cross the price at submission")
                    continue
                immediate.add(e.record.client_order_id)
            if hit is not None:
                hits.append((e, hit))
        for e, hit in self._worst_first(hits):
            if e.record.client_order_id not in self._live:
                continue
            if e.record.client_order_id in immediate:
                self._immediate(e, hit, price, run)
            else:
                for pair in self._fire(e, hit, run):
                    self._meet_open(pair, price, run)

    def _meet_open(self, children: list[_Entry], price: float, run: _Run) -> None:
        """Children born at this open meet it (a stop already beyond it fires at once)."""
        hits = []
        for e in children:
            e.open_seen = run.open_ns
            if (hit := self._open_hit(e, price, False)) is not None:
                hits.append((e, hit))
        for e, hit in self._worst_first(hits):
            if e.record.client_order_id in self._live:
                self._fire(e, hit, run)

    def _immediate(self, e: _Entry, hit: _Hit, price: float, run: _Run) -> None:
        """IOC / FOK crossing at their submission price: fill what can fill (FOK: all or nothing), expire
        the rest."""
        rec, tif = e.record, e.record.order.time_in_force.value.upper()
        avail = self._available(e, run)
        if tif == "FOK" and avail < rec.remaining * (1.0 - QTY_RTOL):
            self._end(e, run.out, "expire", run.ts, f"FOK: only {avail:.10g} of {rec.remaining:.10g} can fill at once")
            return
        for pair in self._fire(e, hit, run):
            self._meet_open(pair, price, run)
        if e.record.client_order_id in self._live:
            self._end(e, run.out, "expire", run.ts, f"{tif}: the unfilled rest expires")

    # ---- where an order meets a price ------------------------------------------------------------
    @staticmethod
    def _open_hit(e: _Entry, p: float, first: bool) -> _Hit | None:
        o = e.record.order
        buy = o.side is Side.BUY
        if e.triggered:
            return p, f"{o.order_type.value} triggered earlier: market order at the open", False
        if o.order_type is OrderType.LIMIT:
            lim = o.limit_price
            if first:
                return (p, "limit crosses the price at submission", False) if (p <= lim if buy else p >= lim) else None
            return (lim, "limit: the price moved through it before the open", True) if (p < lim if buy else p > lim) else None
        s = o.stop_price
        rises = buy if o.order_type is OrderType.STOP else not buy  # triggers when the price rises to it
        return (p, f"{o.order_type.value}: the price is beyond it at the open", False) if (p >= s if rises else p <= s) else None

    @staticmethod
    def _range_hit(e: _Entry, bar: Bar) -> _Hit | None:
        o = e.record.order
        buy = o.side is Side.BUY
        if o.order_type is OrderType.LIMIT:
            lim = o.limit_price
            return (lim, "limit: the bar traded through it", True) if (bar.low < lim if buy else bar.high > lim) else None
        s = o.stop_price
        rises = buy if o.order_type is OrderType.STOP else not buy
        return (s, f"{o.order_type.value}: the bar reached it", False) if (bar.high >= s if rises else bar.low <= s) else None

    @staticmethod
    def _worst_first(hits: Iterable[tuple[_Entry, _Hit]]) -> list[tuple[_Entry, _Hit]]:
        """Submission order, except that members of one OCO group come together, worst fill first."""
        by_seq = sorted(hits, key=lambda eh: eh[0].seq)
        out, groups = [], set()
        for e, hit in by_seq:
            g = e.record.order.oco_group
            if g is None:
                out.append((e, hit))
            elif g not in groups:
                groups.add(g)
                members = [(x, h) for x, h in by_seq if x.record.order.oco_group == g]
                if len({x.record.order.side for x, _ in members}) == 1:
                    sign = 1.0 if e.record.order.side is Side.SELL else -1.0  # sells: lowest first; buys: highest
                    members.sort(key=lambda xh: (sign * xh[1][0], xh[0].seq))
                out.extend(members)
        return out

    def _born_intrabar(self, children: list[_Entry], p: float, bar: Bar, run: _Run) -> None:
        """Children of an entry filled inside the bar at ``p`` (see the module docstring)."""
        hits = []
        for e in children:
            e.open_seen = run.open_ns
            o, s = e.record.order, e.record.order.stop_price
            sell = o.side is Side.SELL
            if (hit := self._open_hit(e, p, False)) is not None:
                hits.append((e, (hit[0], f"{o.order_type.value}: beyond its entry's fill price", False)))
            elif o.order_type is OrderType.STOP and (bar.low <= s if sell else bar.high >= s):
                hits.append((e, (s, "stop: the bar reached it after its entry's fill (assumed)", False)))
            elif o.order_type is OrderType.TAKE_PROFIT and ((bar.open <= p and bar.high >= s) if sell
                                                            else (bar.open >= p and bar.low <= s)):
                hits.append((e, (s, "take_profit: the bar went on through its entry's fill to it", False)))
        for e, hit in self._worst_first(hits):
            if e.record.client_order_id in self._live:
                self._fire(e, hit, run)

    # ---- filling ---------------------------------------------------------------------------------
    def _available(self, e: _Entry, run: _Run) -> float:
        o = e.record.order
        q = min(e.record.remaining, run.budget)
        return min(q, _reducible(o.side, run.position)) if o.reduce_only else q

    def _fire(self, e: _Entry, hit: _Hit, run: _Run) -> list[list[_Entry]]:
        """An order met its price: trigger it (stops), fill what the cap and position allow, settle the
        OCO group and the bracket. Returns the bracket pairs born (each a list of children)."""
        rec, o = e.record, e.record.order
        if o.reduce_only and _reducible(o.side, run.position) <= 0.0:
            self._end(e, run.out, "cancel", run.ts, "reduce-only: no position to reduce")
            return []
        if o.order_type in _STOPS and not e.triggered:
            e.triggered = True
            self._cancel_group(e, run, "triggered")
        qty = self._available(e, run)
        if qty <= 0.0:
            return []  # no budget left in this bar: a limit waits, a triggered stop fills at the next open
        price, reason, maker = hit
        trig = Trigger(rec.client_order_id, o.token, o.side, qty, price, run.ts, reason, maker, o.reduce_only)
        try:
            done = run.execute(trig)
        except OrderRejected as exc:
            self._end(e, run.out, "cancel", run.ts, f"the venue refused the fill: {exc}")
            return []
        if not (0.0 < done.quantity <= qty * (1.0 + QTY_RTOL)):
            raise ValueError(f"the venue executed {done.quantity!r} of a {qty!r} trigger ({rec.client_order_id})")
        run.out.append(Update(rec, rec.fill(run.ts, done.quantity, done.price, reason), trig))
        run.budget -= done.quantity
        run.position += done.quantity if o.side is Side.BUY else -done.quantity
        if rec.is_terminal:
            self._live.pop(rec.client_order_id, None)
        elif o.reduce_only and _reducible(o.side, run.position) <= 0.0:
            self._end(e, run.out, "cancel", run.ts, "reduce-only: the position is closed")
        self._cancel_group(e, run, "filled")
        children = self._children(rec, done.quantity, run.ts, run.out)
        return [children] if children else []

    def _cancel_group(self, e: _Entry, run: _Run, what: str) -> None:
        g = e.record.order.oco_group
        if g is None:
            return
        for x in list(self._live.values()):
            if x is not e and x.record.order.oco_group == g:
                self._end(x, run.out, "cancel", run.ts, f"OCO: {e.record.client_order_id} {what}")
