"""Helpers to serve the API for tests: in a thread of the test process, or as a real
``basiskit api`` subprocess (for kill tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(app, timeout: float = 30.0) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port; yields the base URL; stops it on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def wait_for(client: httpx.Client, run_id: str, statuses: set[str], timeout: float = 60.0) -> dict:
    """Poll ``GET /api/v1/backtests/{id}`` until its status is in ``statuses``; returns the body."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/v1/backtests/{run_id}")
        r.raise_for_status()
        body = r.json()
        if body["status"] in statuses:
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {body['status']} after {timeout} s: {body}")
        time.sleep(0.05)


class ApiProcess:
    """``basiskit api`` as a subprocess on a free port (stdout/stderr to ``log``)."""

    def __init__(self, data_dir: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cli = Path(sys.executable).with_name("basiskit")
        self.log = log.open("ab")
        self.proc = subprocess.Popen([str(cli), "api", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir",
                                      str(data_dir), "--log-level", "warning"],
                                     env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"basiskit api exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code in (200, 503):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError("basiskit api did not become ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.log.close()
