"""Simulated CEX spot account (e.g. ``bybit.spot``).

Fills a market order at the step's price (the open of the bar at the step time) moved against the
trader by ``slippage_bps``; charges the taker fee in the quote token (USDT) on the filled notional.
(Binance charges buy fees in the base token by default; charging in quote keeps base balances exact
and differs only by the fee's own price move.) Balances live in the shared ``Ledger`` under this
account's name.

Attribution: ``price_basis`` = base balance x price change between marks; ``slippage`` = traded
amount x (price - fill price); ``fees`` = taker fee.
"""

from __future__ import annotations

from basiskit.config.venues import SpotParams
from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.trades import Trade, TradeStatus
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
        self._last_price: dict[str, float] = {}
        self._fee = params.taker_fee_bps * 1e-4
        self._slip = params.slippage_bps * 1e-4
        attribution.bucket(name)

    def accrue(self, i: int) -> list[Event]:
        self._revalue(i)
        return []

    def cost_rate(self) -> float:
        """Taker fee + slippage as a fraction of traded notional."""
        return self._fee + self._slip

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
        q = order.amount
        if order.side is Side.BUY:
            fill = p * (1 + self._slip)
            notional = q * fill
            fee = notional * self._fee
            cash = self.ledger.get(self.name, self.quote)
            if notional + fee > cash * (1 + 1e-12) + 1e-9:
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {self.quote} on {self.name}: need {notional + fee:.2f}, have {cash:.2f}")
            d_base, d_quote = q, -(notional + fee)
        else:
            held = self.ledger.get(self.name, order.token)
            if q > held * (1 + 1e-12) + 1e-12:
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {order.token} on {self.name}: sell {q}, have {held}")
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
