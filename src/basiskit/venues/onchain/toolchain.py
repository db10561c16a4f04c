"""The non-Python tools of the on-chain tests, from the npm registry, installed outside git.

``ensure_toolchain(root)`` installs (once; idempotent, serialised with a file lock) into
``<root>/.basiskit/chain/node_modules``: ``@foundry-rs/anvil`` (the anvil node binary),
``@aave/core-v3`` (AAVE v3's compiled Hardhat artifacts, mocks included) and ``solc`` (solc-js, the
Solidity compiler as JavaScript). ``make chain`` runs the same ``npm install`` (``make install`` and
``make test`` depend on it). The directory can be moved with ``BASISKIT_CHAIN_DIR``.

Errors: ``ToolchainError`` when npm is missing or the install fails (the message names the command).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("@foundry-rs/anvil@1.7.1", "@aave/core-v3@1.19.3", "solc@0.8.37")
STAMP = ".installed-stamp"


class ToolchainError(RuntimeError):
    """The npm toolchain is missing and could not be installed."""


@dataclass(frozen=True)
class Toolchain:
    """Paths of an installed toolchain: ``anvil`` (binary), ``aave`` (the @aave/core-v3 package
    directory), ``solcjs`` (solc's JavaScript entry), ``node`` (the node binary), ``build`` (a cache
    directory for compiled sources)."""

    anvil: Path
    aave: Path
    solc_dir: Path
    node: str
    build: Path


def chain_dir(root: Path) -> Path:
    env = os.environ.get("BASISKIT_CHAIN_DIR")
    return Path(env) if env else Path(root) / ".basiskit" / "chain"


def ensure_toolchain(root: Path) -> Toolchain:
    """Install the npm packages into ``chain_dir(root)`` when they are not there yet; return their paths."""
    d = chain_dir(root)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (d / STAMP).exists():
            npm = shutil.which("npm")
            if npm is None:
                raise ToolchainError("the on-chain tools need npm (Node.js 18+) on PATH, e.g. "
                                     "`sudo apt-get install -y nodejs npm`; then `make chain`")
            cmd = [npm, "install", "--prefix", str(d), "--no-audit", "--no-fund", "--no-save", *PACKAGES]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise ToolchainError(f"`{' '.join(cmd)}` failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
            (d / STAMP).write_text(json.dumps(PACKAGES))
    nm = d / "node_modules"
    anvils = sorted(nm.glob("@foundry-rs/anvil-*/bin/anvil"))
    if not anvils:
        raise ToolchainError(f"no anvil binary for this platform under {nm}/@foundry-rs (delete {d / STAMP} "
                             "and run `make chain` again)")
    node = shutil.which("node")
    if node is None:
        raise ToolchainError("the Solidity compiler (solc-js) needs node on PATH")
    build = d / "build"
    build.mkdir(exist_ok=True)
    return Toolchain(anvils[0], nm / "@aave" / "core-v3", nm / "solc", node, build)
