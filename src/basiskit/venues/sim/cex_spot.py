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

Attribution: ``price_basis`` = base balance x price change between marks (the venue's own
revaluation, every step); ``slippage`` = traded amount x (price - fill price); ``fees`` = taker fee.
"""

from __future__ import annotations

from collections.abc import Sequence

from basiskit.config.venues import SpotParams
from basiskit.data.market_state import MarketState
from basiskit.domain.events import MarketTick
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.portfolio import FEES, PRICE_BASIS, SLIPPAGE, Attribution, Ledger
from basiskit.domain.time import ns_to_iso
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.protocol import AccountSnapshot


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
        self._slip = params.slippage_bps * 1e-4
        attribution.bucket(name)

    def on_market(self, tick: MarketTick) -> list:
        balances = self.ledger.balances
        px = self.state.px
        for tok, key in self.keys.items():
            p = px[key]
            last = self._last_price.get(tok)
            self._last_price[tok] = p
            if last is not None and p != last:
                qty = balances.get((self.name, tok), 0.0)
                if qty:
                    pnl = qty * (p - last)
                    self.attr.total[PRICE_BASIS] += pnl
                    self.attr.by_venue[self.name][PRICE_BASIS] += pnl
        return []

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
        balances = self.ledger.balances
        px = self.state.px
        x = 0.0
        for tok, key in self.keys.items():
            q = balances.get((self.name, tok), 0.0)
            if q:
                x += q * px[key]
        return x

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
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-001",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        p = self.state.px[self.keys[order.token]]
        if self.is_stale(order.token):
            return Trade(order, t, TradeStatus.DEFERRED, error_code="VENUE-006",
                         error=f"no traded {order.token} price on {self.name} at {ns_to_iso(t)} (data gap): not filled")
        q = order.amount
        if order.side is Side.BUY:
            fill = p * (1 + self._slip)
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
            fill = p * (1 - self._slip)
            notional = q * fill
            fee = notional * self._fee
            d_base, d_quote = -q, notional - fee
        return Trade(order, t, TradeStatus.FILLED, executed_amount=q, price=fill, fee=fee, fee_currency=self.quote,
                     deltas=((self.name, order.token, d_base), (self.name, self.quote, d_quote)),
                     pnl=((SLIPPAGE, self.name, d_base * (p - fill)), (FEES, self.name, -fee)))

    def value_usd(self) -> float:
        v = self.ledger.get(self.name, self.quote)
        px = self.state.px
        for tok, key in self.keys.items():
            qty = self.ledger.get(self.name, tok)
            if qty:
                v += qty * px[key]
        return v

    def account(self) -> AccountSnapshot:
        bal = {self.quote: self.ledger.get(self.name, self.quote), **self.holdings()}
        return AccountSnapshot(self.name, {k: v for k, v in bal.items() if v}, {}, self.value_usd())

    def checkpoint(self) -> dict[str, float]:
        return dict(self._last_price)

    def restore(self, cp: dict[str, float]) -> None:
        self._last_price = dict(cp)
