"""Widgets of the ccops console (status bar, live tables, queue tiles, command line)."""
