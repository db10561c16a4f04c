"""The import graph follows the layers declared in pyproject.toml ([tool.importlinter]): interfaces
over the service over runs over reports over the engine ... over the domain, no cycle between layers,
and no web, database, plotting or terminal library in the simulation core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_declared_contracts_are_kept():
    out = _lint()
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("KEPT") == 2 and "BROKEN" not in out.stdout


def test_the_linter_catches_a_layer_violation(tmp_path):
    """The same check on a contract the code breaks (the engine declared below the venues it uses)
    fails, naming the import: the test above can fail."""
    cfg = tmp_path / "inverted.toml"
    cfg.write_text('[tool.importlinter]\nroot_package = "basiskit"\n\n[[tool.importlinter.contracts]]\n'
                   'name = "inverted"\ntype = "layers"\nlayers = ["basiskit.venues", "basiskit.engine"]\n')
    out = _lint("--config", str(cfg))
    assert out.returncode != 0 and "BROKEN" in out.stdout
    assert "basiskit.engine" in out.stdout and "basiskit.venues" in out.stdout
