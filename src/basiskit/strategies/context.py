"""The read-only view a strategy decides from.

The engine implements ``StrategyContext``; a strategy only calls these methods and gets numbers (and
read-only ``OrderView`` s of its orders) back, never a venue object, so the same strategy runs in a backtest, live, or in a unit test against a
hand-built fake context. Units: USD(T) for values, token units for sizes/balances, per-unit rates.
"""

from __future__ import annotations

from typing import Protocol

from basiskit.domain.order_state import OrderView
from basiskit.domain.orders import Operation


class StrategyContext(Protocol):
    @property
    def time_ns(self) -> int: ...
    @property
    def step(self) -> int: ...

    def equity_usd(self) -> float:
        """Total equity across accounts, USD(T), at the current step before this pass's orders."""
        ...

    def pending_withdrawal_usd(self) -> float:
        """Withdrawals requested and not yet paid out, in share-class token units (USDT, or WETH for
        the ETH share class)."""
        ...

    def cash(self, account: str, token: str = "USDT") -> float: ...
    def balances(self, account: str) -> dict[str, float]:
        """Every non-zero token balance of ``account`` (token units), from the portfolio."""
        ...

    def position(self, account: str, token: str) -> tuple[float, float]:
        """(signed size in base units, average entry price in quote units) of a perp position, from the
        portfolio's fills; (0, 0) without one."""
        ...

    def history(self, key: str, n: int) -> list[float]:
        """The last ``n`` values (fewer at the start) of the market series ``key`` up to now, oldest
        first: e.g. ``perp.binance.BTCUSDT`` (bar opens, quote units), ``aave.USDT.liquidity_index``.
        Never a value after now."""
        ...

    def next_funding(self, account: str, token: str) -> int | None:
        """The next funding settlement time (ns since the epoch, UTC) of ``token``'s perp on
        ``account``; None when the run has no later one (after its last settlement)."""
        ...

    def funding_rates(self, account: str, token: str, n: int) -> list[tuple[int, float]]:
        """The last ``n`` funding settlements ``(time ns since the epoch, rate per period; positive: longs
        pay shorts)`` of ``token``'s perp on ``account`` at or before now, whether or not a position is held,
        oldest first; never one after now."""
        ...

    def last_funding_rate(self, account: str, token: str) -> float | None:
        """The last funding rate settled on the position (per funding period, e.g. per 8 h; positive:
        longs pay shorts); None before the first settlement."""
        ...

    def open_orders(self, account: str | None = None, token: str | None = None) -> list[OrderView]:
        """Working resting orders (limit, stop, take-profit; bracket legs ``<id>-tp-k`` / ``<id>-sl-k``
        included): accepted or partially filled, of one venue account and/or token or all, as read-only
        ``OrderView`` s (client_order_id, account, token, order_type, side, amount, filled, remaining,
        avg_price, status, limit_price, stop_price, time_in_force, ...; base units, quote per base)."""
        ...

    def order_status(self, client_order_id: str) -> OrderView | None:
        """Any order of the run by client order id (market orders too: filled or rejected at once), as
        an ``OrderView`` (``.status``: submitted, accepted, partially_filled, filled, cancelled,
        rejected, expired); None when the run knows no order with this id."""
        ...

    def withdrawable(self, account: str, token: str = "USDT") -> float: ...
    def lot(self, account: str, token: str):
        """The ``domain.lots.LotSize`` orders of ``token`` on ``account`` are rounded to (amount step, minimum
        amount and notional), or None when the account takes any amount (module ``engine.execution``)."""
        ...

    def in_transit(self, account: str, token: str = "USDT") -> float:
        """Token units sent to ``account`` that have not landed yet (counted in equity, not usable)."""
        ...

    def transfer_fee(self, source: str, destination: str, token: str = "USDT") -> float:
        """Fee of a transfer in token units (charged on top of the amount; 0 between accounts of one venue)."""
        ...

    def transfer_delay_s(self, source: str, destination: str, token: str = "USDT") -> int:
        """Seconds a transfer is in transit (0: it lands at once and can be used in the same step)."""
        ...

    def price_live(self, account: str, token: str) -> bool:
        """Whether ``token`` traded on ``account`` at this step. False in a data gap: the price is an
        estimate from a reference venue and an order there would not be filled (deferred)."""
        ...

    def spot_price(self, account: str, token: str) -> float: ...
    def perp_size(self, account: str, token: str) -> float:
        """Signed size in base units (negative = short)."""
        ...

    def perp_mark(self, account: str, token: str) -> float: ...
    def margin_balance(self, account: str) -> float: ...
    def margin_ratio(self, account: str) -> float | None:
        """Margin balance / position notional of a perp account (None without a position)."""
        ...

    def net_delta_usd(self) -> float:
        """Net exposure of the whole book to the underlying's price, USD(T)."""
        ...
    def cost_rate(self, account: str) -> float:
        """Taker fee + slippage of a trade on ``account`` as a fraction of notional."""
        ...

    def supplied(self, account: str, token: str) -> float:
        """aToken balance (token units)."""
        ...

    def gas_cost_usd(self, account: str, operation: Operation) -> float: ...

    # on-chain modes
    def price_usd(self, token: str) -> float:
        """Valuation price of an on-chain token, USD(T) per unit."""
        ...

    def eth_per_unit(self, token: str) -> float:
        """ETH per unit (an LST: its exchange-rate oracle)."""
        ...

    def eth_usd(self) -> float: ...
    def borrowed(self, account: str, token: str) -> float:
        """AAVE variable debt, token units."""
        ...

    def health_factor(self, account: str) -> float: ...
    def ltv(self, account: str) -> float:
        """AAVE debt / collateral value."""
        ...

    def max_ltv(self, account: str, token: str) -> float: ...
    def liquidation_threshold(self, account: str, token: str) -> float: ...
    def flash_fee_rate(self, account: str) -> float:
        """Flash-loan premium as a fraction of the amount."""
        ...

    def pool_price(self, base: str, quote: str) -> float:
        """DEX pool price, quote per base."""
        ...

    def swap_cost_rate(self, base: str, quote: str, notional_usd: float) -> float:
        """DEX fee + slippage as a fraction of notional."""
        ...

    def net_eth(self) -> float:
        """Net ETH exposure of the book (on-chain + ETH perps), ETH units."""
        ...
