"""Bridge protocols behind one interface: what moving ``amount`` of a token costs, how long it takes
and how often it fails.

Every protocol is data (``BridgeConfig``: fees, delays, failure rate, and the ``sources`` the numbers
come from); :class:`BridgeManager` picks the cheapest bridge that serves a route (ties: the fastest).
Two fee shapes cover the protocols in use:

* ``fixed``: a flat fee in token units per transfer (a CEX withdrawal on a network: TRC20, ERC20 --
  the venue's withdrawal fee);
* ``proportional``: ``fee_bps`` of the amount plus ``fixed_fee`` (bridge protocols such as Stargate or
  Across charge a share of the amount plus the destination gas).

Delays are seconds: ``withdrawal_delay_s`` (the source processes the withdrawal), ``bridge_delay_s``
(the network/bridge carries it) and ``deposit_delay_s`` (the destination's confirmations). Failure
rates are probabilities per transfer of each stage failing (a failed withdrawal is returned to the
source with its fee; a failed bridge returns the amount, the fee being spent).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BridgeConfig(BaseModel):
    """One bridge protocol (frozen, unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fee_kind: Literal["fixed", "proportional"] = Field(description="fixed: fixed_fee per transfer; "
                                                                    "proportional: fee_bps of the amount + fixed_fee")
    fixed_fee: float = Field(default=0.0, ge=0, description="token units per transfer")
    fee_bps: float = Field(default=0.0, ge=0, le=10_000, description="basis points of the amount")
    withdrawal_delay_s: int = Field(default=0, ge=0, description="seconds the source takes to send")
    bridge_delay_s: int = Field(default=0, ge=0, description="seconds the network or bridge takes")
    deposit_delay_s: int = Field(default=0, ge=0, description="seconds the destination takes to credit")
    withdrawal_failure_rate: float = Field(default=0.0, ge=0, lt=1, description="probability a withdrawal fails")
    bridge_failure_rate: float = Field(default=0.0, ge=0, lt=1, description="probability the bridge stage fails")
    send_error_rate: float = Field(default=0.0, ge=0, lt=1, description="probability one send call errors "
                                                                        "(nothing sent; the manager retries)")
    tokens: tuple[str, ...] = Field(default=("USDT",), description="tokens the bridge carries")
    venues: tuple[str, ...] = Field(default=(), description="venues it connects (empty: any)")
    sources: tuple[str, ...] = Field(default=(), description="where the numbers come from")

    @model_validator(mode="after")
    def _shape(self) -> "BridgeConfig":
        if self.fee_kind == "fixed" and self.fee_bps:
            raise ValueError("fee_bps is only for fee_kind proportional")
        return self


class Bridge:
    """A configured protocol: :meth:`fee` and :meth:`delay_s` of a transfer, :meth:`serves` a route."""

    def __init__(self, name: str, config: BridgeConfig) -> None:
        self.name = name
        self.config = config

    def fee(self, amount: float) -> float:
        """Fee of moving ``amount`` (token units), token units."""
        c = self.config
        return c.fixed_fee + (c.fee_bps * 1e-4 * amount if c.fee_kind == "proportional" else 0.0)

    def delay_s(self) -> int:
        """Seconds from sending to being credited when nothing fails."""
        c = self.config
        return c.withdrawal_delay_s + c.bridge_delay_s + c.deposit_delay_s

    def serves(self, source_venue: str, destination_venue: str, token: str) -> bool:
        c = self.config
        return token in c.tokens and (not c.venues or (source_venue in c.venues and destination_venue in c.venues))


class BridgeManager:
    """The configured bridges; :meth:`choose` the cheapest for a route.

    Raises (``choose``):
        LookupError: no bridge serves the route (names it).
    """

    def __init__(self, configs: dict[str, BridgeConfig]) -> None:
        self.bridges = {name: Bridge(name, cfg) for name, cfg in configs.items()}

    def __getitem__(self, name: str) -> Bridge:
        return self.bridges[name]

    def choose(self, source_venue: str, destination_venue: str, token: str, amount: float) -> Bridge:
        usable = [b for b in self.bridges.values() if b.serves(source_venue, destination_venue, token)]
        if not usable:
            raise LookupError(f"no bridge carries {token} from {source_venue} to {destination_venue}")
        return min(usable, key=lambda b: (b.fee(amount), b.delay_s(), b.name))
