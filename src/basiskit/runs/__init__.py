"""Run use cases behind ``basiskit.service``: request validation with field names (``validate``),
data requirements and coverage (``coverage``), execution with files + store + event log
(``execute``), conversion of a backtest outcome to stored records and events (``results``) and
background execution for the API (``background``)."""
