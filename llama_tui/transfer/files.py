"""Export and import files: canonical JSON text, atomic writes, reading a file to import."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .fields import ImportFormatError


def dumps_export(data: Mapping[str, Any]) -> str:
    """The canonical text of an export document (what write_export writes, minus the final newline)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2)


def write_export(path: Path | str, data: Mapping[str, Any] | str) -> Path:
    """Write an export atomically: a temporary file in the same folder, flushed to disk, then renamed
    over `path` (a crash leaves the old file or the new one, never half of one). A dict is written
    as canonical JSON, a str (Markdown) as is; UTF-8, ending in a newline. A new file is private to
    the user (0600: chats are personal); an existing file keeps its permissions."""
    target = Path(path).expanduser()
    text = (data if isinstance(data, str) else dumps_export(data)).rstrip("\n") + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        try:
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return target
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
    return target


def read_import_file(path: Path | str) -> Any:
    """Parse a JSON file to import; ImportFormatError (naming the file, line and column) if it is
    not JSON. OSError (missing, unreadable) passes through."""
    p = Path(path).expanduser()
    raw = p.read_bytes()
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ImportFormatError(f"{p}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ImportFormatError(f"{p}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise ImportFormatError(f"{p}: nested too deeply to be an export") from None
    except ValueError:  # an integer of more than 4,300 digits
        raise ImportFormatError(f"{p}: holds a number too large to be read") from None
