"""ccops.store: the daemon's durable state (SQLite in WAL mode, one writer, migrations).

Callers depend on the protocols in :mod:`ccops.store.repository`; :class:`Store` is the
SQLite implementation. ``store = await Store.open(path)``; every write method returns only
after COMMIT; ``await store.backup(dest)`` copies the live database; ``await store.close()``.
"""

from ccops.store.errors import (
    MigrationError,
    SchemaTooNewError,
    StoreClosedError,
    StoreError,
    StoreOpenError,
)
from ccops.store.repository import CommandLedger, Repository
from ccops.store.sqlite import Store

__all__ = [
    "CommandLedger",
    "MigrationError",
    "Repository",
    "SchemaTooNewError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreOpenError",
]
