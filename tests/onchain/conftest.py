"""Session fixtures of the on-chain tests: the npm toolchain (installed on first use, see
``basiskit.venues.onchain.toolchain``), ONE anvil node on a free port for the whole session with a local
AAVE v3 market deployed on it, and a clean chain for each test (``evm_snapshot`` / ``evm_revert``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from basiskit.engine.assembly import load_venue_config
from basiskit.venues.onchain.market import deploy_market
from basiskit.venues.onchain.node import AnvilNode
from basiskit.venues.onchain.toolchain import ensure_toolchain

ROOT = Path(__file__).resolve().parents[2]
GENESIS = 1_600_000_000  # 2020-09-13: before every backtest period of the data
AS_OF = "2024-10-01"     # the E-mode period in force over the tests' data (LTV 93 %, LT 95 %, bonus 1 %)


@pytest.fixture(scope="session")
def toolchain():
    return ensure_toolchain(ROOT)


@pytest.fixture(scope="session")
def anvil(toolchain):
    node = AnvilNode.start(toolchain.anvil, GENESIS)
    yield node
    node.stop()


@pytest.fixture(scope="session")
def deployed(anvil, toolchain):
    market = deploy_market(anvil, toolchain, load_venue_config("aave_v3").aave, AS_OF)
    return {"market": market, "snap": anvil.snapshot()}


@pytest.fixture
def market(deployed, anvil):
    """The deployed market; the chain goes back to where the deploy left it after the test."""
    m = deployed["market"]
    yield m
    anvil.revert(deployed["snap"])
    deployed["snap"] = anvil.snapshot()  # evm_revert consumes its snapshot: take it again
    m._anchor = {}


@pytest.fixture
def user(market, toolchain):
    """A fresh account (random key, never printed) with 100 native ETH for gas, set up on the market."""
    from eth_account import Account

    from basiskit.venues.onchain.aave_account import OnchainAave
    from basiskit.venues.onchain.keys import Signer

    signer = Signer(Account.create())
    market.node.rpc("anvil_setBalance", [signer.address, hex(100 * 10**18)])
    acct = OnchainAave(market, signer, toolchain.aave, emode=True)
    acct.setup()
    return acct
