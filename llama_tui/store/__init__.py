"""The session store (SQLite): schema and migrations, row mapping, search, and the Store."""

from .errors import StoreError, StoreNotFound, StoreTooNew, StoreWriteError
from .schema import SCHEMA_VERSION
from .store import Store

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "StoreNotFound", "StoreTooNew", "StoreWriteError"]
