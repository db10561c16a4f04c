"""Per-fold out-of-sample results of an ML directional run (``summary.json``: ``ml_folds``).

Each fold (a calendar month of the run) reports, on its own test hours only:

* ``hit_rate``: share of predicted hours whose forecast direction (P(up) > 0.5) matched the realised
  label (the open ``horizon_hours`` later above the open now), over hours whose label is known;
  ``hit_rate_shuffled``: the same for the shuffled-label model;
* ``signal_hit_rate`` / ``signal_hit_rate_shuffled``: the same on the hours the trading rule acts on
  (``walkforward.direction`` != 0);
* ``signal_pnl_usdt`` / ``signal_pnl_shuffled_usdt``: the trading rule without brackets nor costs, one
  position at a time: from the first signal, the direction x the open-to-open return over the horizon
  x ``position_fraction`` x the equity at the fold's start; then the next signal at least a horizon later
  (like for like between the model and the baseline);
* ``run_pnl_usdt``: the run's own equity change over the fold (brackets, fees, slippage, funding: the
  engine's numbers), from its first step to the first step of the next fold (or the last step);
* ``hold_btc_pnl_usdt``: the equity at the fold's start held in the asset over the same steps (the
  perp's opens at those steps);
* ``entries``: positions the strategy opened in the fold; the model's ``sha256``, training range and rows.

A figure that is not defined (no predicted hour, no known label) is null, with the reason in ``null_reasons``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from basiskit.strategies.implementations.ml_directional.config import MlDirectionalConfig
from basiskit.strategies.implementations.ml_directional.features import HOUR, hourly, labels
from basiskit.strategies.implementations.ml_directional.walkforward import FoldResult, direction


def _hit(p: pd.Series, fwd: pd.Series, mask: np.ndarray | None = None) -> float | None:
    f = fwd.reindex(p.index).to_numpy()
    ok = np.isfinite(f)
    if mask is not None:
        ok &= mask
    if not ok.any():
        return None
    return float(np.mean((p.to_numpy()[ok] > 0.5) == (f[ok] > 0)))


def _greedy(p: pd.Series, fwd: pd.Series, cfg: MlDirectionalConfig) -> tuple[float, int]:
    total, n, free = 0.0, 0, None
    f = fwd.reindex(p.index)
    for t, prob in p.items():
        d = direction(prob, cfg)
        r = f[t]
        if d == 0 or not np.isfinite(r) or (free is not None and t < free):
            continue
        total += d * r
        n += 1
        free = t + cfg.horizon_hours * HOUR
    return total, n


def fold_rows(results: list[FoldResult], bars: pd.DataFrame, times_ns, equity, entries_ns: list[int],
              cfg: MlDirectionalConfig) -> tuple[list[dict], dict[str, str]]:
    """(one dict per fold, null reasons) for the run whose steps are ``times_ns`` with ``equity`` (USDT)."""
    times = pd.DatetimeIndex(pd.to_datetime(np.asarray(times_ns, dtype=np.int64), utc=True))
    eq = np.asarray(equity, dtype=np.float64)
    opens = hourly(bars)["open"].reindex(times).to_numpy()
    entries = pd.DatetimeIndex(pd.to_datetime(np.asarray(entries_ns, dtype=np.int64), utc=True))
    rows, reasons = [], {}
    for r in results:
        f = r.fold
        idx = np.flatnonzero((times >= f.test_start) & (times < f.test_end))
        if not len(idx):
            continue
        a, b = int(idx[0]), min(int(idx[-1]) + 1, len(times) - 1)
        fwd, _ = labels(bars, cfg.horizon_hours, r.predictions.index)
        dirs = np.array([direction(p, cfg) for p in r.predictions.to_numpy()], dtype=int)
        dirs_s = np.array([direction(p, cfg) for p in r.shuffled_predictions.to_numpy()], dtype=int)
        notional = cfg.position_fraction * eq[a]
        sig, n_sig = _greedy(r.predictions, fwd, cfg)
        sig_s, n_sig_s = _greedy(r.shuffled_predictions, fwd, cfg)
        hold = eq[a] * (opens[b] / opens[a] - 1.0) if np.isfinite(opens[a]) and np.isfinite(opens[b]) else None
        row = {
            "fold": f.name, "test_start": times[a].isoformat(), "test_end": times[b].isoformat(),
            "train_first": r.model.meta.train_first, "train_last": r.model.meta.train_last, "train_rows": r.n_train,
            "cutoff": f.cutoff.isoformat(), "hours": len(idx), "predicted_hours": len(r.predictions),
            "hit_rate": _hit(r.predictions, fwd), "hit_rate_shuffled": _hit(r.shuffled_predictions, fwd),
            "signal_hours": int((dirs != 0).sum()), "signal_hours_shuffled": int((dirs_s != 0).sum()),
            "signal_hit_rate": _hit(r.predictions, fwd, dirs != 0) if (dirs != 0).any() else None,
            "signal_hit_rate_shuffled": _hit(r.shuffled_predictions, fwd, dirs_s != 0) if (dirs_s != 0).any() else None,
            "signal_trades": n_sig, "signal_trades_shuffled": n_sig_s,
            "signal_pnl_usdt": sig * notional, "signal_pnl_shuffled_usdt": sig_s * notional,
            "run_pnl_usdt": float(eq[b] - eq[a]), "hold_btc_pnl_usdt": hold,
            "entries": int(((entries >= times[a]) & (entries < f.test_end)).sum()),
            "model_sha256": r.model.meta.sha256,
        }
        for k, v in row.items():
            if v is None:
                reasons[f"ml_folds.{f.name}.{k}"] = ("no predicted hour with a known outcome in the fold"
                                                     if "hit" in k else "the asset has no traded open at the fold's bounds")
        rows.append(row)
    return rows, reasons
