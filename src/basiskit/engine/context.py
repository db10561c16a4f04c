"""The kernel's implementation of ``StrategyContext``: read-only numbers about the market, the
portfolio, the venues' terms and the risk readings at the current step. It hands out numbers, never
venue objects; the same strategy runs against it in a backtest, a paper or a live run, or against a
hand-built fake in a unit test."""

from __future__ import annotations

from basiskit.domain.order_state import OrderView
from basiskit.domain.orders import Operation


class EngineContext:
    """Args: venues (account -> venue), state, portfolio, monitor, prices, feed_keys, orders (the run's
    ``ExecutionManager``, or anything with its ``open_orders`` / ``order_status``; None: a run
    without orders to look up)."""

    def __init__(self, venues: dict, state, portfolio, monitor, prices=None, feed_keys: dict | None = None,
                 orders=None) -> None:
        self._orders = orders
        self._venues = venues
        self._state = state
        self._portfolio = portfolio
        self._ledger = portfolio.ledger
        self._balances = portfolio.ledger.balances  # restored in place by the ledger: safe to hold
        self._prices = prices
        self._values = list(venues.values())
        self._pending_withdrawal = 0.0
        self._equity_cache: float | None = None
        self._risk = monitor
        self._transit = venues.get("transit")
        self._keys = feed_keys or {}

    # kernel-side setters
    def _at(self, i: int, pending_withdrawal: float) -> None:
        self._pending_withdrawal = pending_withdrawal
        self._equity_cache = None

    def _invalidate(self) -> None:
        self._equity_cache = None

    # StrategyContext: time and equity
    @property
    def time_ns(self) -> int:
        return self._state.t

    @property
    def step(self) -> int:
        return self._state.step

    def equity_usd(self) -> float:
        if self._equity_cache is None:
            eq = 0.0
            for v in self._values:
                eq += v.value_usd()
            self._equity_cache = eq
        return self._equity_cache

    def pending_withdrawal_usd(self) -> float:
        return self._pending_withdrawal

    # portfolio
    def cash(self, account: str, token: str = "USDT") -> float:
        return self._balances.get((account, token), 0.0)

    def balances(self, account: str) -> dict[str, float]:
        """Every non-zero token balance of ``account`` (token units)."""
        return {tok: amt for (acc, tok), amt in self._ledger.balances.items() if acc == account and amt}

    def position(self, account: str, token: str) -> tuple[float, float]:
        """(signed size in base units, average entry price) of a perp position, from the fills."""
        pos = self._portfolio.positions.get((account, token))
        return (pos.size, pos.entry) if pos is not None else (0.0, 0.0)

    def withdrawable(self, account: str, token: str = "USDT") -> float:
        return self._venues[account].withdrawable(token)

    def lot(self, account: str, token: str):
        """The account's ``domain.lots.LotSize`` for ``token`` (``venue.lot``), or None."""
        lot_of = getattr(self._venues.get(account), "lot", None)
        return lot_of(token) if lot_of is not None else None

    def in_transit(self, account: str, token: str = "USDT") -> float:
        transit = self._transit
        return transit.in_transit(account, token) if transit is not None and transit.pending else 0.0

    def transfer_fee(self, source: str, destination: str, token: str = "USDT") -> float:
        route = self._transit.costs.route(source, destination, token)
        return route.fee if route is not None else float("inf")

    def transfer_delay_s(self, source: str, destination: str, token: str = "USDT") -> int:
        route = self._transit.costs.route(source, destination, token)
        return route.delay_ns // 1_000_000_000 if route is not None else 0

    # orders
    def open_orders(self, account: str | None = None, token: str | None = None) -> list[OrderView]:
        """Working resting orders (accepted or partially filled; bracket legs included) of one venue
        account and/or token, or all: read-only views (id, type, side, amount, filled, status, prices)."""
        return self._orders.open_orders(account, token) if self._orders is not None else []

    def order_status(self, client_order_id: str) -> OrderView | None:
        """The order's state now (``.status``: submitted, accepted, partially_filled, filled, cancelled,
        rejected, expired), or None when the run knows no order with this id."""
        return self._orders.order_status(client_order_id) if self._orders is not None else None

    # market
    def price_live(self, account: str, token: str) -> bool:
        return not self._venues[account].is_stale(token)

    def spot_price(self, account: str, token: str) -> float:
        return self._venues[account].price(token)

    def perp_size(self, account: str, token: str) -> float:
        return self._venues[account].size(token)

    def perp_mark(self, account: str, token: str) -> float:
        return self._venues[account].mark_price(token)

    def history(self, key: str, n: int) -> list[float]:
        """The last ``n`` values of the market series ``key`` up to now (e.g. ``perp.binance.BTCUSDT``)."""
        return self._state.window(key, n)

    def next_funding(self, account: str, token: str) -> int | None:
        """The next funding settlement time (ns) of ``token``'s perp on ``account``, if known."""
        v = self._venues[account]
        return self._state.funding_next(v.positions[token].funding_key)

    def funding_rates(self, account: str, token: str, n: int) -> list[tuple[int, float]]:
        """The last ``n`` funding settlements ``(time ns, rate per period)`` of ``token``'s perp on
        ``account`` at or before now (held or not), oldest first."""
        return self._state.funding_past(self._venues[account].positions[token].funding_key, n)

    def last_funding_rate(self, account: str, token: str) -> float | None:
        """The last settled funding rate (per period) of ``token``'s perp on ``account``."""
        for ev in reversed(self._venues[account].funding_paid):
            if ev.token == token:
                return ev.rate
        return None

    # venue terms and readings
    def margin_balance(self, account: str) -> float:
        return self._venues[account].margin_balance()

    def margin_ratio(self, account: str) -> float | None:
        """From the risk monitor's reading at this step (after the latest pass's fills)."""
        return self._risk.margin_ratios[account]

    def net_delta_usd(self) -> float:
        """Net exposure to the underlying's price, USD(T), from the risk monitor."""
        return self._risk.net_delta_usd

    def cost_rate(self, account: str) -> float:
        return self._venues[account].cost_rate()

    def supplied(self, account: str, token: str) -> float:
        return self._venues[account].supplied(token)

    def gas_cost_usd(self, account: str, operation: Operation) -> float:
        return self._venues[account].gas_cost(operation)

    # on-chain (LST / AAVE borrowing modes)
    def price_usd(self, token: str) -> float:
        """Valuation price of an on-chain token, USD(T) per unit (``OnchainPrices``)."""
        return self._prices.usd(token)

    def eth_per_unit(self, token: str) -> float:
        """ETH per unit (LST: exchange-rate oracle; WETH: 1)."""
        return self._prices.eth(token)

    def eth_usd(self) -> float:
        return self._prices.eth_usd_now

    def borrowed(self, account: str, token: str) -> float:
        """Variable debt (token units)."""
        return self._venues[account].borrowed(token)

    def health_factor(self, account: str) -> float:
        return self._risk.health_factors[account]

    def ltv(self, account: str) -> float:
        return self._risk.ltvs[account]

    def max_ltv(self, account: str, token: str) -> float:
        return self._venues[account].max_ltv(token)

    def liquidation_threshold(self, account: str, token: str) -> float:
        return self._venues[account].liquidation_threshold(token)

    def flash_fee_rate(self, account: str) -> float:
        return self._venues[account].flash_fee_rate()

    def pool_price(self, base: str, quote: str, venue: str = "dex") -> float:
        """DEX pool price, quote per base."""
        return self._venues[venue].pool_price(base, quote)

    def swap_cost_rate(self, base: str, quote: str, notional_usd: float, venue: str = "dex") -> float:
        return self._venues[venue].cost_rate(base, quote, notional_usd)

    def net_eth(self) -> float:
        """Net ETH exposure (on-chain ETH + ETH perps), ETH units, from the risk monitor."""
        return self._risk.net_eth
