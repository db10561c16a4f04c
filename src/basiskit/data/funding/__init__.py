"""Funding rates of every venue and perpetual instrument: history, settlement schedules, live feeds and
the cross-venue opportunity ranking.

* :mod:`.schedule`   -- each instrument's settlement interval (1 h, 2 h, 4 h, 8 h) as it changes over time
* :mod:`.table`      -- ``FundingTable``: settled rates of many instruments in flat arrays
* :mod:`.okx_all`    -- the OKX all-instruments daily files (``real_funding_rate``: the settled rate)
* :mod:`.sources`    -- a table of every funding series of the catalog plus the OKX instruments
* :mod:`.opportunities` -- ranked opportunities (annualised spread net of four taker legs and transfers)
* :mod:`.feed`       -- ``FundingFeed``: current rates, from history (backtests) or a live client
"""
