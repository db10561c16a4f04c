"""AAVE v3's compiled contracts from the npm package ``@aave/core-v3`` (Hardhat artifacts), with their
libraries linked.

``Artifacts(aave_dir).get(name)`` -> {"abi", "bytecode", "links"} of the contract named ``name`` (the
artifact's ``contractName``); ``link(bytecode_hex, links, addresses)`` writes library addresses into the
placeholders at the offsets the artifact's ``linkReferences`` give (Solidity's library linking).
Errors: ``KeyError`` naming the contract when the package has no such artifact; ``ValueError`` naming
the library when an address is missing at link time.
"""

from __future__ import annotations

import json
from pathlib import Path


class Artifacts:
    def __init__(self, aave_dir: Path) -> None:
        self.root = Path(aave_dir) / "artifacts"
        self._paths: dict[str, Path] = {}
        for p in self.root.rglob("*.json"):
            if p.name.endswith(".dbg.json") or "build-info" in p.parts:
                continue
            self._paths.setdefault(p.stem, p)
        self._cache: dict[str, dict] = {}

    def get(self, name: str) -> dict:
        if name not in self._cache:
            if name not in self._paths:
                raise KeyError(f"@aave/core-v3 has no artifact {name!r} under {self.root}")
            d = json.loads(self._paths[name].read_text())
            self._cache[name] = {"abi": d["abi"], "bytecode": d["bytecode"], "links": d.get("linkReferences", {})}
        return self._cache[name]


def link(bytecode: str, links: dict, addresses: dict[str, str]) -> str:
    """``bytecode`` (0x hex) with each library placeholder replaced by ``addresses[library name]``."""
    code = bytecode[2:] if bytecode.startswith("0x") else bytecode  # placeholders are not hex: edit the text
    for libs in links.values():
        for lib, spots in libs.items():
            if lib not in addresses:
                raise ValueError(f"library {lib} is not deployed (needed for linking)")
            addr = addresses[lib][2:].lower()
            for s in spots:
                a, n = 2 * s["start"], 2 * s["length"]
                code = code[:a] + addr + code[a + n:]
    bytes.fromhex(code)  # every placeholder filled
    return "0x" + code
