"""The five standard strategy actions: the vocabulary for *why* a strategy returned its orders."""

from enum import Enum


class Action(str, Enum):
    ENTRY_FULL = "entry_full"
    ENTRY_PARTIAL = "entry_partial"
    EXIT_FULL = "exit_full"
    EXIT_PARTIAL = "exit_partial"
    SELL_DUST = "sell_dust"
    HOLD = "hold"
