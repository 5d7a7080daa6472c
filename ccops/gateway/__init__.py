"""ccops.gateway."""
