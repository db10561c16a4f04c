"""Simulated CEX USDT-margined linear perpetual account (cross margin), e.g. ``binance.perp``.

Per symbol: signed ``size`` (base units, negative = short) and average ``entry`` price (USDT), moved
only by fills (``domain.portfolio.Position.apply_fill``). Collateral is the account's USDT balance in
the portfolio's ledger; the venue reads it and reports every change as an event the portfolio applies.

* Mark price: the perp's last-price bar open at the step time (``MarketState.px``; the data has no
  mark-price series).
* Funding: settled at the venue's funding timestamps (``FundingRate`` events of the feed),
  ``payment = -size x mark x rate`` (USDT; longs pay when the rate is positive), the mark being the
  price at the settlement time (Binance/Bybit/OKX funding docs). Funding between two steps is settled
  at the later step with the position held in between (``FundingSettled`` event).
* Margin balance = collateral + unrealised PnL; position notional = sum |size| x mark;
  maintenance margin = notional x ``maintenance_margin_rate``.
* Margin ratio (here) = margin balance / position notional, i.e. the account's collateralisation; the
  position is liquidated when margin balance < maintenance margin. (Binance's UI shows the inverse,
  maintenance margin / margin balance, liquidating at 100 %.)

Liquidation (Binance USD-M liquidation protocol; Bybit and OKX work the same way): the account is
liquidated as soon as its margin balance falls below its maintenance margin, **within a bar**, not
only at the bar opens the clock sees. At each step the venue first checks the bar(s) that closed
since the previous step (``MarketState.hi/lo``): every position is moved along a straight path from
the previous mark to its adverse extreme (the high for a short, the low for a long; all positions of
the account at once, the worst case of cross margin) and, if margin balance < maintenance margin at
the extreme, liquidated at the first point of that path where they are equal (the *liquidation
price*). Then the open at the step is checked the same way (a jump between bars, e.g. after a data
gap: the positions are closed at that open). Booking, with ``B`` the account's value (collateral +
unrealised PnL) at the previous mark and ``M`` its margin balance at the liquidation price:

* ``price_basis`` books the move to the liquidation price, but never more loss than ``B``: a price
  that jumped past the bankruptcy price costs the account everything it had and the insurance fund
  takes the rest (it is not the account's gain);
* ``liquidation`` books the clearance fee ``liquidation_fee_rate`` x liquidated notional, charged on
  what remains of ``M`` (the account never goes below 0): ``-min(fee, max(M, 0))``. It is never positive.

Stale prices: at a step whose bar did not trade (``MarketState.stale``: a data gap valued from a
reference venue, see ``data.gap_reference``) positions are marked at the estimate, but an order is
not filled: it returns ``TradeStatus.DEFERRED`` (VENUE-006) and nothing changes.

Resting orders (limit, stop, take-profit, time in force, brackets, OCO, reduce-only; rules in
``venues/sim/resting.py``, wiring in ``venues/sim/bar_orders.py``) wait in the account's book
(``self.resting``). One step of ``on_market``, in this order:

1. the bar that closed since the previous step is shown to the book: resting fills inside it;
2. the intrabar liquidation check of that bar, on the positions *after* those fills (a stop-loss
   that closed a position in the bar comes before the bar's extreme; a position a limit opened in the
   bar is checked as if held over the whole bar: the harsher reading);
3. funding settlements of the interval (the position held up to the settlement time);
4. the open at the step is shown to the book: fills at the open;
5. the liquidation check at the open; 6. revaluation of the positions at the open.

A resting fill is booked like a market order: a taker fill (a stop or take-profit, a limit crossing
at submission) at the reference price moved by ``slippage_bps`` (a limit never beyond its limit
price) plus the taker fee; a maker fill (a resting limit filled at its limit) at the limit, no
slippage, plus ``maker_fee_bps`` (the taker fee when the venue config has none). It moves the
venue's positions at once and must pass the same initial-margin check as a market order (else the
order is cancelled with the venue's reason). The collateral a fill sees includes the fills, funding
and liquidation of the same ``on_market`` not yet applied to the ledger.

Attribution: ``price_basis`` = size x mark change (the venue's own revaluation, written every step
into its attribution bucket); ``slippage`` = traded size x (mark - fill); ``fees``; ``funding``;
``liquidation`` (clearance fee, <= 0). A resting fill during ``on_market`` happens before the
revaluation, so its trade also books ``price_basis`` = traded size x (last mark - reference price):
with the revaluation that follows, the account's value change equals its bookings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from basiskit.config.venues import PerpParams
from basiskit.data.market_state import MarketState
from basiskit.domain.events import AccountChange, FundingRate, FundingSettled, MarketTick
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.portfolio import FEES, LIQUIDATION, PRICE_BASIS, SLIPPAGE, Attribution, Ledger, Position
from basiskit.domain.time import ns_to_iso
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.errors.exceptions import OrderRejected
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection
from basiskit.venues.sim.bar_orders import BarOrders
from basiskit.venues.sim.resting import Trigger, fill_terms


_NAN = float("nan")
_NO_RISK = (0.0, 0.0, 0.0, 0.0)
_EMPTY = np.zeros(0)


class _Book(Position):
    """A position with the series keys it is marked on and the last mark booked."""

    __slots__ = ("key", "funding_key", "last_mark", "is_eth")

    def __init__(self, key: str, funding_key: str, is_eth: bool = False) -> None:
        super().__init__()
        self.key = key
        self.funding_key = funding_key
        self.last_mark: float | None = None
        self.is_eth = is_eth


class CexPerp:
    def __init__(self, name: str, params: PerpParams, state: MarketState, ledger: Ledger, attribution: Attribution,
                 symbols: dict[str, tuple[str, str]], quote: str = "USDT") -> None:
        """``symbols`` maps a base token to ``(mark series key, funding series key)``."""
        self.name = name
        self.params = params
        self.state = state
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.positions = {tok: _Book(mk, fk, tok == "ETH") for tok, (mk, fk) in symbols.items()}
        self._books = list(self.positions.values())
        self._single = self._books[0] if len(self._books) == 1 else None  # the quiet-step fast path
        self._by_funding = {p.funding_key: tok for tok, p in self.positions.items()}
        self._fee = params.taker_fee_bps * 1e-4
        self._maker = (params.maker_fee_bps if params.maker_fee_bps is not None else params.taker_fee_bps) * 1e-4
        self._slip = params.slippage_bps * 1e-4
        self._mmr = params.maintenance_margin_rate
        self._cache_step = -1
        self._cache = (0.0, 0.0, 0.0, 0.0)
        self._cash_key = (name, quote)
        self._cash = 0.0  # collateral as resting fills see it during one call (ledger + events not yet applied)
        self._bucket = attribution.bucket(name)
        self.funding_paid: list[FundingSettled] = []
        self.resting = BarOrders(name, Operation.PERP_TRADE, state, {tok: p.key for tok, p in self.positions.items()},
                                 self._fill_resting, self.size, self._marked_at, self._begin_resting)
        # token -> domain.lots.LotSize the orders are rounded to (engine.execution); empty: any amount
        self.lots = params.lot_sizes.lots(self.positions, quote) if params.lot_sizes is not None else {}

    def lot(self, token: str):
        """The token's ``domain.lots.LotSize`` (the venue config's ``lot_sizes`` when enabled; a live session
        sets ``lots`` from ccxt's markets), or None: any amount is accepted."""
        return self.lots.get(token)

    # -- market ---------------------------------------------------------------------------------
    def on_market(self, tick: MarketTick) -> list:
        """Resting fills in the closed bar, intrabar liquidation check, funding settlements, resting
        fills at the open, open liquidation check, revaluation (module docstring)."""
        cash = self.ledger.balances.get(self._cash_key, 0.0)
        pos = self._single
        if pos is None or tick.events or self.resting.active or not tick.step or cash < 0.0:
            return self._on_market(tick, cash)
        # The quiet step of a one-symbol account (most steps): the same checks and bookings as
        # ``_on_market`` with the same arithmetic, in one pass; anything to book but the revaluation
        # (a liquidation) goes the full way.
        st = self.state
        m = st.px[pos.key]
        s = pos.size
        p0 = pos.last_mark
        if p0 is None:
            return self._on_market(tick, cash)
        if not s:
            self._cache_step, self._cache = st.step, _NO_RISK
            pos.last_mark = m
            return []
        mmr = self._mmr
        a = abs(s)
        entry = pos.entry
        f0 = cash + (s * (p0 - entry) - mmr * a * p0)
        x = st.hi.get(pos.key, _NAN) if s < 0 else st.lo.get(pos.key, _NAN)
        if x == x and f0 + (s - mmr * a) * (x - p0) < 0.0 or f0 < 0.0:
            return self._on_market(tick, cash)  # liquidated in the bar
        upnl, notional = s * (m - entry), a * m
        self._cache_step, self._cache = st.step, (upnl, notional, s * m, s if pos.is_eth else 0.0)
        if cash + upnl < notional * mmr:
            return self._on_market(tick, cash)  # liquidated at the open
        pos.last_mark = m
        if m != p0:
            pnl = s * (m - p0)
            self.attr.total[PRICE_BASIS] += pnl
            self._bucket[PRICE_BASIS] += pnl
        return []

    def quiet_now(self) -> bool:
        """Whether :meth:`project` can pass steps now (one symbol, no resting orders, marked once)."""
        pos = self._single
        return pos is not None and not self.resting.active and pos.last_mark is not None

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        """The account over the quiet steps ``[lo, hi)`` (``engine.quiet``): what :meth:`on_market` and
        the readings give at each step, with the same arithmetic -- the funding settlements the stretch
        carries included (``events``: their ``FundingSettled``, the collateral moving with them) -- and
        the first step a liquidation check fails (``blocked``). None with resting orders or several
        symbols."""
        pos = self._single
        if pos is None or self.resting.active or pos.last_mark is None:
            return None
        n = hi - lo
        cash = self.ledger.balances.get(self._cash_key, 0.0)
        m = feed.values(pos.key, lo, hi)
        s = pos.size
        before = after = np.full(n, cash)  # collateral before / after each step's settlements
        steps, times, rates, marks = feed.funding_in(pos.funding_key, lo, hi) if s else (_EMPTY,) * 4
        if steps.size:  # as on_market: the collateral moves by each payment in turn (sequential sums)
            pays = -s * marks * rates
            cum = np.concatenate(([cash], pays)).cumsum()
            at = np.arange(n)
            after = cum[steps.searchsorted(at, "right")]
            before = cum[steps.searchsorted(at, "left")]
        tok = self._by_funding[pos.funding_key]
        done = [0]  # steps committed so far

        made: list[tuple[int, FundingSettled]] = []  # the events, made once, in order

        def settled(lo_k: int, hi_k: int) -> list[tuple[int, FundingSettled]]:
            a, b = steps.searchsorted((lo_k, hi_k), "left").tolist()
            if b > len(made):
                x = len(made)
                name, quote = self.name, self.quote
                made.extend((k, FundingSettled(t, name, tok, rate, mark, s, pay, quote)) for k, t, rate, mark, pay in zip(
                    steps[x:b].tolist(), times[x:b].tolist(), rates[x:b].tolist(), marks[x:b].tolist(),
                    pays[x:b].tolist()))
            return made[a:b]

        def commit(k: int) -> None:
            pos.last_mark = float(m[k - 1])
            self._cache_step = -1
            self.funding_paid.extend(ev for _, ev in settled(done[0], k))
            done[0] = k

        if not s:
            zeros = np.zeros(n)
            return Projection(after, commit, self._bucket, delta_usd=zeros, margin_ratio=np.full(n, np.nan),
                              notional_usd=zeros, bookings=[(PRICE_BASIS, zeros)], blocked=0 if cash < 0.0 else n,
                              eth_units=zeros, mark=m, withdrawable=np.maximum(0.0, np.minimum(after, after)))
        mmr = self._mmr
        a = abs(s)
        entry = pos.entry
        p0 = np.concatenate(([pos.last_mark], m[:-1]))
        f0 = before + (s * (p0 - entry) - mmr * a * p0)
        his, los = feed.extremes(pos.key, lo, hi)
        x = his if s < 0 else los
        with np.errstate(invalid="ignore"):
            bad = ((x == x) & (f0 + (s - mmr * a) * (x - p0) < 0.0)) | (f0 < 0.0)
        upnl = s * (m - entry)
        notional = a * m
        bad |= after + upnl < notional * mmr
        value = after + upnl
        hit = np.flatnonzero(bad)
        return Projection(value, commit, self._bucket, delta_usd=s * m, margin_ratio=value / notional,
                          notional_usd=notional, bookings=[(PRICE_BASIS, s * (m - p0))],
                          blocked=int(hit[0]) if hit.size else n, events=settled if steps.size else None,
                          eth_units=np.full(n, s if pos.is_eth else 0.0), mark=m,
                          withdrawable=np.maximum(0.0, np.minimum(after, value - 2.0 * (notional * mmr))))

    def _on_market(self, tick: MarketTick, cash: float) -> list:
        st = self.state
        events: list = []
        resting = self.resting
        live = resting.active
        if live:
            self._cash = cash
            events = resting.on_bars()
            cash = self._cash
        if tick.step > 0:
            ev = self._check_intrabar(cash)
            if ev is not None:
                events.append(ev)
                cash += sum(d[2] for d in ev.deltas)
        if tick.events:
            for fev in tick.events:
                if type(fev) is FundingRate and fev.key in self._by_funding:
                    tok = self._by_funding[fev.key]
                    pos = self.positions[tok]
                    if pos.size:
                        pay = -pos.size * fev.mark * fev.rate
                        settled = FundingSettled(fev.timestamp, self.name, tok, fev.rate, fev.mark, pos.size, pay,
                                                 self.quote)
                        self.funding_paid.append(settled)
                        events.append(settled)
                        cash += pay
        if live and resting.active:
            self._cash = cash
            events += resting.on_open()
            cash = self._cash
        upnl, notional, _, _ = self._risk()
        px = st.px
        if notional and cash + upnl < notional * self._mmr:
            events.append(self._liquidate({tok: px[p.key] for tok, p in self.positions.items()}, "bar_open", cash))
        total = bucket = None
        for pos in self._books:
            m = px[pos.key]
            last = pos.last_mark
            pos.last_mark = m
            if pos.size and last is not None and m != last:
                pnl = pos.size * (m - last)
                if total is None:
                    total, bucket = self.attr.total, self._bucket
                total[PRICE_BASIS] += pnl
                bucket[PRICE_BASIS] += pnl
        return events

    def _check_intrabar(self, cash: float) -> AccountChange | None:
        """Liquidate if the bar(s) closed since the previous step took margin balance below maintenance
        at their adverse extreme (module docstring); the path is linear from the last mark to the extreme,
        so ``f(θ) = margin balance - maintenance margin`` is linear in θ and its root is the liquidation point."""
        hi, lo = self.state.hi, self.state.lo
        f0 = cash
        df = 0.0
        mmr = self._mmr
        for pos in self._books:
            s = pos.size
            if not s:
                continue
            p0 = pos.last_mark
            if p0 is None:
                continue
            a = abs(s)
            f0 += s * (p0 - pos.entry) - mmr * a * p0
            x = hi.get(pos.key, _NAN) if s < 0 else lo.get(pos.key, _NAN)
            if x == x:  # else NaN: no bar closed since the previous step
                df += (s - mmr * a) * (x - p0)
        if f0 + df >= 0.0:
            return None
        theta = f0 / -df if f0 > 0.0 else 0.0
        prices = {}
        for tok, pos in self.positions.items():
            if pos.size and pos.last_mark is not None:
                x = hi.get(pos.key, _NAN) if pos.size < 0 else lo.get(pos.key, _NAN)
                prices[tok] = pos.last_mark if x != x else pos.last_mark + theta * (x - pos.last_mark)
        return self._liquidate(prices, "intrabar", cash)

    # -- risk numbers ---------------------------------------------------------------------------
    def _risk(self) -> tuple[float, float, float, float]:
        """(unrealised PnL, notional, sum of size x mark, ETH size) at the current step (USD(T), ETH
        units), from one pass over the positions, cached until positions change."""
        step = self.state.step
        if self._cache_step == step:
            return self._cache
        upnl = notional = delta = eth = 0.0
        px = self.state.px
        for p in self._books:
            s = p.size
            if s:
                m = px[p.key]
                upnl += s * (m - p.entry)
                notional += abs(s) * m
                delta += s * m
                if p.is_eth:
                    eth += s
        self._cache_step, self._cache = step, (upnl, notional, delta, eth)
        return self._cache

    def unrealised_pnl(self) -> float:
        return self._risk()[0]

    def notional(self) -> float:
        return self._risk()[1]

    def margin_balance(self) -> float:
        return self.ledger.balances.get(self._cash_key, 0.0) + self._risk()[0]

    def maintenance_margin(self) -> float:
        return self.notional() * self._mmr

    def margin_readings(self) -> tuple[float | None, float]:
        """(margin ratio or None without a position, notional USD(T)), from one cached pass."""
        upnl, n, _, _ = self._risk()
        return ((self.ledger.balances.get(self._cash_key, 0.0) + upnl) / n if n else None), n

    def readings(self) -> tuple[float, float, float | None, float]:
        """What the risk monitor reads, from one cached pass: (sum of size x mark USD(T), ETH perp size
        in ETH units, margin ratio or None without a position, notional USD(T))."""
        upnl, n, delta, eth = self._risk()
        return delta, eth, ((self.ledger.balances.get(self._cash_key, 0.0) + upnl) / n if n else None), n

    def margin_ratio(self) -> float | None:
        """Margin balance / notional (None without a position)."""
        return self.margin_readings()[0]

    def exposure(self) -> tuple[float, float]:
        """(sum of size x mark in USD(T), ETH perp size in ETH units)."""
        r = self._risk()
        return r[2], r[3]

    def size(self, token: str) -> float:
        return self.positions[token].size

    def position_sizes(self) -> dict[str, float]:
        """Signed size per base token (base units)."""
        return {tok: p.size for tok, p in self.positions.items()}

    def mark_price(self, token: str) -> float:
        return self.state.px[self.positions[token].key]

    def cost_rate(self) -> float:
        """Cost of a trade as a fraction of its notional at the mark: (1 + slippage)(1 + taker fee) - 1."""
        return (1.0 + self._slip) * (1.0 + self._fee) - 1.0

    def stale_now(self) -> bool:
        """Whether a held position's price did not trade at this step (valued from a reference venue)."""
        stale = self.state.stale
        return any(p.size and stale.get(p.key, False) for p in self.positions.values())

    def is_stale(self, token: str) -> bool:
        """Whether ``token``'s price did not trade at this step (an order there is deferred)."""
        return bool(self.state.stale.get(self.positions[token].key, False))

    def withdrawable(self, token: str) -> float:
        """USDT that can leave: min(collateral, margin balance - 2 x maintenance margin), >= 0."""
        if token != self.quote:
            return 0.0
        coll = self.ledger.get(self.name, self.quote)
        return max(0.0, min(coll, self.margin_balance() - 2.0 * self.maintenance_margin()))

    # -- orders ---------------------------------------------------------------------------------
    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [self._execute(o) for o in orders]

    def poll(self, now_ns: int) -> list:
        return []

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        if order.operation is not Operation.PERP_TRADE or order.token not in self.positions:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        pos = self.positions[order.token]
        m = self.state.px[pos.key]
        if self.state.stale.get(pos.key, False):
            return Trade(order, t, TradeStatus.DEFERRED, error_code="VENUE-006",
                         error=f"no traded {order.token} price on {self.name} at {ns_to_iso(t)} (data gap, valued at "
                               f"{m:.2f} from a reference venue): not filled")
        delta = order.amount if order.side is Side.BUY else -order.amount
        fill = m * (1 + self._slip) if delta > 0 else m * (1 - self._slip)
        return self._market_fill(order, t, pos, fill, m)

    def _market_fill(self, order: Order, t: int, pos, fill: float, m: float) -> Trade:
        """Book a market order filled at ``fill`` (quote per base unit) against the mark ``m``: taker
        fee on the filled notional, realised PnL into the collateral, ``slippage`` = amount x (m - fill);
        REJECTED (VENUE-003) when the account would be under 2x maintenance margin after an
        exposure-adding fill (the initial-margin check)."""
        delta = order.amount if order.side is Side.BUY else -order.amount
        fee = abs(delta) * fill * self._fee
        before = (pos.size, pos.entry)
        self._cache_step = -1
        realised = pos.apply_fill(delta, fill)
        # Initial-margin check after the fill: the account must stay above 2x maintenance.
        coll = self.ledger.get(self.name, self.quote) + realised - fee
        mb = coll + self.unrealised_pnl()
        if abs(pos.size) > 0 and mb < 2.0 * self.maintenance_margin() and delta * pos.size > 0:
            pos.size, pos.entry = before
            self._cache_step = -1
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"insufficient margin on {self.name}: margin balance {mb:.2f} after the trade")
        return Trade(order, t, TradeStatus.FILLED, executed_amount=order.amount, price=fill, fee=fee,
                     fee_currency=self.quote, deltas=((self.name, self.quote, realised - fee),),
                     pnl=((SLIPPAGE, self.name, delta * (m - fill)), (FEES, self.name, -fee)))

    # -- resting orders -------------------------------------------------------------------------
    def _marked_at(self, token: str) -> float | None:
        return self.positions[token].last_mark

    def _begin_resting(self) -> None:
        self._cash = self.ledger.balances.get(self._cash_key, 0.0)

    def _fill_resting(self, trig: Trigger, order: Order) -> Trade:
        """Book one fill of a resting order (module docstring): moves the position, checks the initial
        margin like ``_execute``. Raises OrderRejected (the book cancels the order) if the margin fails."""
        pos = self.positions[trig.token]
        q, ref = trig.quantity, trig.price
        buy = trig.side is Side.BUY
        fill, rate = fill_terms(trig, order, self._slip, self._fee, self._maker)
        delta = q if buy else -q
        fee = q * fill * rate
        before = (pos.size, pos.entry)
        self._cache_step = -1
        realised = pos.apply_fill(delta, fill)
        coll = self._cash + realised - fee
        mb = coll + self.unrealised_pnl()
        if abs(pos.size) > 0 and mb < 2.0 * self.maintenance_margin() and delta * pos.size > 0:
            pos.size, pos.entry = before
            self._cache_step = -1
            raise OrderRejected(f"insufficient margin on {self.name}: margin balance {mb:.2f} after the fill")
        self._cash = coll
        mark = pos.last_mark if pos.last_mark is not None else ref
        return Trade(order, trig.ts, TradeStatus.FILLED, executed_amount=q, price=fill, fee=fee,
                     fee_currency=self.quote, deltas=((self.name, self.quote, realised - fee),),
                     pnl=((PRICE_BASIS, self.name, delta * (mark - ref)), (SLIPPAGE, self.name, delta * (ref - fill)),
                          (FEES, self.name, -fee)))

    def _liquidate(self, prices: dict[str, float], trigger: str, cash: float) -> AccountChange:
        """Close every position at ``prices`` (token -> liquidation price) and book it (module docstring).
        ``cash``: the collateral as the venue sees it now (the ledger's plus events not yet applied)."""
        st = self.state
        coll = cash
        before = coll
        move = notional = 0.0
        closed, at = {}, {}
        for tok, pos in self.positions.items():
            if not pos.size:
                continue
            p = prices[tok]
            last = pos.last_mark if pos.last_mark is not None else p
            before += pos.size * (last - pos.entry)
            move += pos.size * (p - last)
            notional += abs(pos.size) * p
            closed[tok], at[tok] = pos.size, p
            pos.size, pos.entry = 0.0, 0.0
            pos.last_mark = st.px[pos.key]
        self._cache_step = -1
        margin = before + move                      # margin balance at the liquidation prices
        fee = notional * self.params.liquidation_fee_rate
        after = max(0.0, margin - fee)
        charged = min(fee, max(margin, 0.0))
        booked_move = after - before + charged     # = move, or -before when the price passed bankruptcy
        bar_open = st.t if trigger == "bar_open" else st.t_prev  # intrabar: the bar opened at the previous step
        return AccountChange(st.t, self.name, "liquidation", deltas=((self.name, self.quote, after - coll),),
                             pnl=((PRICE_BASIS, self.name, booked_move), (LIQUIDATION, self.name, -charged)),
                             data={"trigger": trigger, "bar_open": ns_to_iso(bar_open), "closed_sizes": closed,
                                   "liquidation_prices": at, "notional_usd": notional, "clearance_fee_usd": fee,
                                   "fee_charged_usd": charged, "insurance_cover_usd": max(0.0, -margin),
                                   "loss_usd": before - after})


    def value_usd(self) -> float:
        return self.ledger.balances.get(self._cash_key, 0.0) + self._risk()[0]

    def account(self) -> AccountSnapshot:
        return AccountSnapshot(self.name, {self.quote: self.ledger.get(self.name, self.quote)},
                               {tok: (p.size, p.entry) for tok, p in self.positions.items() if p.size},
                               self.value_usd())

    def checkpoint(self):
        return {tok: (p.size, p.entry, p.last_mark) for tok, p in self.positions.items()}, len(self.funding_paid)

    def restore(self, state) -> None:
        self._cache_step = -1
        pos_state, n_paid = state
        for tok, (size, entry, last) in pos_state.items():
            p = self.positions[tok]
            p.size, p.entry, p.last_mark = size, entry, last
        del self.funding_paid[n_paid:]
