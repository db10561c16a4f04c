"""Bridge protocols behind one interface: what moving ``amount`` of a token costs, how long it takes
and how often it fails.

Every protocol is data (``config.bridges.BridgeConfig``: fees, delays, failure rate, and the ``sources`` the numbers
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

from basiskit.config.bridges import BridgeConfig


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
