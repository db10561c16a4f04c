"""Risk override: when a hard threshold is breached, the engine replaces the strategy's decision.

Priority (first match wins): perp margin ratio below ``margin_ratio_override`` (margin critical) ->
``exit_partial``; AAVE health factor below ``health_factor_exit`` -> ``exit_full``; health factor
below ``health_factor_override`` -> ``exit_partial``. The strategy implements those two actions; the
gate (``RiskGate.reduce_only``) drops any order that would add risk, so an override can only reduce.
"""

from __future__ import annotations

from basiskit.config.modes import RiskConfig
from basiskit.domain.actions import Action
from basiskit.risk.monitor import RiskMonitor


class RiskOverride:
    def __init__(self, config: RiskConfig, monitor: RiskMonitor) -> None:
        self.cfg = config
        self.monitor = monitor

    def check(self) -> tuple[Action, str] | None:
        c, m = self.cfg, self.monitor
        if not c.override:
            return None
        for name, mr in m.margin_ratios.items():
            if mr is not None and mr < c.margin_ratio_override:
                return Action.EXIT_PARTIAL, f"margin ratio {mr:.4f} on {name} < {c.margin_ratio_override}"
        for name, hf in m.health_factors.items():
            if hf < c.health_factor_exit:
                return Action.EXIT_FULL, f"health factor {hf:.4f} on {name} < {c.health_factor_exit}"
        for name, hf in m.health_factors.items():
            if hf < c.health_factor_override:
                return Action.EXIT_PARTIAL, f"health factor {hf:.4f} on {name} < {c.health_factor_override}"
        return None
