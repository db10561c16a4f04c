"""ML directional modes: walk-forward LightGBM forecasts of the perp's direction, traded with brackets.

Modules: ``features`` (hourly bars + funding -> features, no look-ahead), ``walkforward`` (monthly folds,
purge, embargo, shuffled-label baseline), ``model_store`` (save / load a trained model for a runner),
``fold_report`` (per-fold out-of-sample results), ``strategy`` (the kernel's strategy), ``config``.
"""
