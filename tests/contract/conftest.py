"""Fixtures of the contract suite: the exchange emulator for the live adapters and feed, started once
per test session on 127.0.0.1 (an ephemeral port) in manual (step) mode, with a random key pair."""

from __future__ import annotations

import secrets

import pytest

from live_world import CAPITAL


@pytest.fixture(scope="session")
def emulator(catalog):
    """The emulator, started once per test session on an ephemeral port, in manual (step) mode."""
    from basiskit.emulator.replay import DEFAULT_LAYOUT, OKX_LAYOUT, Replay
    from basiskit.emulator.server import EmulatorServer

    key, secret, phrase = "test-" + secrets.token_hex(8), secrets.token_hex(24), "Pp-" + secrets.token_hex(6)
    replay = Replay(catalog, "2024-09-28", "2024-10-20", capital=CAPITAL, layout={**DEFAULT_LAYOUT, **OKX_LAYOUT})
    with EmulatorServer(replay, {key: secret}, passphrase=phrase) as srv:
        srv.test_env = {"BINANCE_API_KEY": key, "BINANCE_API_SECRET": secret, "BYBIT_API_KEY": key,
                        "BYBIT_API_SECRET": secret, "OKX_API_KEY": key, "OKX_API_SECRET": secret,
                        "OKX_API_PASSPHRASE": phrase}
        yield srv


