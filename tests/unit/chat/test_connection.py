"""chat/connection.py: the clients of compare targets never change the app's own connection."""

from __future__ import annotations

import pytest

from llama_tui.chat.connection import ServerConnection, TargetClients
from llama_tui.client import LlamaCppClient
from llama_tui.config import Config, ServerProfile


async def test_target_clients_are_made_once_per_server_and_model_and_never_the_apps() -> None:
    app = LlamaCppClient("http://127.0.0.1:9", "app-key")
    app.model = "session-model"
    config = Config(servers={"gpu": ServerProfile(url="http://gpu:8080", api_key="gpu-key")}, read_timeout=42.0)
    clients = TargetClients(ServerConnection(app), config)
    mine = clients.get(None, "gemma")
    assert mine is not app and (mine.base_url, mine.api_key, mine.model) == ("http://127.0.0.1:9", "app-key", "gemma")
    assert mine.read_timeout == 42.0
    assert clients.get(None, "gemma") is mine and clients.get(None) is not mine
    gpu = clients.get("gpu")
    assert (gpu.base_url, gpu.api_key, gpu.model) == ("http://gpu:8080", "gpu-key", None)
    # A bare URL gets the app's key only when it is the app's server.
    assert clients.address("http://127.0.0.1:9/") == ("http://127.0.0.1:9", "app-key")
    assert clients.address("http://elsewhere:8080") == ("http://elsewhere:8080", None)
    with pytest.raises(ValueError, match="no server named 'nope'"):
        clients.get("nope")
    await clients.close()
    assert app.model == "session-model"  # the app's client is untouched
