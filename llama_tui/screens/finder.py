"""The main screen's first run: with no URL given, look for a llama-server after the first frame
(chat/discovery.py) and say which one answered; when none does, offer the first-run screen, and
act on its choice: a URL, a GGUF file to serve, or "try it now" (the demo model on a server
llama-tui starts). `--demo` opens "try it now" straight away."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

from ..chat.discovery import find_server
from ..client import redact_url
from ..demo import SETTINGS, SYSTEM_PROMPT, TEMPLATE, DemoReady, DemoSetup
from ..domain import SamplingSettings
from ..server import ManagedServer, ManagedServerError
from ..server_state import ServerState
from .demo_setup import DemoSetupScreen
from .first_run import ConnectTo, FirstRunChoice, FirstRunScreen, StartModel, TryDemo
from .host import ScreenHost
from .server_panel import ServerPanel


class ManagedServerStarted(Message):
    """Posted to the app: llama-tui started this llama-server; follow it and stop it at exit."""

    def __init__(self, server: ManagedServer) -> None:
        super().__init__()
        self.server = server


class ServerFinder:
    def __init__(self, screen: ScreenHost, panel: ServerPanel) -> None:
        self.screen = screen
        self.panel = panel
        self.looked_at = ""

    def start(self) -> None:
        """Called after the first frame (probing must not delay it)."""
        services = self.screen.services
        if services.demo:
            self.try_demo()
        elif services.discover:
            self.screen.start_worker(self._find(), "find-server", exclusive=True, exit_on_error=False)

    async def _find(self) -> None:
        screen, looked_at = self.screen, self.screen.services.discover or []
        self.looked_at = ", ".join(redact_url(c.url).removeprefix("http://") for c in looked_at)
        connection = screen.services.connection
        screen.status_bar().set_server(connection.display_url, ServerState.UNKNOWN, "looking for llama-server")
        found = await find_server(looked_at)
        if found is None:
            self.panel.watch.poke()
            self.offer_first_run()
            return
        candidate = found.candidate
        if found.url != screen.services.connection.url or candidate.name is not None:
            await self.panel.use_url(found.url, candidate.api_key, candidate.name)
        else:
            self.panel.watch.poke()
        loading = " (loading its model)" if found.loading else ""
        where = redact_url(candidate.url)
        label = f"“{candidate.name}” ({where})" if candidate.name else where
        screen.notify(f"Found llama-server at {label}{loading}.", title="llama-server", markup=False)

    # -- the first-run screen --------------------------------------------------------------------

    def offer_first_run(self) -> None:
        setup = DemoSetup(self.screen.services.config)
        summary = "\n".join(setup.inspect().describe())
        url = self.screen.services.connection.display_url  # shown only
        first_run = FirstRunScreen(self.looked_at or url, summary, url)
        self.screen.app.push_screen(first_run, self._chosen)

    async def _chosen(self, choice: FirstRunChoice | None) -> None:
        if isinstance(choice, ConnectTo):
            await self.panel.use_url(choice.url, self.screen.services.connection.client.api_key)
            self.screen.notify(f"Using llama-server at {choice.url}.", markup=False)
        elif isinstance(choice, StartModel):
            await self.start_server(choice.path, None, [])
        elif isinstance(choice, TryDemo):
            self.try_demo()

    def try_demo(self) -> None:
        setup = DemoSetup(self.screen.services.config)
        self.screen.app.push_screen(DemoSetupScreen(setup), self._demo_ready)

    async def _demo_ready(self, ready: DemoReady | None) -> None:
        if ready is None:
            if self.screen.services.demo or self.screen.services.discover:
                self.offer_first_run()  # back to the choices: nothing else to talk to yet
            return
        if await self.start_server(ready.model, ready.binary, ready.args):
            await self._demo_session()

    async def start_server(self, model: Path, binary: Path | None, args: list[str]) -> bool:
        """Start llama-server on `model` (on the main thread: see server/managed.py) and use it."""
        services = self.screen.services
        launch = services.config.server_launch
        old = services.managed_server
        try:
            from ..paths import cache_dir

            log = Path(launch.log_file) if launch.log_file else cache_dir() / "llama-server.log"
            server = ManagedServer(
                model,
                binary=binary or launch.llama_server_bin,
                args=[*args, *launch.args] if binary is None else args,
                api_key=services.connection.client.api_key,
                log_path=log,
            )
            server.start()
        except ManagedServerError as e:
            self.screen.notify(e.message, title="llama-server did not start", severity="error", markup=False)
            self.offer_first_run()
            return False
        if old is not None:
            await old.stop()
        await self.panel.use_url(server.url, services.connection.client.api_key)
        self.screen.app.post_message(ManagedServerStarted(server))
        return True

    async def _demo_session(self) -> None:
        """A new session set up for the demo model: the Gemma format, a short instruction."""
        screen = self.screen
        session, conversation = screen.session, screen.conversation
        if session is None or session.id is None or conversation is None or conversation.path() or session.title:
            session = screen.sessions.create(TEMPLATE, SETTINGS, None)  # keep what the user has
        session.template = TEMPLATE
        session.settings = SamplingSettings.from_dict(dict(SETTINGS))
        session.system_prompt = SYSTEM_PROMPT
        session.server = None
        if session.id is not None:
            screen.sessions.save(session)
            screen.sessions.rename(session, "Try it now: Gemma 3 270M")
        await screen.show_session(session)
        screen.refresh_sessions()
        screen.composer().focus()
