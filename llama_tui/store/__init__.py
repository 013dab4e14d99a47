"""The session store (SQLite): schema and migrations, row mapping, search, and the Store."""

from .errors import StoreCorrupt, StoreError, StoreNotFound, StoreTooNew, StoreWriteError
from .rows import SessionStamp, TrashedSession
from .schema import SCHEMA_VERSION
from .store import Store

__all__ = [
    "SCHEMA_VERSION",
    "SessionStamp",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreNotFound",
    "StoreTooNew",
    "StoreWriteError",
    "TrashedSession",
]
