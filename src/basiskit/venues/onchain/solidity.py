"""Compile basiskit's Solidity sources (``contracts/*.sol``) with solc-js (the npm ``solc`` package).

``compile_contracts(toolchain)`` -> {contract name: {"abi": [...], "bytecode": "0x..."}}; the output is
cached in the toolchain's build directory under the sources' SHA-256. Raises ``RuntimeError`` with the
compiler's messages on any compile error.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from basiskit.venues.onchain.toolchain import Toolchain

SOURCES = Path(__file__).parent / "contracts"
_JS = """
const solc = require(process.argv[1]);
let input = ''; process.stdin.on('data', d => input += d);
process.stdin.on('end', () => process.stdout.write(solc.compile(input)));
"""


def compile_contracts(tc: Toolchain) -> dict[str, dict]:
    files = sorted(SOURCES.glob("*.sol"))
    sources = {f.name: {"content": f.read_text()} for f in files}
    key = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]
    cache = tc.build / f"basiskit-{key}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    std = {"language": "Solidity", "sources": sources,
           "settings": {"optimizer": {"enabled": True, "runs": 200}, "viaIR": True,
                        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}}
    r = subprocess.run([tc.node, "-e", _JS, str(tc.solc_dir)], input=json.dumps(std), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"solc-js failed: {r.stderr[-2000:]}")
    out = json.loads(r.stdout)
    errors = [e["formattedMessage"] for e in out.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise RuntimeError("Solidity compile errors:\n" + "\n".join(errors))
    result = {name: {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]}
              for f in out["contracts"].values() for name, c in f.items()}
    # written aside then renamed: another process (a parallel test worker) never reads half a file
    tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, cache)
    return result
