"""ccops.store."""
