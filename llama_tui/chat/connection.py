"""The server the app talks to right now, and the clients of compare targets. No Textual.

One `ServerConnection` is shared by the app and its screens: switching to another `[servers.NAME]`
profile replaces its client, and everything that talks to the server reads `connection.client`
when it needs it, so nobody holds on to a client of a server no longer in use. A compare run
talks to its targets through `TargetClients` of its own.
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

    @property
    def display_url(self) -> str:
        """The address fit to show (a password in it as ***): the only one the UI shows."""
        return self.client.display_url

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


class TargetClients:
    """Clients for compare targets: one per (server, router model), never the app's own, so a
    compare changes nothing the app talks to (its connection, its router model). A target's
    server is None (the app's current server), a `[servers.NAME]` profile, or a URL."""

    def __init__(self, connection: ServerConnection, config: Config) -> None:
        self.connection = connection
        self.config = config
        self._clients: dict[tuple[str, str | None], LlamaCppClient] = {}

    def address(self, server: str | None) -> tuple[str, str | None]:
        """(URL, API key) of a target's server. Raises ValueError for an unknown name."""
        if server is None:
            return self.connection.url, self.connection.client.api_key
        profile = self.config.servers.get(server)
        if profile is not None:
            return profile.url, profile.resolved_key()
        if server.startswith(("http://", "https://")):
            # The app's key goes only to the app's server; give another server a profile for its key.
            url = server.rstrip("/")
            return url, self.connection.client.api_key if url == self.connection.url else None
        raise ValueError(f"no server named {server!r} in the config ([servers.NAME])")

    def get(self, server: str | None, model: str | None = None) -> LlamaCppClient:
        """The client for `server` whose requests name `model` (router mode), made once."""
        url, key = self.address(server)
        client = self._clients.get((url, model))
        if client is None:
            client = LlamaCppClient(
                url, key, connect_timeout=self.config.connect_timeout, read_timeout=self.config.read_timeout
            )
            client.model = model
            self._clients[(url, model)] = client
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
