"""ccops.pbx."""
