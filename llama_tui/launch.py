"""Start the TUI: build config, client and store, then hand them to the App."""

from __future__ import annotations

import argparse


def run_tui(args: argparse.Namespace) -> int:
    raise SystemExit("llama-tui: the TUI is not built yet; use `llama-tui ask`")
