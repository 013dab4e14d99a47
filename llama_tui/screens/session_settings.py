"""The settings pane's side of the main screen: what the pane shows for the session, and what a
change in it does (saved with the session at once, applied to the next request)."""

from __future__ import annotations

from typing import Any

from ..config import ConfigError
from ..config_files import save_preset
from ..domain import SamplingSettings
from ..templates import template_names
from .host import ScreenHost
from .text_prompt import TextPromptScreen


class SessionSettings:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen

    def fill(self) -> None:
        """Show the session's template, system prompt and knobs, with the server's defaults."""
        session, props = self.screen.session, self.screen.server_watch.props
        if session is None:
            return
        custom = self.screen.services.custom_templates
        self.screen.settings_pane().set_values(
            template=session.template,
            template_names=template_names() + [n for n in custom if n not in template_names()],
            system_prompt=session.system_prompt,
            settings=session.settings,
            server_defaults=props.default_params if props else {},
        )

    def _save(self, *, refill: bool = False) -> None:
        session = self.screen.session
        if session is not None:
            self.screen.sessions.save(session)
            if refill:
                self.fill()

    def set_knob(self, name: str, value: Any) -> None:
        if self.screen.session is not None:
            self.screen.session.settings.set(name, value)
            self._save()

    def reset_all(self) -> None:
        if self.screen.session is not None:
            self.screen.session.settings = SamplingSettings()
            self._save(refill=True)

    def set_template(self, name: str) -> None:
        if self.screen.session is not None:
            self.screen.session.template = name
            self._save()
            self.screen.update_context_meter()

    def set_system_prompt(self, text: str) -> None:
        if self.screen.session is not None:
            self.screen.session.system_prompt = text
            self._save()

    def apply_preset(self, name: str) -> None:
        values = self.screen.services.config.presets.get(name)
        if self.screen.session is not None and values is not None:
            self.screen.session.settings = SamplingSettings.from_dict(values)
            self._save(refill=True)
            self.screen.notify(f"Preset “{name}” applied.", markup=False)

    def save_preset(self) -> None:
        self.screen.start_worker(self._save_preset(), "preset")

    async def _save_preset(self) -> None:
        screen, session = self.screen, self.screen.session
        if session is None:
            return
        name = await screen.app.push_screen_wait(TextPromptScreen("Save settings as preset", "", "preset name"))
        if not name or not name.strip():
            return
        services = screen.services
        try:
            save_preset(services.config_path, name.strip(), session.settings.to_dict())
        except (ConfigError, OSError) as e:
            screen.notify(f"Preset not saved: {e}", severity="error", markup=False)
            return
        services.config.presets[name.strip()] = session.settings.to_dict()
        screen.settings_pane().set_presets(sorted(services.config.presets))
        screen.notify(f"Preset “{name.strip()}” saved to {services.config_path}.", markup=False)
