"""Start the TUI: build config, client and store, and hand them to the App (which imports Textual)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from typing import Any


def run_tui(args: argparse.Namespace) -> int:
    # No cyclic GC during start-up: it would scan the growing heap of imports and widgets several
    # times before the first frame. The app turns it back on (and freezes what it built) once
    # its first frame is painted (LlamaTui.on_ready).
    gc.disable()
    from ..client import LlamaCppClient
    from ..config import ConfigError, KeyFileError
    from ..paths import config_path, data_dir, store_path
    from ..store import Store, StoreError, StoreTooNew
    from ..templates import TemplateError
    from .common import custom_templates, find_session, resolve_server

    try:
        url, key, config = resolve_server(args)
    except KeyFileError as e:
        print(f"llama-tui: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"llama-tui: {e}\nFix the file (it was not changed), or start with --config OTHER.toml.", file=sys.stderr)
        return 2
    try:
        custom: dict[str, Any] = dict(custom_templates(config, config_path(args.config).parent))
    except TemplateError as e:
        print(f"llama-tui: {config_path(args.config)}: {e}", file=sys.stderr)
        return 2
    try:
        store = Store.open(store_path(data_dir(args.data_dir)))
    except StoreTooNew as e:
        print(f"llama-tui: {e}", file=sys.stderr)
        return 2
    except (StoreError, OSError) as e:
        print(f"llama-tui: cannot open the session store: {e}", file=sys.stderr)
        return 2
    if store.recovered_from is not None:
        print(
            f"llama-tui: the session store was damaged; it was moved aside to {store.recovered_from}", file=sys.stderr
        )
    if store.read_only is not None:
        print(
            f"llama-tui: {store.read_only}: sessions can be read, but nothing will be saved; changes are kept in "
            "memory until you quit",
            file=sys.stderr,
        )
    else:
        _tidy_store(store, config.trash_days)
    initial = find_session(store, args.session) if args.session else None
    if args.session and initial is None:
        print(f"llama-tui: no session {args.session!r}", file=sys.stderr)
        store.close()
        return 2

    server = None
    launch = config.server_launch
    model = args.model or launch.model
    if args.demo and (args.model or args.server):
        print("llama-tui: --demo starts its own server; leave out --model and --server", file=sys.stderr)
        store.close()
        return 2
    if args.demo:
        model = None
    if model:
        try:
            server = _start_managed_server(args, launch, str(model), key, save_caches=config.slot_cache_max_mb > 0)
        except ValueError as e:
            print(f"llama-tui: {e}", file=sys.stderr)
            store.close()
            return 2
        url = server.url

    from ..app import LlamaTui
    from ..chat.discovery import candidates, should_discover

    client = LlamaCppClient(url, key, connect_timeout=config.connect_timeout, read_timeout=config.read_timeout)
    app = LlamaTui(
        config=config,
        client=client,
        store=store,
        config_path=config_path(args.config),
        custom_templates=custom,
        initial_session=initial,
        new_session=args.new,
        managed_server=server,
        discover=candidates(config, key) if should_discover(config, args.server) and server is None else None,
        demo=args.demo,
    )
    try:
        app.run()
    finally:
        store.close()
        if app.client._session is not None and not app.client._session.closed:
            asyncio.run(app.client.close())
        # After the app's pollers are gone: none can hold up the shutdown. The app may have
        # started one itself (first run, --demo).
        if app.managed_server is not None:
            app.managed_server.terminate(launch.stop_grace)
        if server is not None and server is not app.managed_server:
            server.terminate(launch.stop_grace)
    # Textual sets 1 when the app died of an unhandled error: a crash must never exit 0.
    return app.return_code or 0


def _tidy_store(store: Any, trash_days: float) -> None:
    """At start-up: answers left "streaming" by a crash become "interrupted", and sessions in the
    trash longer than `trash_days` (0: keep them) are purged. A store that refuses the writes
    (busy, disk full) is left as it is: the app says so at its first save."""
    from ..store import StoreError

    try:
        store.mark_streaming_interrupted()
        if trash_days > 0:
            store.purge_deleted(trash_days * 86400)
    except StoreError:
        pass


def _start_managed_server(
    args: argparse.Namespace, launch: Any, model: str, key: str | None, *, save_caches: bool = True
) -> Any:
    """Start llama-server for --model / [server.launch] model; ValueError says what is wrong."""
    import shlex
    from pathlib import Path

    from ..paths import cache_dir
    from ..server import ManagedServer, ManagedServerError, default_slot_save_dir

    if args.server:
        raise ValueError("use --server or --model, not both")
    if not Path(model).expanduser().is_file():
        raise ValueError(f"no model file {model}")
    extra = [*launch.args, *(a for s in args.server_args for a in shlex.split(s))]
    try:
        log = Path(launch.log_file) if launch.log_file else cache_dir() / "llama-server.log"
        server = ManagedServer(
            Path(model).expanduser(),
            binary=launch.llama_server_bin,
            args=extra,
            api_key=key,
            log_path=log,
            # Session KV caches can be saved and restored (chat/slot_cache.py) unless turned off.
            slot_save_dir=default_slot_save_dir() if save_caches else None,
        )
        server.start()  # on the main thread: the child's die-with-parent signal is tied to this thread
    except ManagedServerError as e:
        raise ValueError(str(e)) from None
    return server
