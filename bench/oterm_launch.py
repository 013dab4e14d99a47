"""Starts oterm (run with bench/.venv-oterm's python) on one chat already set up to talk to an
OpenAI-compatible endpoint named "llama" (OTERM_DATA_DIR/config.json, written by the caller), so
the benchmark drives the chat itself, not oterm's new-chat dialog. The chat has no tools (tool
definitions in the request would need llama-server's --jinja) and default parameters.

    python bench/oterm_launch.py MODEL
"""

from __future__ import annotations

import asyncio
import sys


def main() -> None:
    from oterm.store.store import Store
    from oterm.types import ChatModel

    model = sys.argv[1]

    async def prepare() -> None:
        store = await Store.get_store()
        if not await store.get_chats():
            await store.save_chat(ChatModel(name="bench", model=model, provider="openai-compat/llama", tools=[]))

    asyncio.run(prepare())
    Store._store = None  # opened again inside the app's own event loop

    from oterm.app.oterm import app

    app.run()


if __name__ == "__main__":
    main()
