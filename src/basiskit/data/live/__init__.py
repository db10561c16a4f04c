"""Live market data: ``ccxt_feed.CcxtFeed`` (exchange streams through ccxt.pro with REST fallback)."""
