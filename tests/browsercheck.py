"""Helpers for the browser tests: launch the system Chromium through Playwright, tell whether a
plotly chart has drawn data, and record every request a page makes (blocking the ones it must not
make)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("BASISKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = "install it with `apt-get install -y chromium chromium-driver` (or set BASISKIT_CHROMIUM to a Chromium binary)"


def launch_chromium(playwright):
    """The system Chromium (never a downloaded Playwright browser). FAILS the test when it is missing."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need it; {INSTALL_HINT}", pytrace=False)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


# Counts the drawn data of a plotly chart inside ``root``: SVG trace paths with a non-trivial ``d``,
# and WebGL/2D canvases with a non-zero size (scattergl draws there instead).
_CHART_JS = """(root) => {
  const svg = root.querySelector('svg.main-svg');
  const paths = Array.from(root.querySelectorAll('svg.main-svg .scatterlayer .trace path.js-line, '
                                                + 'svg.main-svg .barlayer .trace path'))
      .filter(p => (p.getAttribute('d') || '').length > 10);
  const canvases = Array.from(root.querySelectorAll('canvas')).filter(c => c.width > 0 && c.height > 0);
  const traces = root.querySelectorAll('svg.main-svg .scatterlayer .trace').length;
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {svg: !!svg, width: box.width, height: box.height, paths: paths.length, canvases: canvases.length, traces};
}"""


def chart_state(page, selector: str, timeout_ms: float = 30_000) -> dict:
    """Wait for a plotly SVG in ``selector`` and describe what it drew (see ``_CHART_JS``)."""
    page.wait_for_selector(f"{selector} svg.main-svg", state="attached", timeout=timeout_ms)
    page.wait_for_function(f"() => document.querySelector({selector!r}).querySelectorAll("
                           "'svg.main-svg .scatterlayer .trace, svg.main-svg .barlayer .trace, canvas').length > 0",
                           timeout=timeout_ms)
    return page.eval_on_selector(selector, _CHART_JS)


def assert_chart_drawn(state: dict, min_traces: int = 1) -> None:
    assert state["svg"] and state["width"] > 100 and state["height"] > 100, f"no visible plotly SVG: {state}"
    assert state["paths"] >= min_traces or (min_traces <= 1 and state["canvases"] > 0), f"no data drawn: {state}"


@dataclass
class NetworkLog:
    """Every request of a page; ``blocked`` are those ``allowed`` refused (they were aborted)."""

    allowed: object
    seen: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def attach(self, page) -> "NetworkLog":
        page.on("request", lambda req: self.seen.append(req.url))
        page.route("**/*", self._route)
        return self

    def _route(self, route) -> None:
        url = route.request.url
        if self.allowed(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def outside(self) -> list[str]:
        """Requests (seen or blocked) that ``allowed`` refuses."""
        return sorted({u for u in self.seen + self.blocked if not self.allowed(u)})


def local_only(url: str) -> bool:
    """file:, data: and blob: URLs: what a self-contained page opened from disk may load."""
    return urlsplit(url).scheme in ("file", "data", "blob")


def same_origin(base: str):
    """Requests to ``base``'s origin (scheme, host, port), plus data:/blob: URLs."""
    origin = urlsplit(base)[:2]

    def check(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob") or parts[:2] == origin
    return check
