"""Which template the model has, on the main screen: when /props arrives, the model's own template is
rendered locally and compared with the built-in families (templates/model.py, in a thread: up to a
tenth of a second for the largest official template). The status bar says what it renders like, or
that the GGUF has none and which family it looks like; the settings pane says more and offers that
family (alt+t)."""

from __future__ import annotations

import asyncio

from ..client import Props
from ..templates import SERVER_TEMPLATE
from ..templates.model import ModelTemplate, identify
from .host import ScreenHost
from .session_settings import SessionSettings


class TemplateDetection:
    def __init__(self, screen: ScreenHost, settings: SessionSettings) -> None:
        self.screen = screen
        self.settings = settings
        self._key: tuple[str, str, str, str] | None = None  # the /props facts looked at last
        self._told: set[str] = set()  # models already told (once a run) that they have no template

    def props_changed(self, props: Props | None) -> None:
        """New /props (None: the server is gone or another one is used)."""
        if props is None or (props.is_router and not props.chat_template):
            self._key = None
            self._show(None)
            return
        key = (props.chat_template, props.model_path or props.model_alias, props.bos_token, props.eos_token)
        if key == self._key:
            return
        self._key = key
        self.screen.start_worker(self._identify(key), "model-template", exclusive=True, exit_on_error=False)

    async def _identify(self, key: tuple[str, str, str, str]) -> None:
        chat_template, model, bos, eos = key
        found = await asyncio.to_thread(identify, chat_template, model, bos_token=bos, eos_token=eos)
        if key != self._key:
            return  # the server changed meanwhile: its own detection follows
        self._show(found)
        session = self.screen.session
        if found.kind == "fallback" and model not in self._told and session and session.template == SERVER_TEMPLATE:
            self._told.add(model)
            self.screen.notify(found.detail, title="No chat template in the model", timeout=15, markup=False)

    def _show(self, found: ModelTemplate | None) -> None:
        self.screen.model_template = found
        status = self.screen.status_bar()
        if found is None:
            status.set_template_note("", "")
        else:
            status.set_template_note(found.short, found.detail, warn=found.kind in ("fallback", "broken"))
        self.settings.model_template_found()
