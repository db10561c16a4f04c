"""Simulated CEX spot account (e.g. ``bybit.spot``).

Fills a market order at the step's price (the open of the bar at the step time) moved against the
trader by ``slippage_bps``; charges the taker fee in the quote token (USDT) on the filled notional.
(Binance charges buy fees in the base token by default; charging in quote keeps base balances exact
and differs only by the fee's own price move.) Balances live in the shared ``Ledger`` under this
account's name.

Amounts are compared with the tolerance of ``domain.money``: a buy that needs at most 1 ppm more
USDT than the account holds (float rounding of fees and slippage) is filled for what the cash buys.
At a step whose bar did not trade (``MarketFrame.stale``, a data gap) nothing is filled: the order
returns ``TradeStatus.DEFERRED`` (VENUE-006).

Attribution: ``price_basis`` = base balance x price change between marks; ``slippage`` = traded
amount x (price - fill price); ``fees`` = taker fee.
"""

from __future__ import annotations

from basiskit.config.venues import SpotParams
from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.domain.time import ns_to_iso
from basiskit.venues.ledger import FEES, PRICE_BASIS, SLIPPAGE, Attribution, Ledger


class CexSpot:
    def __init__(self, name: str, params: SpotParams, frame: MarketFrame, ledger: Ledger, attribution: Attribution,
                 price_keys: dict[str, str], quote: str = "USDT") -> None:
        """``price_keys`` maps a base token (``"BTC"``) to its frame series key."""
        self.name = name
        self.params = params
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.grid = frame.grid
        self.prices = {tok: frame.series[key] for tok, key in price_keys.items()}
        self.stale = {tok: frame.stale.get(key) for tok, key in price_keys.items()}
        self._last_price: dict[str, float] = {}
        self._fee = params.taker_fee_bps * 1e-4
        self._slip = params.slippage_bps * 1e-4
        attribution.bucket(name)

    def accrue(self, i: int) -> list[Event]:
        self._revalue(i)
        return []

    def cost_rate(self) -> float:
        """Cost of a buy as a fraction of its notional at the bar price: (1 + slippage)(1 + taker fee) - 1."""
        return (1.0 + self._slip) * (1.0 + self._fee) - 1.0

    def is_stale(self, token: str, i: int) -> bool:
        """Whether ``token``'s price at step i did not trade (an order there is deferred)."""
        st = self.stale[token]
        return bool(st is not None and st[i])

    def stale_at(self, i: int) -> bool:
        """Whether a held token's price at step i did not trade."""
        return any(st is not None and st[i] and self.ledger.get(self.name, tok) for tok, st in self.stale.items())

    def withdrawable(self, token: str, i: int) -> float:
        return max(0.0, self.ledger.get(self.name, token))

    def _revalue(self, i: int) -> None:
        balances = self.ledger.balances
        for tok, series in self.prices.items():
            p = series[i]
            last = self._last_price.get(tok)
            self._last_price[tok] = p
            if last is not None and p != last:
                qty = balances.get((self.name, tok), 0.0)
                if qty:
                    pnl = qty * (p - last)
                    self.attr.total[PRICE_BASIS] += pnl
                    self.attr.by_venue[self.name][PRICE_BASIS] += pnl

    def price(self, token: str, i: int) -> float:
        return self.prices[token][i]

    def execute(self, order: Order, i: int) -> Trade:
        t = int(self.grid[i])
        if order.operation is not Operation.SPOT_TRADE or order.token not in self.prices:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-001",
                         error=f"{self.name} cannot {order.operation.value} {order.token}")
        p = self.prices[order.token][i]
        if self.is_stale(order.token, i):
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
        self.ledger.add(self.name, order.token, d_base)
        self.ledger.add(self.name, self.quote, d_quote)
        self.attr.add(SLIPPAGE, self.name, d_base * (p - fill))
        self.attr.add(FEES, self.name, -fee)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=q, price=fill, fee=fee, fee_currency=self.quote,
                     position_deltas={(self.name, order.token): d_base, (self.name, self.quote): d_quote})

    def value_usd(self, i: int) -> float:
        v = self.ledger.get(self.name, self.quote)
        for tok, series in self.prices.items():
            qty = self.ledger.get(self.name, tok)
            if qty:
                v += qty * series[i]
        return v

    def state(self) -> dict[str, float]:
        return dict(self._last_price)

    def restore(self, state: dict[str, float]) -> None:
        self._last_price = dict(state)
