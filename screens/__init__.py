"""Textual screens of the ccops console, shipped as ``ccops.screens`` (see pyproject)."""
