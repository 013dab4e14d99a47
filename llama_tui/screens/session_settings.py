"""The settings pane's side of the main screen: what the pane shows for the session, and what a
change in it does (saved with the session at once, applied to the next request): the template and
its options, the system prompt, the knobs and presets; which template a new session starts with
(the family the model looks like when its GGUF has no template) and "use the suggested family"."""

from __future__ import annotations

from typing import Any

from ..config import ConfigError
from ..config_files import save_preset
from ..domain import SamplingSettings, Session
from ..templates import SERVER_TEMPLATE, TemplateOption, template_names
from ..templates.base import OptionValue
from ..templates.model import template_options
from .host import ScreenHost
from .text_prompt import TextPromptScreen


class SessionSettings:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen
        # Sessions made here with the configured "server" default before the model was known: when it
        # turns out to have no template, they start with the suggested family instead (if still empty).
        self._defaulted: set[int] = set()

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
        self.fill_template_box()

    def fill_template_box(self) -> None:
        """What the model's template is, and the options of the session's template."""
        session, found = self.screen.session, self.screen.model_template
        if session is None:
            return
        box = self.screen.settings_pane().template_box
        suggestion = self.suggestion()
        if found is None:
            box.set_info("")
        elif found.kind == "fallback" and found.suggested and session.template == found.suggested:
            box.set_info(
                f"No chat template in the model (with `server`, llama-server would fall back to ChatML): "
                f"{found.suggested}, which this session uses, is the family it looks like."
            )
        elif session.template == SERVER_TEMPLATE or found.kind == "fallback":
            box.set_info(found.detail, warn=found.kind in ("fallback", "broken"), suggestion=suggestion)
        elif found.short:  # the session has a template of its own: say briefly what the model's is
            box.set_info(f"The model's own template: {found.short}.", suggestion=suggestion)
        else:
            box.set_info("")
        box.set_options(self.options(), session.template_options)

    def options(self) -> tuple[TemplateOption, ...]:
        """The options the session's template takes (for `server`: what the model's template reads)."""
        session = self.screen.session
        if session is None:
            return ()
        return template_options(session.template, self.screen.model_template, self.screen.services.custom_templates)

    def suggestion(self) -> str | None:
        """The family to offer: the model has no template, one looks right, and the session uses another."""
        session, found = self.screen.session, self.screen.model_template
        if session is None or found is None or found.kind != "fallback" or found.suggested is None:
            return None
        return found.suggested if session.template != found.suggested else None

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
            if self.screen.session.id is not None:
                self._defaulted.discard(self.screen.session.id)  # chosen: never changed behind the user's back
            self.screen.session.template = name
            self._save()
            self.fill_template_box()
            self.screen.update_context_meter()

    def set_option(self, name: str, value: OptionValue | None) -> None:
        """A template option (None: the template's default); kept when the template changes, used where
        the template has it."""
        session = self.screen.session
        if session is None:
            return
        if value is None:
            session.template_options.pop(name, None)
        else:
            session.template_options[name] = value
        self._save()
        self.screen.update_context_meter()

    def use_suggested(self) -> None:
        """alt+t or the pane's button: the session uses the family the model looks like."""
        suggestion = self.suggestion()
        if suggestion is None:
            found = self.screen.model_template
            if found is None:
                why = "the model's template is not known yet"
            elif found.kind != "fallback":
                why = "the model has a chat template of its own (the `server` template uses it)"
            elif found.suggested is None:
                why = "nothing in the model's name or tokens says which family it is"
            else:
                why = f"this session already uses {found.suggested}"
            self.screen.notify(f"No template family to suggest: {why}.", markup=False)
            return
        self.set_template(suggestion)
        self.fill()
        self.screen.notify(f"This session now uses the {suggestion} template (F6 shows the prompt).", markup=False)

    # -- the template a session starts with ----------------------------------------------------

    def new_session(self) -> Session:
        """A new session on the current server, with the default settings and `new_session_template`."""
        services = self.screen.services
        template = self.new_session_template()
        session = self.screen.sessions.create(template, services.config.default_settings, services.connection.name)
        if session.id is not None and template == SERVER_TEMPLATE and self.screen.model_template is None:
            self._defaulted.add(session.id)  # the model may still turn out to have no template
        return session

    def new_session_template(self) -> str:
        """The configured default (the server's profile, then the config); when that is the model's own
        template and the model has none, the family it looks like (the server's ChatML fallback is
        almost never the model's format)."""
        services = self.screen.services
        config, name = services.config, services.connection.name
        profile = config.servers.get(name or "")
        template = (profile.default_template if profile else None) or config.default_template
        found = self.screen.model_template
        if template == SERVER_TEMPLATE and found is not None and found.kind == "fallback" and found.suggested:
            return found.suggested
        return template

    def model_template_found(self) -> None:
        """The model's template is known (or changed): a session that started on the server's template
        before that, still empty, moves to the suggested family; the pane says what the model has."""
        screen, session, found = self.screen, self.screen.session, self.screen.model_template
        if session is not None and session.id in self._defaulted and found is not None:
            self._defaulted.discard(session.id)
            conversation = screen.conversation
            empty = conversation is not None and not conversation.path()
            if empty and found.kind == "fallback" and found.suggested and session.template == SERVER_TEMPLATE:
                session.template = found.suggested
                self._save()
                screen.notify(
                    f"The model has no chat template (the server would use ChatML): this new session uses "
                    f"{found.suggested}, the family its name suggests. Change it in the settings pane (ctrl+t).",
                    markup=False,
                    timeout=10,
                )
                screen.update_context_meter()
        self.fill()

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
