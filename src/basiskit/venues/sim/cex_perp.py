"""Simulated CEX USDT-margined linear perpetual account (cross margin), e.g. ``binance.perp``.

Per symbol: signed ``size`` (base units, negative = short) and average ``entry`` price (USDT).
Collateral is the account's USDT balance in the ``Ledger``.

* Mark price: the perp's last-price bar open at the step time (the data has no mark-price series).
* Funding: settled at the venue's funding timestamps from the data, ``payment = -size x mark x rate``
  (USDT; longs pay when the rate is positive), the mark being the price at the settlement time
  (Binance/Bybit/OKX funding docs). Funding between two steps is settled at the later step with the
  position held in between.
* Margin balance = collateral + unrealised PnL; position notional = sum |size| x mark;
  maintenance margin = notional x ``maintenance_margin_rate``.
* Margin ratio (here) = margin balance / position notional, i.e. the account's collateralisation; the
  position is liquidated when margin balance < maintenance margin. (Binance's UI shows the inverse,
  maintenance margin / margin balance, liquidating at 100 %.)
* Liquidation closes every position at the mark, charges ``liquidation_fee_rate`` x notional and, if
  the collateral goes negative, the insurance fund absorbs the deficit (collateral floored at 0).

Attribution: ``price_basis`` = size x mark change; ``slippage`` = traded size x (mark - fill);
``fees``; ``funding``; ``liquidation`` (fee less any insurance-fund cover).
"""

from __future__ import annotations

from basiskit.config.venues import PerpParams
from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.domain.time import ns_to_iso
from basiskit.venues.ledger import FEES, FUNDING, LIQUIDATION, PRICE_BASIS, SLIPPAGE, Attribution, Ledger


class _Position:
    __slots__ = ("size", "entry", "last_mark", "marks", "stale", "highs", "lows", "f_times", "f_rates", "f_marks",
                 "f_ptr", "f_n")

    def __init__(self, marks: list[float], funding: tuple[list[int], list[float], list[float]],
                 stale: list[bool] | None = None, highs: list[float] | None = None,
                 lows: list[float] | None = None) -> None:
        self.size = 0.0
        self.entry = 0.0
        self.last_mark: float | None = None
        self.marks = marks
        self.stale = stale
        self.highs = highs
        self.lows = lows
        self.f_times, self.f_rates, self.f_marks = funding
        self.f_ptr = 0
        self.f_n = len(self.f_times)


