"""ccops.tui."""
