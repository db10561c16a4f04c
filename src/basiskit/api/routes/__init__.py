"""Routers: ``strategies`` (modes, configs, validation, requirements), ``backtests`` (submit, list,
results, delete), ``system`` (health, error codes)."""
