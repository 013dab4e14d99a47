"""The server the app talks to right now. No Textual.

One `ServerConnection` is shared by the app and its screens: switching to another `[servers.NAME]`
profile replaces its client, and everything that talks to the server reads `connection.client`
when it needs it, so nobody holds on to a client of a server no longer in use.
"""

from __future__ import annotations

from ..client import LlamaCppClient
from ..config import Config


class ServerConnection:
    def __init__(self, client: LlamaCppClient, name: str | None = None) -> None:
        self.client = client
        self.name = name  # the [servers.NAME] profile in use, if any

    @property
    def url(self) -> str:
        return self.client.base_url

    async def use(self, name: str, config: Config) -> None:
        """Switch to the [servers.NAME] profile (a new client; the old one is closed)."""
        profile = config.servers[name]
        await self.use_url(profile.url, profile.resolved_key(), config, name=name)

    async def use_url(self, url: str, api_key: str | None, config: Config, *, name: str | None = None) -> None:
        """Switch to the server at `url` (found by discovery, entered by the user, or started by
        llama-tui): a new client; the old one is closed."""
        old = self.client
        self.client = LlamaCppClient(
            url, api_key, connect_timeout=config.connect_timeout, read_timeout=config.read_timeout
        )
        self.name = name
        await old.close()
