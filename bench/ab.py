"""Side-by-side ("A/B") runs of a bench script on two source trees, alternating, in one session.

``alternate(script, args, before_src, after_src, rounds)`` runs ``python script *args --json FILE``
``rounds`` times on each tree, before and after alternating (before, after, before, ...: both see the
same machine load), with ``PYTHONPATH`` set to the tree's ``src``; returns ``{label: [result, ...]}``
(each result the JSON the script wrote). ``before_src``: e.g. a ``git worktree add /tmp/base <commit>``
checkout's ``src``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def alternate(script: str, args: list[str], before_src: str, after_src: str, rounds: int) -> dict[str, list]:
    out: dict[str, list] = {"before": [], "after": []}
    for k in range(rounds):
        for label, src in (("before", before_src), ("after", after_src)):
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "out.json"
                env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
                subprocess.run([sys.executable, script, *args, "--json", str(path)], env=env, check=True)
                out[label].append(json.loads(path.read_text()))
            print(f"round {k + 1}/{rounds} {label} done", file=sys.stderr, flush=True)
    return out
