"""The engine's implementation of ``StrategyContext``: read-only accessors over venue state at the
current step. It hands out numbers, never venue objects."""

from __future__ import annotations

from basiskit.domain.orders import Operation


class EngineContext:
    def __init__(self, venues: dict, grid_list: list[int], monitor, prices=None) -> None:
        self._venues = venues
        self._prices = prices
        self._values = list(venues.values())
        self._grid = grid_list
        self._i = 0
        self._pending_withdrawal = 0.0
        self._equity_cache: float | None = None
        self._risk = monitor

    # engine-side setters
    def _at(self, i: int, pending_withdrawal: float) -> None:
        self._i = i
        self._pending_withdrawal = pending_withdrawal
        self._equity_cache = None

    def _invalidate(self) -> None:
        self._equity_cache = None

    # StrategyContext
    @property
    def time_ns(self) -> int:
        return self._grid[self._i]

    @property
    def step(self) -> int:
        return self._i

    def equity_usd(self) -> float:
        if self._equity_cache is None:
            i = self._i
            eq = 0.0
            for v in self._values:
                eq += v.value_usd(i)
            self._equity_cache = eq
        return self._equity_cache

    def pending_withdrawal_usd(self) -> float:
        return self._pending_withdrawal

    def cash(self, account: str, token: str = "USDT") -> float:
        v = self._venues[account]
        return v.ledger.get(account, token)

    def withdrawable(self, account: str, token: str = "USDT") -> float:
        return self._venues[account].withdrawable(token, self._i)

    def in_transit(self, account: str, token: str = "USDT") -> float:
        transit = self._venues.get("transit")
        return transit.in_transit(account, token) if transit is not None and transit.pending else 0.0

    def transfer_fee(self, source: str, destination: str, token: str = "USDT") -> float:
        route = self._venues["transit"].costs.route(source, destination, token)
        return route.fee if route is not None else float("inf")

    def transfer_delay_s(self, source: str, destination: str, token: str = "USDT") -> int:
        route = self._venues["transit"].costs.route(source, destination, token)
        return route.delay_ns // 1_000_000_000 if route is not None else 0

    def price_live(self, account: str, token: str) -> bool:
        return not self._venues[account].is_stale(token, self._i)

    def spot_price(self, account: str, token: str) -> float:
        return self._venues[account].price(token, self._i)

    def perp_size(self, account: str, token: str) -> float:
        return self._venues[account].size(token)

    def perp_mark(self, account: str, token: str) -> float:
        return self._venues[account].mark_price(token, self._i)

    def margin_balance(self, account: str) -> float:
        return self._venues[account].margin_balance(self._i)

    def margin_ratio(self, account: str) -> float | None:
        """From the risk monitor's reading at this step (after the latest pass's fills)."""
        return self._risk.margin_ratios[account]

    def net_delta_usd(self) -> float:
        """Net exposure to the underlying's price, USD(T), from the risk monitor."""
        return self._risk.net_delta_usd

    def cost_rate(self, account: str) -> float:
        return self._venues[account].cost_rate()

    def supplied(self, account: str, token: str) -> float:
        return self._venues[account].supplied(token, self._i)

    def gas_cost_usd(self, account: str, operation: Operation) -> float:
        return self._venues[account].gas_cost(operation, self._i)

    # on-chain (LST / AAVE borrowing modes)
    def price_usd(self, token: str) -> float:
        """Valuation price of an on-chain token, USD(T) per unit (``OnchainPrices``)."""
        return self._prices.usd(token, self._i)

    def eth_per_unit(self, token: str) -> float:
        """ETH per unit (LST: exchange-rate oracle; WETH: 1)."""
        return self._prices.eth(token, self._i)

    def eth_usd(self) -> float:
        return self._prices.eth_usd[self._i]

    def borrowed(self, account: str, token: str) -> float:
        """Variable debt (token units)."""
        return self._venues[account].borrowed(token, self._i)

    def health_factor(self, account: str) -> float:
        return self._risk.health_factors[account]

    def ltv(self, account: str) -> float:
        return self._risk.ltvs[account]

    def max_ltv(self, account: str, token: str) -> float:
        return self._venues[account].max_ltv(token, self._i)

    def liquidation_threshold(self, account: str, token: str) -> float:
        return self._venues[account].liquidation_threshold(token, self._i)

    def flash_fee_rate(self, account: str) -> float:
        return self._venues[account].flash_fee_rate()

    def pool_price(self, base: str, quote: str) -> float:
        """DEX pool price, quote per base."""
        return self._venues["dex"].pool_price(base, quote, self._i)

    def swap_cost_rate(self, base: str, quote: str, notional_usd: float) -> float:
        return self._venues["dex"].cost_rate(base, quote, notional_usd)

    def net_eth(self) -> float:
        """Net ETH exposure (on-chain ETH + ETH perps), ETH units, from the risk monitor."""
        return self._risk.net_eth
