"""ccops: operations console and dispatch for Asterisk call centers."""

__version__ = "0.1.0"
