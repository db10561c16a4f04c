"""Simulated CEX spot account (e.g. ``bybit.spot``).

Fills a market order at the step's price (the open of the bar at the step time, ``MarketState.px``)
moved against the trader by ``slippage_bps``; charges the taker fee in the quote token (USDT) on the
filled notional. (Binance charges buy fees in the base token by default; charging in quote keeps base
balances exact and differs only by the fee's own price move.) Balances live in the portfolio's ledger
under this account's name; a fill reports its balance changes in the trade's ``deltas``.

Amounts are compared with the tolerance of ``domain.money``: a buy that needs at most 1 ppm more
USDT than the account holds (float rounding of fees and slippage) is filled for what the cash buys.
At a step whose bar did not trade (``MarketState.stale``, a data gap) nothing is filled: the order
returns ``TradeStatus.DEFERRED`` (VENUE-006).

Resting orders (limit, stop, take-profit, time in force, brackets, OCO, reduce-only; rules in
``venues/sim/resting.py``, wiring in ``venues/sim/bar_orders.py``) wait in the account's book
(``self.resting``). At each step, before the account is revalued, the bar that closed since the
previous step and then the open at the step are shown to the book; its fills are booked like market
orders: a taker fill (a stop or take-profit, a limit crossing at submission) at the reference price
moved by ``slippage_bps`` (a limit never beyond its limit price) plus the taker fee; a maker fill (a
resting limit filled at its limit) at the limit, no slippage, plus ``maker_fee_bps`` (the taker fee
when the venue config has none). A buy the USDT balance cannot pay, or a sell of more than the
balance (both beyond the tolerance of ``domain.money``), is refused and the order cancelled (balances
are not reserved for open orders). Reduce-only orders reduce the base balance.

Attribution: ``price_basis`` = base balance x price change between marks (the venue's own
revaluation, every step); ``slippage`` = traded amount x (price - fill price); ``fees`` = taker fee.
A resting fill during ``on_market`` happens before the revaluation, so its trade also books
``price_basis`` = traded amount x (last mark - reference price): with the revaluation that follows,
the account's value change equals its bookings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from basiskit.config.venues import SpotParams
from basiskit.data.market_state import MarketState
from basiskit.domain.events import MarketTick
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.portfolio import FEES, PRICE_BASIS, SLIPPAGE, Attribution, Ledger
from basiskit.domain.time import ns_to_iso
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.errors.exceptions import OrderRejected
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection
from basiskit.venues.sim.bar_orders import BarOrders
from basiskit.venues.sim.resting import Trigger, fill_terms


class CexSpot:
    def __init__(self, name: str, params: SpotParams, state: MarketState, ledger: Ledger, attribution: Attribution,
                 price_keys: dict[str, str], quote: str = "USDT") -> None:
        """``price_keys`` maps a base token (``"BTC"``) to its market series key."""
        self.name = name
        self.params = params
        self.state = state
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.keys = dict(price_keys)
        self._last_price: dict[str, float] = {}
        self._fee = params.taker_fee_bps * 1e-4
        self._maker = (params.maker_fee_bps if params.maker_fee_bps is not None else params.taker_fee_bps) * 1e-4
        self._slip = params.slippage_bps * 1e-4
        self._pend: dict[str, float] = {}  # token units of resting fills not yet applied to the ledger (one call)
        self.resting = BarOrders(name, Operation.SPOT_TRADE, state, self.keys, self._fill_resting, self._held,
                                 self._marked_at, self._pend.clear)
        self._bucket = attribution.bucket(name)
        self._items = [(tok, key, (name, tok)) for tok, key in self.keys.items()]  # (token, series key, ledger key)
        self._quote_key = (name, quote)
        self._read_at = (-1, -1)  # (step, ledger version) of the cached readings
        self._read = (0.0, 0.0)
        # token -> domain.lots.LotSize the orders are rounded to (engine.execution); empty: any amount
        self.lots = params.lot_sizes.lots(self.keys, quote) if params.lot_sizes is not None else {}

    def lot(self, token: str):
        """The token's ``domain.lots.LotSize`` (the venue config's ``lot_sizes`` when enabled; a live session
        sets ``lots`` from ccxt's markets), or None: any amount is accepted."""
        return self.lots.get(token)

    def on_market(self, tick: MarketTick) -> list:
        """Resting orders (the closed bar, then the open; module docstring), then revaluation."""
        events: list = []
        pend = None
        if self.resting.active:
            self._pend.clear()
            events = self.resting.on_bars()
            if self.resting.active:
                events += self.resting.on_open()
            pend = self._pend
        balances = self.ledger.balances
        px = self.state.px
        last_price = self._last_price
        for tok, key, bkey in self._items:
            p = px[key]
            last = last_price.get(tok)
            last_price[tok] = p
            if last is not None and p != last:
                qty = balances.get(bkey, 0.0)
                if pend:
                    qty += pend.get(tok, 0.0)
                if qty:
                    pnl = qty * (p - last)
                    self.attr.total[PRICE_BASIS] += pnl
                    self._bucket[PRICE_BASIS] += pnl
        return events

    def quiet_now(self) -> bool:
        """Whether :meth:`project` can pass steps now (no resting orders)."""
        return not self.resting.active

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        """The account over the quiet steps ``[lo, hi)`` (``engine.quiet``): value, exposure and the
        revaluation of each token as :meth:`on_market` and :meth:`_readings` give them, with the same
        arithmetic. None with resting orders or before the first step."""
        if self.resting.active:
            return None
        n = hi - lo
        balances = self.ledger.balances
        value = np.full(n, balances.get(self._quote_key, 0.0))
        exposure = np.zeros(n)
        pnl = []
        ends = []
        for tok, key, bkey in self._items:
            last = self._last_price.get(tok)
            if last is None:
                return None
            p = feed.values(key, lo, hi)
            q = balances.get(bkey, 0.0)
            if q:
                u = q * p
                value = value + u
                exposure = exposure + u
            pnl.append((PRICE_BASIS, q * (p - np.concatenate(([last], p[:-1])))))
            ends.append((tok, p))

        def commit(k: int) -> None:
            for tok, p in ends:
                self._last_price[tok] = float(p[k - 1])
            self._read_at = (-1, -1)

        return Projection(value, commit, self._bucket, delta_usd=exposure, bookings=pnl, blocked=n)

    def cost_rate(self) -> float:
        """Cost of a buy as a fraction of its notional at the bar price: (1 + slippage)(1 + taker fee) - 1."""
        return (1.0 + self._slip) * (1.0 + self._fee) - 1.0

    def is_stale(self, token: str) -> bool:
        """Whether ``token``'s price did not trade at this step (an order there is deferred)."""
        return bool(self.state.stale.get(self.keys[token], False))

    def stale_now(self) -> bool:
        """Whether a held token's price did not trade at this step."""
        stale = self.state.stale
        return any(stale.get(key, False) and self.ledger.get(self.name, tok) for tok, key in self.keys.items())

    def withdrawable(self, token: str) -> float:
        return max(0.0, self.ledger.get(self.name, token))

    def price(self, token: str) -> float:
        return self.state.px[self.keys[token]]

    def exposure_usd(self) -> float:
        """Value of the base-token holdings, USD(T) (the account's price exposure)."""
        return self._readings()[1]

    def _readings(self) -> tuple[float, float]:
        """(value USD(T), base-token holdings x price USD(T)) from one pass, cached until the step or
        the ledger changes."""
        at = (self.state.step, self.ledger.version)
        if at == self._read_at:
            return self._read
        balances = self.ledger.balances
        px = self.state.px
        v = balances.get(self._quote_key, 0.0)
        x = 0.0
        for _, key, bkey in self._items:
            q = balances.get(bkey, 0.0)
            if q:
                u = q * px[key]
                v += u
                x += u
        self._read_at, self._read = at, (v, x)
        return self._read

    def holdings(self) -> dict[str, float]:
        """Base-token balances (token units) of the account."""
        return {tok: self.ledger.get(self.name, tok) for tok in self.keys}

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [self._execute(o) for o in orders]

    def poll(self, now_ns: int) -> list:
        return []

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        if order.operation is not Operation.SPOT_TRADE or order.token not in self.keys:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        p = self.state.px[self.keys[order.token]]
        if self.is_stale(order.token):
            return Trade(order, t, TradeStatus.DEFERRED, error_code="VENUE-006",
                         error=f"no traded {order.token} price on {self.name} at {ns_to_iso(t)} (data gap): not filled")
        fill = p * (1 + self._slip) if order.side is Side.BUY else p * (1 - self._slip)
        return self._market_fill(order, t, fill, p)

    def _market_fill(self, order: Order, t: int, fill: float, p: float) -> Trade:
        """Book a market order filled at ``fill`` (quote per base unit) against the price ``p``: taker
        fee on the filled notional, ``slippage`` = traded amount x (p - fill); a buy takes at most what
        the cash pays for and a sell at most what is held (within the money tolerance), beyond that
        REJECTED (VENUE-002)."""
        q = order.amount
        if order.side is Side.BUY:
            cash = self.ledger.get(self.name, self.quote)
            need = q * fill * (1 + self._fee)
            if not within(need, cash):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {self.quote} on {self.name}: {fmt_amounts(need, cash)}")
            if need > cash:  # within tolerance: buy what the cash pays for
                q = cash / (fill * (1 + self._fee))
            notional = q * fill
            fee = notional * self._fee
            d_base, d_quote = q, -(notional + fee)
        else:
            held = self.ledger.get(self.name, order.token)
            if not within(q, held):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {order.token} on {self.name}: sell {fmt_amounts(q, held)}")
            q = min(q, held)
            notional = q * fill
            fee = notional * self._fee
            d_base, d_quote = -q, notional - fee
        return Trade(order, t, TradeStatus.FILLED, executed_amount=q, price=fill, fee=fee, fee_currency=self.quote,
                     deltas=((self.name, order.token, d_base), (self.name, self.quote, d_quote)),
                     pnl=((SLIPPAGE, self.name, d_base * (p - fill)), (FEES, self.name, -fee)))

    # -- resting orders -------------------------------------------------------------------------
    def _held(self, token: str) -> float:
        """Token units held now, with the resting fills of this call not yet in the ledger."""
        return self.ledger.get(self.name, token) + self._pend.get(token, 0.0)

    def _marked_at(self, token: str) -> float | None:
        return self._last_price.get(token)

    def _fill_resting(self, trig: Trigger, order: Order) -> Trade:
        """Book one fill of a resting order (module docstring). Raises OrderRejected (the book
        cancels the order) when the balance cannot pay it."""
        tok, q, ref = trig.token, trig.quantity, trig.price
        buy = trig.side is Side.BUY
        fill, rate = fill_terms(trig, order, self._slip, self._fee, self._maker)
        if buy:
            cash = self._held(self.quote)
            need = q * fill * (1 + rate)
            if not within(need, cash) or cash <= 0.0:
                raise OrderRejected(f"insufficient {self.quote} on {self.name}: {fmt_amounts(need, cash)}")
            if need > cash:  # within tolerance: buy what the cash pays for
                q = cash / (fill * (1 + rate))
            notional = q * fill
            fee = notional * rate
            d_base, d_quote = q, -(notional + fee)
        else:
            held = self._held(tok)
            if not within(q, held) or held <= 0.0:
                raise OrderRejected(f"insufficient {tok} on {self.name}: sell {fmt_amounts(q, held)}")
            q = min(q, held)
            notional = q * fill
            fee = notional * rate
            d_base, d_quote = -q, notional - fee
        pend = self._pend
        pend[tok] = pend.get(tok, 0.0) + d_base
        pend[self.quote] = pend.get(self.quote, 0.0) + d_quote
        mark = self._last_price.get(tok, ref)
        return Trade(order, trig.ts, TradeStatus.FILLED, executed_amount=q, price=fill, fee=fee,
                     fee_currency=self.quote, deltas=((self.name, tok, d_base), (self.name, self.quote, d_quote)),
                     pnl=((PRICE_BASIS, self.name, d_base * (mark - ref)), (SLIPPAGE, self.name, d_base * (ref - fill)),
                          (FEES, self.name, -fee)))

    def value_usd(self) -> float:
        return self._readings()[0]

    def account(self) -> AccountSnapshot:
        bal = {self.quote: self.ledger.get(self.name, self.quote), **self.holdings()}
        return AccountSnapshot(self.name, {k: v for k, v in bal.items() if v}, {}, self.value_usd())

    def checkpoint(self) -> dict[str, float]:
        return dict(self._last_price)

    def restore(self, cp: dict[str, float]) -> None:
        self._last_price = dict(cp)
