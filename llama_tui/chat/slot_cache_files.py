"""The record of saved slot caches: which file holds which session's KV cache, for which model.

One *location* per place the server writes its `--slot-save-path` files: a directory llama-tui
can reach (the managed server's) or a server known only by its URL (an external one, whose files
sit on its own disk). Each location has a folder of small JSON sidecars under the app's cache dir
(`<root>/meta/<location key>/`), one per slot file, plus `location.json` saying where the files
are. A sidecar keeps what the server cannot tell us: the session, the model identity (a file
from another model with the same shapes would be restored without a word), the token count, the
size and the text the cache holds (to check, before restoring, that the session still starts
with it), and when it was last used (least recently used files go first when over the cap).

Session ids are per session store, so each store (`namespace_for(store path)`) has its own
locations and file names: two stores (e.g. two --data-dir) never overwrite or delete each other's
caches, even in one shared server folder.

Files in a directory we reach are deleted; on a remote server a file cannot be deleted, only
overwritten: it is marked `blank_pending` and the service overwrites it with an empty slot's
empty-slot save (about 40 bytes) at its next chance. Sidecars that do not parse are dropped (this is a cache).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..client.slot_files import check_filename

_SUFFIX = ".json"
_LOCATION = "location.json"
FILE_PREFIX = "llama-tui-s"


_NAMESPACE = re.compile(r"[0-9a-z]{0,16}")


def namespace_for(store_path: Path) -> str:
    """The namespace of one session store: this machine and the store file's full path."""
    where = f"{socket.gethostname()}:{Path(store_path).expanduser().resolve()}"
    return hashlib.sha256(where.encode()).hexdigest()[:8]


def _check_namespace(namespace: str) -> str:
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"a slot cache namespace is up to 16 lowercase letters or digits, not {namespace!r}")
    return namespace


def location_key(kind: str, where: str, namespace: str = "") -> str:
    """A short stable name for a location ("dir", "/abs/path") or ("url", "http://host:port"),
    for one store's namespace."""
    name = f"{kind}:{where}" + (f"|{_check_namespace(namespace)}" if namespace else "")
    return kind + "-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def slot_filename(session_id: int, model_key: str, namespace: str = "") -> str:
    """The server-side file name of a session's cache for one model: named for both, so a
    session used with two models keeps one file per model and never mixes them (and for the
    store's namespace, so another store's session of the same id never takes its file)."""
    tail = f"-{_check_namespace(namespace)}" if namespace else ""
    return check_filename(f"{FILE_PREFIX}{session_id}-{model_key}{tail}.kv")


@dataclass
class CacheEntry:
    """One saved slot file, as recorded in its sidecar."""

    filename: str
    session_id: int
    model_key: str
    model_name: str  # for the monitor
    n_tokens: int
    n_bytes: int
    text: str  # the prompt + answer text the cache holds
    saved_at: float
    used_at: float
    blank_pending: bool = False

    @classmethod
    def from_json(cls, data: Any) -> CacheEntry | None:
        """The entry, or None if `data` is not a valid one."""
        if not isinstance(data, dict):
            return None
        kinds = {"filename": str, "model_key": str, "model_name": str, "text": str, "blank_pending": bool}
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name, False if f.name == "blank_pending" else None)
            want = kinds.get(f.name)
            if want is not None:
                ok = isinstance(value, want)
            elif f.name in ("saved_at", "used_at"):
                ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e11
            else:  # counts
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            if not ok:
                return None
            values[f.name] = value
        try:
            check_filename(values["filename"])
        except ValueError:
            return None
        if not values["filename"].startswith(FILE_PREFIX):
            return None
        return cls(**values)


