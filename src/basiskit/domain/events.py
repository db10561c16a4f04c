"""Events: what the market does, what happens to an account, and the run's own trace.

Every event is a frozen value keyed by ``timestamp`` (int ns since the epoch, UTC) and has a
``component`` (who it is about: a venue account such as ``binance.perp``, ``engine``, ``strategy``,
``risk``), a ``kind`` (short snake_case type) and ``data`` (JSON-serialisable details) -- one line of
the event log each.

* **Market events** come from a feed (historical replay or live): ``Bar``, ``BookTicker``,
  ``FundingRate`` (a settlement: rate per period and the mark it settles on), ``MarkPrice`` (a perp's
  mark and funding estimate, live feeds), ``IndexUpdate`` (an
  AAVE reserve's indexes), ``OraclePrice``, ``GasPrice``, ``RewardPayout`` (a restaking reward paid). ``MarketTick`` is
  the kernel's "the market state is now at ``timestamp``" with the discrete events of the step.
* **Account events** are what venues report (``submit``, ``on_market``, ``poll``); they change
  balances only through the portfolio, which applies their ``deltas`` (token units per
  ``(account, token)``) and books their ``pnl`` (``(source, venue, amount USD(T))``): order outcomes
  (``domain.trades.Trade``), ``FundingSettled``, ``Liquidated``, ``TransferArrived``,
  ``WithdrawalClaimed``, ``RewardCredited``, ``GasPaid``, ``OrderStatusChanged``.
* **Run events** (``Event``): decisions, deposits and withdrawals, risk overrides, assessments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

Delta = tuple[str, str, float]   # (account, token, token units)
Booking = tuple[str, str, float]  # (attribution source, venue, USD(T))


@dataclass(frozen=True, slots=True)
class Event:
    """A run event (decision, deposit, risk override, ...): ``data`` holds its details."""

    timestamp: int
    component: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


# -- market events ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bar:
    """An OHLCV bar of a series (``key``), opened at ``open_ns``, ``interval_s`` long; published when it
    closes (``timestamp`` = close time). Prices in quote units, volume in base units."""

    timestamp: int
    key: str
    open_ns: int
    interval_s: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    traded: bool = True  # False: a data gap valued from a reference venue (data.gap_reference)
    received_ns: int = 0  # live feeds: when this process received it (ns, UTC); 0 for recorded data
    kind: ClassVar[str] = "bar"


@dataclass(frozen=True, slots=True)
class BookTicker:
    """Best bid and ask of an instrument (prices in quote units, sizes in base units). ``timestamp``: the
    venue's time of the quote; ``received_ns``: when this process received it (live feeds; 0 for
    recorded data)."""

    timestamp: int
    key: str
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    received_ns: int = 0
    kind: ClassVar[str] = "book_ticker"


@dataclass(frozen=True, slots=True)
class FundingRate:
    """A funding settlement of a perpetual: ``rate`` per funding period (positive: longs pay shorts),
    settled on ``mark`` (quote units) at ``timestamp``."""

    timestamp: int
    key: str
    rate: float
    mark: float
    received_ns: int = 0  # live feeds: when this process learnt of the settlement (ns, UTC); 0 for recorded data
    kind: ClassVar[str] = "funding_rate"


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A perpetual's mark price (quote units) at the venue's ``timestamp``, with the venue's current
    funding-rate estimate for the period running (per period; NaN when the venue gives none) and the
    next settlement time (ns, 0 when unknown). Not a settlement: settlements are ``FundingRate`` events.
    ``received_ns``: when this process received it."""

    timestamp: int
    key: str
    mark: float
    funding_estimate: float = float("nan")
    next_funding_ns: int = 0
    received_ns: int = 0
    kind: ClassVar[str] = "mark_price"


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    """An AAVE v3 reserve's indexes (ray / 1e27) at ``timestamp``."""

    timestamp: int
    key: str
    liquidity_index: float
    variable_borrow_index: float
    kind: ClassVar[str] = "index_update"


@dataclass(frozen=True, slots=True)
class OraclePrice:
    timestamp: int
    key: str
    price: float
    kind: ClassVar[str] = "oracle_price"


@dataclass(frozen=True, slots=True)
class GasPrice:
    timestamp: int
    gwei: float
    kind: ClassVar[str] = "gas_price"


@dataclass(frozen=True, slots=True)
class RewardPayout:
    """A restaking reward distribution paid at ``timestamp`` for window ``index`` of the run's schedule
    (``data.rewards``; windows are announced, amounts are known when paid): ``per_eeth`` tokens per
    eETH held over the window, or for value rows ``per_eeth_eth_value`` ETH per eETH (``per_eeth`` NaN)."""

    timestamp: int
    index: int
    token: str
    per_eeth: float
    per_eeth_eth_value: float
    kind: ClassVar[str] = "reward_payout"


@dataclass(slots=True)
class MarketTick:
    """The market state has advanced to ``timestamp`` (clock step ``step``); ``events`` are the
    discrete market events of the interval since the previous tick (funding settlements, ...).
    Read-only by convention (not frozen: one is built every clock step and a frozen dataclass costs
    twice as much to build)."""

    timestamp: int
    step: int
    events: tuple = ()
    kind: ClassVar[str] = "tick"


MarketEvent = Bar | BookTicker | FundingRate | MarkPrice | IndexUpdate | OraclePrice | GasPrice | RewardPayout | MarketTick


# -- account events -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FundingSettled:
    """Funding paid or received on a perp position: ``amount`` = -size x mark x rate (quote units)."""

    timestamp: int
    component: str
    token: str
    rate: float
    mark: float
    size: float
    amount: float
    quote: str = "USDT"
    kind: ClassVar[str] = "funding"

    @property
    def deltas(self) -> tuple[Delta, ...]:
        return ((self.component, self.quote, self.amount),)

    @property
    def pnl(self) -> tuple[Booking, ...]:
        return (("funding", self.component, self.amount),)

    @property
    def data(self) -> dict[str, Any]:
        return {"token": self.token, "rate": self.rate, "mark": self.mark, "size": self.size, "payment_usd": self.amount}


@dataclass(frozen=True, slots=True)
class AccountChange:
    """A change a venue reports outside an order: ``kind`` says which (``liquidation``,
    ``transfer_arrived``, ``withdrawal_claimed``, ``restaking_reward``, ``gas``, ...), ``deltas`` and
    ``pnl`` what the portfolio applies, ``data`` the details for the log."""

    timestamp: int
    component: str
    kind: str
    deltas: tuple[Delta, ...] = ()
    pnl: tuple[Booking, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderStatusChanged:
    """An order's life moved on (accepted, partially filled, filled, cancelled, expired, rejected):
    ``status`` is the new ``domain.order_state.OrderStatus`` value, ``reason`` why. On a fill,
    ``quantity`` is what this fill executed (base units) and ``price`` its price (quote per base,
    slippage included); the fill's money is the ``Trade`` published just before it. Changes nothing
    in the ledger (no deltas, no pnl)."""

    timestamp: int
    component: str
    client_order_id: str
    status: str
    reason: str = ""
    quantity: float = 0.0
    price: float | None = None
    kind: ClassVar[str] = "order_status"
    deltas: ClassVar[tuple] = ()
    pnl: ClassVar[tuple] = ()

    @property
    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"client_order_id": self.client_order_id, "status": self.status, "reason": self.reason}
        if self.price is not None:
            out["quantity"] = self.quantity
            out["price"] = self.price
        return out
