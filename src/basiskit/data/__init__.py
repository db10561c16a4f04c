"""Market/protocol data catalog: validated import of raw CSVs into a local Parquet store."""