class CacheFiles:
    """The sidecars of one location. `files_dir` is where the server writes the slot files when
    llama-tui can reach it (then files are measured and deleted here), None for a remote server."""

    def __init__(self, meta_dir: Path, files_dir: Path | None, *, where: str = "", namespace: str = "") -> None:
        self.meta_dir = Path(meta_dir)
        self.files_dir = Path(files_dir) if files_dir is not None else None
        self.where = where
        self.namespace = _check_namespace(namespace)

    @classmethod
    def open(cls, root: Path, *, files_dir: Path | None, server_url: str, namespace: str = "") -> CacheFiles:
        """The location for a server (by its directory when known, else by its URL) and a store."""
        if files_dir is not None:
            where = str(Path(files_dir).expanduser().resolve())
            meta = Path(root) / "meta" / location_key("dir", where, namespace)
        else:
            where = server_url.rstrip("/")
            meta = Path(root) / "meta" / location_key("url", where, namespace)
        return cls(meta, Path(where) if files_dir is not None else None, where=where, namespace=namespace)

    # -- reading ---------------------------------------------------------------------------------

    def entries(self) -> list[CacheEntry]:
        """Every valid entry; a sidecar whose file is gone (or that does not parse) is dropped."""
        try:
            names = sorted(p for p in os.listdir(self.meta_dir) if p.endswith(_SUFFIX) and p != _LOCATION)
        except OSError:
            return []
        return [e for e in (self._load(self.meta_dir / name) for name in names) if e is not None]

    def get(self, session_id: int, model_key: str) -> CacheEntry | None:
        """The live entry of a session's cache for one model, if there is one."""
        entry = self._load(self.meta_dir / (slot_filename(session_id, model_key, self.namespace) + _SUFFIX))
        return entry if entry is not None and not entry.blank_pending else None

    def _load(self, path: Path) -> CacheEntry | None:
        try:
            entry = CacheEntry.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            entry = None
        if entry is None or path.name != entry.filename + _SUFFIX:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        if self.files_dir is not None and not entry.blank_pending:
            try:
                entry.n_bytes = (self.files_dir / entry.filename).stat().st_size
            except OSError:  # deleted behind our back: nothing to restore
                with contextlib.suppress(OSError):
                    path.unlink()
                return None
        return entry

    def total_bytes(self) -> int:
        return sum(e.n_bytes for e in self.entries() if not e.blank_pending)

    def pending_blanks(self) -> list[CacheEntry]:
        return [e for e in self.entries() if e.blank_pending]

    # -- writing ---------------------------------------------------------------------------------

    def put(self, entry: CacheEntry) -> None:
        """Record (or replace) an entry; atomic, private (0600)."""
        self.meta_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        location = self.meta_dir / _LOCATION
        if not location.exists():
            files_dir = str(self.files_dir) if self.files_dir else None
            self._write(location, {"where": self.where, "files_dir": files_dir, "namespace": self.namespace})
        self._write(self.meta_dir / (entry.filename + _SUFFIX), asdict(entry))

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def touch(self, entry: CacheEntry, now: float) -> None:
        entry.used_at = now
        with contextlib.suppress(OSError):
            self.put(entry)

    def remove(self, entry: CacheEntry) -> None:
        """Forget an entry: delete its file here, or (remote server) mark it to be blanked there."""
        if self.files_dir is None:
            if not entry.blank_pending:
                entry.blank_pending = True
                entry.text = ""
                entry.n_bytes = 0
                with contextlib.suppress(OSError):
                    self.put(entry)
            return
        with contextlib.suppress(FileNotFoundError):
            (self.files_dir / entry.filename).unlink()
        self.drop_record(entry)

    def drop_record(self, entry: CacheEntry) -> None:
        """Delete the sidecar only (the file is gone, or was blanked on the server)."""
        with contextlib.suppress(FileNotFoundError):
            (self.meta_dir / (entry.filename + _SUFFIX)).unlink()

    def remove_session(self, session_id: int) -> list[CacheEntry]:
        gone = [e for e in self.entries() if e.session_id == session_id and not e.blank_pending]
        for entry in gone:
            self.remove(entry)
        return gone

    def over_cap(self, max_bytes: int, *, keep: str | None = None) -> list[CacheEntry]:
        """The least recently used entries to remove so the total fits in `max_bytes` (`keep`,
        the file just saved, goes last: only if it alone is over the cap)."""
        live = sorted((e for e in self.entries() if not e.blank_pending), key=lambda e: (e.filename == keep, e.used_at))
        total = sum(e.n_bytes for e in live)
        out: list[CacheEntry] = []
        for entry in live:
            if total <= max_bytes:
                break
            out.append(entry)
            total -= entry.n_bytes
        return out


def all_locations(root: Path, namespace: str | None = None) -> list[CacheFiles]:
    """Every location recorded under `root` (for deleting a session's files everywhere), or
    only those of one store's `namespace`."""
    out: list[CacheFiles] = []
    meta = Path(root) / "meta"
    try:
        dirs = sorted(p for p in meta.iterdir() if p.is_dir())
    except OSError:
        return out
    for d in dirs:
        try:
            info = json.loads((d / _LOCATION).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict):
            continue
        files_dir, where, space = info.get("files_dir"), info.get("where"), info.get("namespace", "")
        if not isinstance(space, str) or not _NAMESPACE.fullmatch(space):
            continue
        if namespace is not None and space != namespace:
            continue
        files = Path(files_dir) if isinstance(files_dir, str) else None
        out.append(CacheFiles(d, files, where=str(where or ""), namespace=space))
    return out


def forget_session(root: Path, session_id: int, namespace: str = "") -> int:
    """Delete a session's saved caches in every location of its store (files we reach are
    deleted, remote ones marked to be blanked); returns how many. For a deleted or purged session."""
    return sum(len(loc.remove_session(session_id)) for loc in all_locations(root, namespace))


def forget_other_sessions(root: Path, live: set[int], namespace: str = "") -> int:
    """Delete the saved caches of every session of the store not in `live` (sessions deleted or
    purged while no SlotCache was listening, e.g. by another llama-tui); returns how many."""
    gone = 0
    for loc in all_locations(root, namespace):
        for entry in loc.entries():
            if entry.session_id not in live and not entry.blank_pending:
                loc.remove(entry)
                gone += 1
    return gone
