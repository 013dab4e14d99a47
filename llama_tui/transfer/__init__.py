"""Sessions to and from files: llama-tui's JSON format, llama.cpp web UI import, Markdown export."""

from __future__ import annotations

from typing import Any

from ..store import Store
from .fields import ImportFormatError
from .files import dumps_export, read_import_file, write_export
from .json_format import EXPORT_SCHEMA, EXPORT_VERSION, export_sessions_json, import_json, session_to_json
from .markdown import session_to_markdown
from .webui import import_llamacpp_webui

__all__ = [
    "EXPORT_SCHEMA",
    "EXPORT_VERSION",
    "ImportFormatError",
    "dumps_export",
    "export_sessions_json",
    "import_any",
    "import_json",
    "import_llamacpp_webui",
    "read_import_file",
    "session_to_json",
    "session_to_markdown",
    "write_export",
]


def import_any(store: Store, data: Any, *, default_template: str = "server") -> list[int]:
    """Import a parsed file of either kind: a llama-tui export (it has a "schema" field; each
    session keeps its template) or a llama.cpp web UI export (its sessions get
    `default_template`, as new sessions do)."""
    if isinstance(data, dict) and "schema" in data:
        return import_json(store, data)
    return import_llamacpp_webui(store, data, template=default_template)
