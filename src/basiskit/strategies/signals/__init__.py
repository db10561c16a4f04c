"""Signal strategies on book tickers: one signal engine, two paths.

``kernels``: the incremental kernels (indicators and signal rules: state in, event in, state and output
out), compiled with numba; ``scan`` applies a rule over arrays (the vectorised path) by calling the
same compiled rule per row. ``base``: ``BaseSignalStrategy`` (the kernel path inside the engine) and
the HOLD -> ENTER -> EXIT transition table.
"""
