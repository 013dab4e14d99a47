"""`llama-tui export` and `llama-tui import`: sessions to and from files. No Textual.

Exit codes: 0 done; 2 usage (bad arguments, no such session, a file that cannot be imported);
4 the session store could not be used (damaged, from a newer llama-tui, unreadable, or for
import unwritable). Neither command ever swaps a damaged store for an empty one: it says so,
leaves the file as it is, and exits 4, so a scripted backup cannot silently back up nothing.
Export only reads (it works on a read-only store); import writes all sessions or none.
"""

from __future__ import annotations

import argparse
import sys

from ..paths import data_dir, store_path
from ..store import Store, StoreError, StoreNotFound
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

EXIT_OK, EXIT_USAGE, EXIT_STORE = 0, 2, 4


def run_transfer(args: argparse.Namespace) -> int:
    path = store_path(data_dir(args.data_dir))
    name = f"llama-tui {args.command}"
    try:
        # Export never writes, so it never migrates, creates or moves anything.
        store = Store.open(path, read_only=True) if args.command == "export" else Store.open(path, recover=False)
    except StoreNotFound:
        if args.command == "export":
            print(f"{name}: there is no session store at {path}: nothing to export", file=sys.stderr)
            return _export_nothing(args)
        print(f"{name}: cannot open the session store: there is none at {path}", file=sys.stderr)
        return EXIT_STORE
    except (StoreError, OSError) as e:
        print(f"{name}: {e}", file=sys.stderr)
        return EXIT_STORE
    try:
        return _export(store, args) if args.command == "export" else _import(store, args)
    finally:
        store.close()


def _export_nothing(args: argparse.Namespace) -> int:
    """No store yet (nothing was ever saved): an empty bundle, which is the truth."""
    if args.session or args.format == "md":
        return EXIT_STORE
    bundle = export_sessions_json(None, [])
    return _write(dumps_export(bundle), args)


def _export(store: Store, args: argparse.Namespace) -> int:
    ids: list[int] | None = None
    try:
        if args.session:
            found = find_session(store, args.session)
            if found is None:
                print(f"llama-tui export: no session {args.session!r}", file=sys.stderr)
                return EXIT_USAGE
            ids = [found]
        if args.format == "md":
            if ids is None:
                print("llama-tui export: Markdown export needs --session", file=sys.stderr)
                return EXIT_USAGE
            text = session_to_markdown(store, ids[0])
        else:
            text = dumps_export(export_sessions_json(store, ids))
    except StoreError as e:
        print(f"llama-tui export: {e}", file=sys.stderr)
        return EXIT_STORE
    return _write(text, args)


def _write(text: str, args: argparse.Namespace) -> int:
    if args.output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return EXIT_OK
    try:
        print(f"wrote {write_export(args.output, text)}", file=sys.stderr)
    except OSError as e:
        print(f"llama-tui export: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


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
        return EXIT_USAGE
    except StoreError as e:
        print(f"llama-tui import: {e}; nothing was imported", file=sys.stderr)
        return EXIT_STORE
    print(f"imported {len(ids)} session{'s' if len(ids) != 1 else ''} from {args.file}", file=sys.stderr)
    return EXIT_OK
