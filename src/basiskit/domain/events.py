"""Events: the auditable trace of a run (one JSON line each in ``events.jsonl``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """``timestamp`` is ns since epoch (UTC); ``component`` is who emitted it (engine, strategy,
    venue name, risk); ``kind`` a short snake_case type (``trade``, ``funding``, ``rebalance``,
    ``liquidation``, ``deposit`` ...); ``data`` JSON-serialisable details."""

    timestamp: int
    component: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
