"""The dashboard's sweep page in headless Chromium: the sweeps list, a sweep's heatmap (two parameters)
and parallel coordinates, the trials table with links to each trial's run, and progress; a three-parameter
sweep draws parallel coordinates with four axes. Screenshots in ``shot_dir``."""

from __future__ import annotations

from basiskit import service
from basiskit.sweeps import run_sweep
from basiskit.sweeps.executors import SerialExecutor

from browsercheck import NetworkLog, same_origin

HEATMAP_JS = """(root) => {
  const svg = root.querySelector('svg.main-svg');
  const box = svg.getBoundingClientRect();
  const img = root.querySelector('g.hm image');
  return {width: box.width, height: box.height,
          image: img ? (img.getAttribute('href') || img.getAttribute('xlink:href') || '') : '',
          xticks: Array.from(root.querySelectorAll('g.xtick text')).map(t => t.textContent),
          yticks: Array.from(root.querySelectorAll('g.ytick text')).map(t => t.textContent),
          texts: Array.from(root.querySelectorAll('g.textpoint text, .heatmaplayer text')).map(t => t.textContent)};
}"""


def _sweep(server, catalog, params):
    spec = service.sweep_spec("btc_basis", "2024-03-01", "2024-03-08", 100_000, params, objective="total_return",
                              sampler="grid")
    run_sweep(spec, catalog, server.app.state.ctx.store, SerialExecutor(), write=False)
    return spec


def test_sweep_page_draws_heatmap_and_parallel_coordinates(page, server, catalog, shot_dir):
    two = _sweep(server, catalog, ["delta_drift_threshold=0.01,0.02,0.03", "perp_margin_fraction=0.4,0.5"])
    three = _sweep(server, catalog, ["delta_drift_threshold=0.01,0.03", "perp_margin_fraction=0.4,0.5",
                                     "margin_ratio_floor=0.2,0.25"])
    log = NetworkLog(same_origin(server.url)).attach(page)
    page.goto(server.url + "/#/sweeps")
    page.wait_for_selector(f"#sweeps-table tr[data-sweep-id='{two.sweep_id}']")
    assert page.locator("#sweeps-table tbody tr").count() == 2
    page.click(f"#sweeps-table tr[data-sweep-id='{two.sweep_id}'] a")
    page.wait_for_selector(f"#sweep-detail[data-sweep-id='{two.sweep_id}']")
    # plotly draws a heatmap as one bitmap <image> in g.hm, its cell texts as SVG text
    page.wait_for_selector("#sweep-heatmap svg.main-svg g.hm image", state="attached")
    heat = page.eval_on_selector("#sweep-heatmap", HEATMAP_JS)
    assert heat["width"] > 300 and heat["height"] > 200 and heat["image"].startswith("data:image/png"), heat
    assert sorted(heat["xticks"]) == ["0.01", "0.02", "0.03"] and sorted(heat["yticks"]) == ["0.4", "0.5"]
    assert len(heat["texts"]) == 6  # one value per cell: the grid is full
    page.wait_for_function("() => document.querySelectorAll('#sweep-parcoords g.axis-heading, "
                           "#sweep-parcoords .y-axis').length >= 3")
    assert page.locator("#sweep-trials tbody tr").count() == 6
    assert "6/6 trials done" in page.inner_text("#sweep-progress-text")
    assert page.get_attribute("#sweep-detail", "data-status") == "finished"
    best_text = page.inner_text("#sweep-best")
    info = service.get_sweep(server.app.state.ctx.store, two.sweep_id)
    assert f"trial {info['best']['index']}" in best_text
    page.screenshot(path=shot_dir / "01-two-params.png", full_page=True)
    link = page.locator("#sweep-trials tbody tr[data-index='0'] a")
    run = server.client.get(link.get_attribute("href")).json()
    assert run["kind"] == "trial" and run["status"] == "finished"

    page.goto(server.url + f"/#/sweeps/{three.sweep_id}")
    page.wait_for_selector(f"#sweep-detail[data-sweep-id='{three.sweep_id}']")
    page.wait_for_function("() => document.querySelectorAll('#sweep-parcoords g.axis-heading, "
                           "#sweep-parcoords .y-axis').length >= 4")
    assert page.locator("#sweep-trials tbody tr").count() == 8
    page.screenshot(path=shot_dir / "02-three-params.png", full_page=True)
    assert not page.js_errors, page.js_errors
    assert not log.blocked, log.blocked
