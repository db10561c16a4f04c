"""A world for the live adapters: the emulator (``basiskit.emulator``) on 127.0.0.1, stepped by the test.

``LiveFeed`` moves the emulator's replay one grid step per ``advance`` (manual mode: deterministic) and
hands the venues a ``MarketTick`` at the replay's time; the adapters read everything else from the
emulated venue through ccxt, as they would from the real one.
"""

from __future__ import annotations

from dataclasses import dataclass

from basiskit.domain.events import MarketTick
from basiskit.domain.portfolio import Portfolio

from venue_contract import World

ACCOUNTS = {"binance": {"binance.spot": ["BTC"], "binance.perp": ["BTC", "ETH"]},
            "bybit": {"bybit.spot": ["BTC", "ETH"], "bybit.perp": ["BTC", "ETH"]},
            "okx": {"okx.spot": ["BTC", "ETH"], "okx.perp": ["BTC", "ETH"]}}
"""The emulated accounts and their instruments (base tokens, USDT quoted)."""
CAPITAL = {(acc, "USDT"): 50_000.0 for kinds in ACCOUNTS.values() for acc in kinds}


@dataclass
class _State:
    t: int = 0


class LiveFeed:
    def __init__(self, server) -> None:
        self.server = server
        self.replay = server.emulator.replay
        self.state = _State(self.replay.t)

    def advance(self, i: int) -> MarketTick:
        """Step ``i`` of the test: the first call stays at the replay's time, each later one moves it a step."""
        if i > 0:
            self.server.advance(steps=1)
        self.state.t = self.replay.t
        return MarketTick(self.replay.t, i, ())


def live_world(server, adapters: dict, portfolio: Portfolio) -> World:
    """A ``World`` whose ledger starts from the venue's own balances (read through the adapters)."""
    from basiskit.domain.portfolio import Position

    for name, venue in adapters.items():
        snap = venue.adopt()
        for tok, amt in snap.balances.items():
            portfolio.ledger.add(name, tok, amt)
        for tok, (size, entry) in snap.positions.items():
            portfolio.positions[(name, tok)] = Position(size, entry)
    return World(LiveFeed(server), portfolio, adapters)
