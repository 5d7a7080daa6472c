"""Store errors: each names the database file, because an admin has to find and fix it."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """The store could not do what was asked; the message says which file and why."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path)


class StoreOpenError(StoreError):
    """The file cannot be opened as a ccops database (missing directory, permissions,
    not a database, corrupt)."""


class SchemaTooNewError(StoreOpenError):
    """The database was migrated by a newer ccops; opening it with this one would lose data."""


class MigrationError(StoreError):
    """A migration file is badly named or numbered, or failed to apply (rolled back)."""


class StoreClosedError(StoreError):
    """The store was closed (daemon shutting down) before the operation could run."""
