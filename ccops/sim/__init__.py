"""ccops.sim."""
