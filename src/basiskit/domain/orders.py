"""Orders: what a strategy asks the engine to do.

An ``Order`` is a frozen value object. Orders with ``execution_mode=SEQUENTIAL`` run one after the
other in list order; orders sharing an ``atomic_group_id`` run all-or-nothing, ordered by
``sequence_in_group`` (the shape of a flash-loan transaction).

Units: ``amount`` is in base-token units (BTC for a BTC spot or perp trade, USDT for an AAVE USDT
supply, the transferred token for a transfer). ``take_profit``/``stop_loss`` are prices in quote units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Operation(str, Enum):
    SPOT_TRADE = "spot_trade"
    PERP_TRADE = "perp_trade"
    SUPPLY = "supply"
    WITHDRAW = "withdraw"
    BORROW = "borrow"
    REPAY = "repay"
    STAKE = "stake"
    UNSTAKE = "unstake"
    SWAP = "swap"
    FLASH_BORROW = "flash_borrow"
    FLASH_REPAY = "flash_repay"
    TRANSFER = "transfer"


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"


class ExecutionMode(str, Enum):
    SEQUENTIAL = "sequential"
    ATOMIC = "atomic"


@dataclass(frozen=True, slots=True)
class Order:
    """One instruction to one venue.

    Attributes:
        operation: what to do (see ``Operation``).
        venue: venue name as configured, e.g. ``"binance"``, ``"aave_v3"``, ``"wallet"``.
        amount: token units of ``token`` (> 0). For trades: base units.
        token: the base token (``"BTC"``) or the token moved/supplied (``"USDT"``).
        side: BUY/SELL for trades; None for lending and transfers.
        quote: quote token for trades (``"USDT"``).
        to_venue: destination account for ``TRANSFER``.
        execution_mode: SEQUENTIAL or ATOMIC; ATOMIC requires ``atomic_group_id``.
        atomic_group_id / sequence_in_group: group identity and order inside the group.
        take_profit / stop_loss: optional trigger prices (quote units).
        reason: free text for the event log (why the strategy asked for it).
    Raises:
        ValueError: non-positive or non-finite amount, ATOMIC without a group id.
    """

    operation: Operation
    venue: str
    amount: float
    token: str
    side: Side | None = None
    quote: str = "USDT"
    to_venue: str | None = None
    execution_mode: ExecutionMode = ExecutionMode.SEQUENTIAL
    atomic_group_id: str | None = None
    sequence_in_group: int = 0
    take_profit: float | None = None
    stop_loss: float | None = None
    reason: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        a = self.amount
        if not (a > 0.0) or a == float("inf"):
            raise ValueError(f"order amount must be a positive finite number, got {a!r} ({self.operation.value} on {self.venue})")
        if self.execution_mode is ExecutionMode.ATOMIC and not self.atomic_group_id:
            raise ValueError("an ATOMIC order needs an atomic_group_id")
        if self.operation in (Operation.SPOT_TRADE, Operation.PERP_TRADE, Operation.SWAP) and self.side is None:
            raise ValueError(f"{self.operation.value} needs a side")
        if self.operation is Operation.TRANSFER and not self.to_venue:
            raise ValueError("a TRANSFER needs to_venue")
