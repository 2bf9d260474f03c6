"""The web UI: one module per tab; handlers are thin adapters over the package's modules."""
