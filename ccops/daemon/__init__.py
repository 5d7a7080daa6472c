"""ccops.daemon."""