class CexPerp:
    def __init__(self, name: str, params: PerpParams, frame: MarketFrame, ledger: Ledger, attribution: Attribution,
                 symbols: dict[str, tuple[str, str]], quote: str = "USDT") -> None:
        """``symbols`` maps a base token to ``(mark series key, funding key)`` in ``frame``."""
        self.name = name
        self.params = params
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.grid = frame.grid
        self.grid_list = frame.grid.tolist()
        self.positions = {tok: _Position(frame.series[mk], frame.funding[fk], frame.stale.get(mk), frame.highs.get(mk),
                                         frame.lows.get(mk)) for tok, (mk, fk) in symbols.items()}
        self._intrabar = all(p.highs is not None for p in self.positions.values())
        self._fee = params.taker_fee_bps * 1e-4
        self._slip = params.slippage_bps * 1e-4
        self._mmr = params.maintenance_margin_rate
        self._cache_i = -1
        self._cache = (0.0, 0.0)
        self._cash_key = (name, quote)
        attribution.bucket(name)
        self.funding_paid: list[tuple[int, str, float, float, float, float]] = []  # (t, token, rate, mark, size, usd)

    # -- per step -------------------------------------------------------------------------------
    def accrue(self, i: int) -> list[Event]:
        t = self.grid_list[i]
        attr = self.attr
        events: list[Event] = []
        if self._intrabar and i > 0:
            ev = self._check_intrabar(i)
            if ev is not None:
                events.append(ev)
        for tok, pos in self.positions.items():
            times = pos.f_times
            while pos.f_ptr < pos.f_n and times[pos.f_ptr] <= t:
                k = pos.f_ptr
                pos.f_ptr += 1
                if pos.size:
                    pay = -pos.size * pos.f_marks[k] * pos.f_rates[k]
                    self.ledger.add(self.name, self.quote, pay)
                    attr.add(FUNDING, self.name, pay)
                    self.funding_paid.append((times[k], tok, pos.f_rates[k], pos.f_marks[k], pos.size, pay))
        upnl, notional = self._risk(i)
        if notional and self.ledger.balances.get(self._cash_key, 0.0) + upnl < notional * self._mmr:
            events.append(self._liquidate(i, {tok: p.marks[i] for tok, p in self.positions.items()}, "bar_open"))
        for pos in self.positions.values():
            m = pos.marks[i]
            last = pos.last_mark
            pos.last_mark = m
            if pos.size and last is not None and m != last:
                pnl = pos.size * (m - last)
                attr.total[PRICE_BASIS] += pnl
                attr.by_venue[self.name][PRICE_BASIS] += pnl
        return events

    def _check_intrabar(self, i: int) -> Event | None:
        """Liquidate if the bar(s) closed since step i-1 took margin balance below maintenance at their
        adverse extreme (module docstring); the path is linear from the last mark to the extreme, so
        ``f(θ) = margin balance - maintenance margin`` is linear in θ and its root is the liquidation point."""
        f0 = self.ledger.balances.get(self._cash_key, 0.0)
        df = 0.0
        mmr = self._mmr
        for pos in self.positions.values():
            s = pos.size
            if not s or pos.last_mark is None:
                continue
            p0 = pos.last_mark
            f0 += s * (p0 - pos.entry) - mmr * abs(s) * p0
            x = pos.highs[i] if s < 0 else pos.lows[i]
            if x == x:  # else NaN: no bar closed in (t_{i-1}, t_i]
                df += (s - mmr * abs(s)) * (x - p0)
        if f0 + df >= 0.0:
            return None
        theta = f0 / -df if f0 > 0.0 else 0.0
        prices = {}
        for tok, pos in self.positions.items():
            if pos.size and pos.last_mark is not None:
                x = pos.highs[i] if pos.size < 0 else pos.lows[i]
                prices[tok] = pos.last_mark if x != x else pos.last_mark + theta * (x - pos.last_mark)
        return self._liquidate(i, prices, "intrabar")

    # -- risk numbers ---------------------------------------------------------------------------
    def _risk(self, i: int) -> tuple[float, float]:
        """(unrealised PnL, notional) at step i, cached until positions change."""
        if self._cache_i == i:
            return self._cache
        upnl = notional = 0.0
        for p in self.positions.values():
            if p.size:
                m = p.marks[i]
                upnl += p.size * (m - p.entry)
                notional += abs(p.size) * m
        self._cache_i, self._cache = i, (upnl, notional)
        return self._cache

    def unrealised_pnl(self, i: int) -> float:
        return self._risk(i)[0]

    def notional(self, i: int) -> float:
        return self._risk(i)[1]

    def margin_balance(self, i: int) -> float:
        return self.ledger.balances.get(self._cash_key, 0.0) + self._risk(i)[0]

    def maintenance_margin(self, i: int) -> float:
        return self.notional(i) * self._mmr

    def margin_readings(self, i: int) -> tuple[float | None, float]:
        """(margin ratio or None without a position, notional USD(T)) at step i, from one cached pass."""
        upnl, n = self._risk(i)
        return ((self.ledger.balances.get(self._cash_key, 0.0) + upnl) / n if n else None), n

    def margin_ratio(self, i: int) -> float | None:
        """Margin balance / notional (None without a position)."""
        n = self.notional(i)
        return self.margin_balance(i) / n if n else None

    def size(self, token: str) -> float:
        return self.positions[token].size

    def mark_price(self, token: str, i: int) -> float:
        return self.positions[token].marks[i]

    def cost_rate(self) -> float:
        """Cost of a trade as a fraction of its notional at the mark: (1 + slippage)(1 + taker fee) - 1."""
        return (1.0 + self._slip) * (1.0 + self._fee) - 1.0

    def stale_at(self, i: int) -> bool:
        """Whether a held position's price at step i did not trade (valued from a reference venue)."""
        return any(p.size and p.stale is not None and p.stale[i] for p in self.positions.values())

    def is_stale(self, token: str, i: int) -> bool:
        """Whether ``token``'s price at step i did not trade (an order there is deferred)."""
        st = self.positions[token].stale
        return bool(st is not None and st[i])

    def withdrawable(self, token: str, i: int) -> float:
        """USDT that can leave: min(collateral, margin balance - 2 x maintenance margin), >= 0."""
        if token != self.quote:
            return 0.0
        coll = self.ledger.get(self.name, self.quote)
        return max(0.0, min(coll, self.margin_balance(i) - 2.0 * self.maintenance_margin(i)))

    # -- orders ---------------------------------------------------------------------------------
    def execute(self, order: Order, i: int) -> Trade:
        t = self.grid_list[i]
        if order.operation is not Operation.PERP_TRADE or order.token not in self.positions:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-001",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        pos = self.positions[order.token]
        m = pos.marks[i]
        if pos.stale is not None and pos.stale[i]:
            return Trade(order, t, TradeStatus.DEFERRED, error_code="VENUE-006",
                         error=f"no traded {order.token} price on {self.name} at {ns_to_iso(t)} (data gap, valued at "
                               f"{m:.2f} from a reference venue): not filled")
        delta = order.amount if order.side is Side.BUY else -order.amount
        fill = m * (1 + self._slip) if delta > 0 else m * (1 - self._slip)
        fee = abs(delta) * fill * self._fee
        before = (pos.size, pos.entry)
        realised = self._apply_fill(pos, delta, fill)
        # Initial-margin check after the fill: the account must stay above 2x maintenance.
        coll = self.ledger.get(self.name, self.quote) + realised - fee
        mb = coll + self.unrealised_pnl(i)
        if abs(pos.size) > 0 and mb < 2.0 * self.maintenance_margin(i) and delta * pos.size > 0:
            pos.size, pos.entry = before
            self._cache_i = -1
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"insufficient margin on {self.name}: margin balance {mb:.2f} after the trade")
        self.ledger.add(self.name, self.quote, realised - fee)
        self.attr.add(SLIPPAGE, self.name, delta * (m - fill))
        self.attr.add(FEES, self.name, -fee)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=order.amount, price=fill, fee=fee,
                     fee_currency=self.quote,
                     position_deltas={(self.name, f"{order.token}-PERP"): delta, (self.name, self.quote): realised - fee})

    def _apply_fill(self, pos: _Position, delta: float, fill: float) -> float:
        """Update size/entry for a fill; returns realised PnL (USDT)."""
        self._cache_i = -1
        size = pos.size
        if size == 0.0 or (size > 0) == (delta > 0):
            new = size + delta
            pos.entry = (size * pos.entry + delta * fill) / new
            pos.size = new
            return 0.0
        closing = -delta if abs(delta) <= abs(size) else size  # part of the position closed (sign of size)
        realised = closing * (fill - pos.entry)
        rest = delta + closing
        pos.size = size - closing
        if abs(pos.size) < 1e-12:
            pos.size = 0.0
            pos.entry = 0.0
        if rest and pos.size == 0.0:
            pos.size, pos.entry = rest, fill
        return realised

    def _liquidate(self, i: int, prices: dict[str, float], trigger: str) -> Event:
        """Close every position at ``prices`` (token -> liquidation price) and book it (module docstring)."""
        coll = self.ledger.get(self.name, self.quote)
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
            pos.last_mark = pos.marks[i]
        self._cache_i = -1
        margin = before + move                      # margin balance at the liquidation prices
        fee = notional * self.params.liquidation_fee_rate
        after = max(0.0, margin - fee)
        charged = min(fee, max(margin, 0.0))
        booked_move = after - before + charged     # = move, or -before when the price passed bankruptcy
        self.ledger.add(self.name, self.quote, after - coll)
        self.attr.add(PRICE_BASIS, self.name, booked_move)
        self.attr.add(LIQUIDATION, self.name, -charged)
        return Event(self.grid_list[i], self.name, "liquidation", {
            "trigger": trigger, "bar_open": ns_to_iso(self.grid_list[i - 1] if trigger == "intrabar" else self.grid_list[i]),
            "closed_sizes": closed, "liquidation_prices": at, "notional_usd": notional, "clearance_fee_usd": fee,
            "fee_charged_usd": charged, "insurance_cover_usd": max(0.0, -margin),
            "loss_usd": before - after})

    def value_usd(self, i: int) -> float:
        return self.ledger.balances.get(self._cash_key, 0.0) + self._risk(i)[0]

    def state(self):
        return ({tok: (p.size, p.entry, p.last_mark, p.f_ptr) for tok, p in self.positions.items()}, len(self.funding_paid))

    def restore(self, state) -> None:
        self._cache_i = -1
        pos_state, n_paid = state
        for tok, (size, entry, last, ptr) in pos_state.items():
            p = self.positions[tok]
            p.size, p.entry, p.last_mark, p.f_ptr = size, entry, last, ptr
        del self.funding_paid[n_paid:]
