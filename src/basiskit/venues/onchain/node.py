"""An anvil node on 127.0.0.1 at a free port, and its clock.

``AnvilNode.start(binary, genesis_ts)`` runs ``anvil --port 0`` (the OS picks a free port; the port
is read from anvil's "Listening on" line), with the genesis block at ``genesis_ts`` (unix seconds) so
that a backtest period in the past can be replayed, and block timestamps that do not move by
themselves (``anvil_setBlockTimestampInterval 0``): every block is stamped at the time last set with
``set_time``, so several transactions can happen at the same backtest step, as in the simulator.
``stop()`` ends the process it started (by its pid).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from web3 import Web3

_LISTEN = re.compile(rb"Listening on 127\.0\.0\.1:(\d+)")


class AnvilNode:
    """A running anvil. Attributes: ``url`` (http://127.0.0.1:<port>), ``w3`` (a Web3 on it),
    ``proc`` (the process)."""

    def __init__(self, proc: subprocess.Popen, port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 60}))

    @classmethod
    def start(cls, binary: Path, genesis_ts: int, accounts: int = 10, timeout_s: float = 30.0) -> "AnvilNode":
        """Start anvil; raises ``RuntimeError`` with its output when it does not listen within ``timeout_s``."""
        cmd = [str(binary), "--host", "127.0.0.1", "--port", "0", "--timestamp", str(int(genesis_ts)),
               "--accounts", str(accounts), "--balance", "1000000", "--gas-limit", "100000000",
               "--code-size-limit", "100000", "--order", "fifo"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = b""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None:
                    break
                continue
            out += line
            m = _LISTEN.search(line)
            if m:
                node = cls(proc, int(m.group(1)))
                # keep reading anvil's log so that its pipe never fills up
                import threading
                threading.Thread(target=_drain, args=(proc,), daemon=True).start()
                node.rpc("anvil_setBlockTimestampInterval", [0])
                return node
        proc.kill()
        raise RuntimeError(f"anvil did not start: {' '.join(cmd)}\n{out.decode(errors='replace')[-2000:]}")

    def rpc(self, method: str, params: list):
        r = self.w3.provider.make_request(method, params)
        if "error" in r:
            raise RuntimeError(f"{method}{params}: {r['error']}")
        return r.get("result")

    def now(self) -> int:
        """Timestamp of the latest block (unix seconds)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def set_time(self, ts: int) -> None:
        """Stamp the next blocks at ``ts`` (unix seconds, >= the latest block's) and mine one block there."""
        if ts < self.now():
            raise ValueError(f"the chain is at {self.now()}, cannot go back to {ts}")
        self.rpc("evm_setNextBlockTimestamp", [int(ts)])
        self.rpc("evm_mine", [])

    def snapshot(self) -> str:
        return self.rpc("evm_snapshot", [])

    def revert(self, snap: str) -> None:
        if not self.rpc("evm_revert", [snap]):
            raise RuntimeError(f"evm_revert {snap} failed")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _drain(proc: subprocess.Popen) -> None:
    for _ in iter(proc.stdout.readline, b""):
        pass
