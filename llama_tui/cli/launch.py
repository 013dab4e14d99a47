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
    from ..config import ConfigError
    from ..paths import config_path, data_dir, store_path
    from ..store import Store, StoreError, StoreTooNew
    from ..templates import TemplateError
    from .common import custom_templates, find_session, resolve_server

    try:
        url, key, config = resolve_server(args)
    except ConfigError as e:
        print(f"llama-tui: {e}\nFix the file (it was not changed), or start with --config OTHER.toml.", file=sys.stderr)
        return 2
    try:
        custom: dict[str, Any] = dict(custom_templates(config))
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
    store.mark_streaming_interrupted()
    initial = find_session(store, args.session) if args.session else None
    if args.session and initial is None:
        print(f"llama-tui: no session {args.session!r}", file=sys.stderr)
        store.close()
        return 2

    server = None
    launch = config.server_launch
    model = args.model or launch.model
    if model:
        try:
            server = _start_managed_server(args, launch, str(model), key)
        except ValueError as e:
            print(f"llama-tui: {e}", file=sys.stderr)
            store.close()
            return 2
        url = server.url

    from ..app import LlamaTui

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
    )
    try:
        app.run()
    finally:
        store.close()
        if app.client._session is not None and not app.client._session.closed:
            asyncio.run(app.client.close())
        if server is not None:  # after the app's pollers are gone: none can hold up the shutdown
            server.terminate(launch.stop_grace)
    return 0


def _start_managed_server(args: argparse.Namespace, launch: Any, model: str, key: str | None) -> Any:
    """Start llama-server for --model / [server.launch] model; ValueError says what is wrong."""
    import shlex
    from pathlib import Path

    from ..paths import cache_dir
    from ..server import ManagedServer, ManagedServerError

    if args.server:
        raise ValueError("use --server or --model, not both")
    if not Path(model).expanduser().is_file():
        raise ValueError(f"no model file {model}")
    extra = [*launch.args, *(a for s in args.server_args for a in shlex.split(s))]
    try:
        log = Path(launch.log_file) if launch.log_file else cache_dir() / "llama-server.log"
        server = ManagedServer(
            Path(model).expanduser(), binary=launch.llama_server_bin, args=extra, api_key=key, log_path=log
        )
        server.start()  # on the main thread: the child's die-with-parent signal is tied to this thread
    except ManagedServerError as e:
        raise ValueError(str(e)) from None
    return server
