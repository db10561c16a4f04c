"""The report's walk-forward section: one row per fold of ``summary.json``'s ``ml_folds`` (ML modes)."""

from __future__ import annotations

import html

COLUMNS = (  # (key, header, kind): pct = fraction shown in %, usdt = money, int, text
    ("fold", "fold", "text"), ("train_rows", "train rows", "int"), ("predicted_hours", "predicted h", "int"),
    ("hit_rate", "hit rate", "pct"), ("hit_rate_shuffled", "hit rate, shuffled labels", "pct"),
    ("signal_hit_rate", "signal hit rate", "pct"), ("signal_hit_rate_shuffled", "signal hit rate, shuffled", "pct"),
    ("entries", "entries", "int"), ("run_pnl_usdt", "run PnL (USDT)", "usdt"),
    ("signal_pnl_usdt", "signal PnL (USDT)", "usdt"), ("signal_pnl_shuffled_usdt", "signal PnL, shuffled (USDT)", "usdt"),
    ("hold_btc_pnl_usdt", "hold BTC (USDT)", "usdt"),
)


LIBRARIES = {"lightgbm": "LightGBM"}


def _cell(v, kind: str) -> str:
    if v is None:
        return "–"
    if kind == "pct":
        return f"{v * 100:.1f} %"
    if kind == "usdt":
        return f"{v:,.2f}"
    if kind == "int":
        return f"{int(v):,}"
    return html.escape(str(v))


def folds_section(summary: dict) -> str:
    """The HTML section (table ``#ml-folds``), or "" when the run has no folds."""
    rows = summary.get("ml_folds") or []
    if not rows:
        return ""
    model = summary.get("ml_model") or {}
    lib = str(model.get("library", ""))
    head = "".join(f'<th class="{"l" if k == "fold" else ""}">{html.escape(h)}</th>' for k, h, _ in COLUMNS)
    body = "".join("<tr>" + "".join(f'<td class="{"l" if k == "fold" else ""}">{_cell(r.get(k), kind)}</td>'
                                    for k, _, kind in COLUMNS) + "</tr>" for r in rows)
    note = (f"Out of sample: each fold (a calendar month) is predicted by a {html.escape(LIBRARIES.get(lib, lib))} "
            f"model trained on the {model.get('train_days')} days before its cut-off (purge {model.get('purge_hours')} h, "
            f"embargo {model.get('embargo_hours')} h, seed {model.get('seed')}); hit rate: forecast direction vs the "
            f"open {model.get('horizon_hours')} h later; shuffled: the same model trained on permuted labels; signal PnL: "
            "the entry rule without brackets or costs; run PnL: the engine's equity change over the fold.")
    return (f'<section><h2>Walk-forward folds</h2><div class="scroll"><table id="ml-folds"><tr>{head}</tr>{body}'
            f'</table></div><p class="muted">{note}</p></section>')
