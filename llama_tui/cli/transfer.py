"""`llama-tui export` and `llama-tui import`: sessions to and from files. No Textual."""

from __future__ import annotations

import argparse
import sys

from ..paths import data_dir, store_path
from ..store import Store, StoreError
from ..transfer import (
    ImportFormatError,
    dumps_export,
    export_sessions_json,
    import_any,
    read_import_file,
    session_to_markdown,
    write_export,
)
from .common import find_session


def run_transfer(args: argparse.Namespace) -> int:
    try:
        store = Store.open(store_path(data_dir(args.data_dir)))
    except (StoreError, OSError) as e:
        print(f"llama-tui {args.command}: cannot open the session store: {e}", file=sys.stderr)
        return 2
    try:
        return _export(store, args) if args.command == "export" else _import(store, args)
    finally:
        store.close()


def _export(store: Store, args: argparse.Namespace) -> int:
    ids: list[int] | None = None
    if args.session:
        found = find_session(store, args.session)
        if found is None:
            print(f"llama-tui export: no session {args.session!r}", file=sys.stderr)
            return 2
        ids = [found]
    if args.format == "md":
        if ids is None:
            print("llama-tui export: Markdown export needs --session", file=sys.stderr)
            return 2
        text = session_to_markdown(store, ids[0])
    else:
        text = dumps_export(export_sessions_json(store, ids))
    if args.output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        print(f"wrote {write_export(args.output, text)}", file=sys.stderr)
    return 0


def _import(store: Store, args: argparse.Namespace) -> int:
    from ..config import ConfigError, load_config
    from ..paths import config_path

    try:
        default_template = load_config(config_path(getattr(args, "config", None))).default_template
    except ConfigError as e:
        print(f"llama-tui import: {e}", file=sys.stderr)
        return 2
    try:
        ids = import_any(store, read_import_file(args.file), default_template=default_template)
    except (ImportFormatError, OSError) as e:
        print(f"llama-tui import: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"llama-tui import: {e}", file=sys.stderr)
        return 4
    print(f"imported {len(ids)} session{'s' if len(ids) != 1 else ''} from {args.file}", file=sys.stderr)
    return 0
