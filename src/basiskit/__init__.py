"""basiskit: backtest and run market-neutral crypto yield strategies with full PnL attribution."""

__version__ = "0.1.0"
