"""The settings pane's messages on the main screen, and what the knobs need of the server.

Every message the pane posts (`PaneEdit`) comes through `handle`: plain edits go to SessionSettings
(saved with the session, used by the next request); a grammar, schema or logit bias is checked
with llama-server before it applies (chat/constraints.check_params), and its error is shown in the
pane's editor, never as a failed answer; before a message is sent, constraints the server has not
yet accepted are checked the same way, and a refused one keeps the message in the composer. Also:
the logit bias's token ids (/tokenize), the server's LoRA adapters, preset files, and the note on
what happens when the context fills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..chat.constraints import CHECKED_BY_SERVER, bias_preview, check_params, constraint_key
from ..chat.generation import describe_error
from ..chat.request import completion_params
from ..client import LlamaError, LoraAdapter
from ..config import ConfigError
from ..config_files import save_preset
from ..context_shift import session_fill_note
from ..presets import preset_name, read_preset_file, write_preset_file
from ..sanitize import one_line
from ..widgets.constraint_editors import ConstraintEditor, TokenRow
from ..widgets.knob_fields import PaneEdit
from ..widgets.lora_editor import LoraEditor
from ..widgets.settings_pane import SettingsPane
from .host import ScreenHost
from .session_settings import SessionSettings
from .text_prompt import TextPromptScreen

Verdict = tuple[bool | None, str]  # accepted (None: could not ask), and why not


class KnobActions:
    def __init__(self, screen: ScreenHost, settings: SessionSettings) -> None:
        self.screen = screen
        self.settings = settings
        self._accepted: set[tuple[str, str]] = set()  # (server URL, constraints) the server took
        self._adapters: list[LoraAdapter] | None = None
        self._adapters_of: tuple[str, str] | None = None  # (server URL, model) they were read from

    def handle(self, event: PaneEdit) -> None:
        """One place for everything the settings pane posts."""
        settings, screen = self.settings, self.screen
        if isinstance(event, SettingsPane.SettingChanged):
            settings.set_knob(event.name, event.value)
            if event.name in ("n_keep", "n_discard"):
                self.show_context_note()
        elif isinstance(event, SettingsPane.ResetAll):
            settings.reset_all()
        elif isinstance(event, SettingsPane.TemplateChanged):
            settings.set_template(event.name)
        elif isinstance(event, SettingsPane.SystemPromptChanged):
            settings.set_system_prompt(event.text)
        elif isinstance(event, SettingsPane.PresetApplied):
            settings.apply_preset(event.name)
        elif isinstance(event, SettingsPane.SavePresetRequested):
            settings.save_preset()
        elif isinstance(event, SettingsPane.ImportPresetsRequested):
            screen.start_worker(self._import_presets(), "presets")
        elif isinstance(event, SettingsPane.ExportPresetRequested):
            screen.start_worker(self._export_preset(), "presets")
        elif isinstance(event, ConstraintEditor.Submitted):
            screen.start_worker(self._submit(event.name, event.value), f"constraint-{event.name}", exclusive=True)
        elif isinstance(event, ConstraintEditor.LoadRequested):
            screen.start_worker(self._load(event.name), "constraint-file")
        elif isinstance(event, LoraEditor.ScaleChanged):
            self._set_scale(event.adapter_id, event.scale)

    # -- asking the server -----------------------------------------------------------------------

    async def _verdict(self, params: dict[str, Any]) -> Verdict:
        key = constraint_key(params)
        url = self.screen.services.connection.url
        if key is None or (url, key) in self._accepted:
            return True, ""
        try:
            error = await check_params(self.screen.services.connection.client, params)
        except LlamaError as e:
            return None, describe_error(e)
        if error is not None:
            message = one_line(error.message, 300)
            if "parse grammar" in message and "<" in str(params.get("grammar", "")):
                message += " (is each <token> one token of this model's vocabulary?)"
            return False, message
        self._accepted.add((url, key))
        return True, ""

    async def _submit(self, name: str, value: Any) -> None:
        """A grammar, schema or bias that passed the pane's own check: the server's turn."""
        session, pane = self.screen.session, self.screen.settings_pane()
        if session is None:
            return
        accepted: bool | None = True
        why = ""
        if value is not None:
            trial = session.settings.copy()
            trial.set(name, value)
            accepted, why = await self._verdict(completion_params(trial))
            if self.screen.session is not session:
                return  # switched meanwhile: this was about the other session
            if accepted is False:
                pane.set_editor_status(name, f"llama-server refuses it: {why} (not applied)", error=True)
                return
        self.settings.set_knob(name, value)
        pane.note_applied(name, value)
        if value is None:
            status = "Cleared: no constraint."
        elif accepted:
            status = "Applied (llama-server accepts it)."
        else:
            status = f"Applied, not checked ({why}); it is checked before the next message is sent."
        pane.set_editor_status(name, status)
        if name == "logit_bias":
            await self._show_bias(value or {})

    async def _show_bias(self, entries: dict[str, float | bool]) -> None:
        try:
            rows = await bias_preview(self.screen.services.connection.client, entries)
        except LlamaError as e:
            self.screen.settings_pane().set_editor_status(
                "logit_bias", f"Applied; its tokens cannot be shown now: {describe_error(e)}"
            )
            return
        shown: list[TokenRow] = [(row.text, row.bias, [(t.id, _piece(t.piece)) for t in row.tokens]) for row in rows]
        self.screen.settings_pane().show_bias_tokens(shown)

    async def ready_to_send(self) -> bool:
        """False (and the pane says why) when the server refuses the session's constraints: nothing
        is sent. Checked once per change and server; when it cannot be asked, the send goes on."""
        session = self.screen.session
        if session is None:
            return True
        params = self.screen.request_params()
        accepted, why = await self._verdict(params)
        if accepted is not False:
            return True
        name = next((n for n in ("json_schema", "lora") if n in why), None)
        name = name or next(n for n in CHECKED_BY_SERVER if params.get(n) not in (None, "", [], {}))
        self.screen.notify(
            f"Not sent: llama-server refuses this session's {name}: {why}. Fix it in the settings pane (ctrl+t).",
            title="Constraint refused",
            severity="error",
            timeout=12,
            markup=False,
        )
        pane = self.screen.settings_pane()
        await self.screen.open_settings()
        if name != "lora":
            await pane.focus_knob(name)
            pane.set_editor_status(name, f"llama-server refuses it: {why}", error=True)
        return False

    # -- LoRA adapters ---------------------------------------------------------------------------

    def refresh_adapters(self) -> None:
        """Read the server's adapters once per server and model, when the pane is there to show them."""
        props = self.screen.server_watch.props
        if not self.screen.settings_pane().built or props is None:
            return
        key = (self.screen.services.connection.url, props.model_path)
        if key != self._adapters_of:
            self._adapters_of = key
            self.screen.start_worker(self._read_adapters(), "lora", exclusive=True, exit_on_error=False)

    async def _read_adapters(self) -> None:
        try:
            self._adapters = await self.screen.services.connection.client.lora_adapters()
        except LlamaError:
            self._adapters, self._adapters_of = None, None  # asked again next time
        adapters = None if self._adapters is None else [(a.id, a.path, a.scale) for a in self._adapters]
        await self.screen.settings_pane().set_adapters(adapters)

    def _set_scale(self, ident: int, scale: float | None) -> None:
        """The session's `lora`: every adapter's scale once any differs from the server's (the
        server sets an adapter a request leaves out to 0), None when none does."""
        session = self.screen.session
        if session is None:
            return
        server = {a.id: a.scale for a in self._adapters or []}
        chosen = {e["id"]: e["scale"] for e in session.settings.get("lora") or []}
        if scale is None:
            chosen.pop(ident, None)
        else:
            chosen[ident] = scale
        full = {**server, **chosen}
        value = None if full == server else [{"id": i, "scale": s} for i, s in sorted(full.items())]
        self.settings.set_knob("lora", value)
        self.screen.settings_pane().note_applied("lora", value)

    # -- files -----------------------------------------------------------------------------------

    async def _load(self, name: str) -> None:
        what = "grammar (.gbnf)" if name == "grammar" else "JSON schema (.json)"
        source = await self.screen.app.push_screen_wait(TextPromptScreen(f"Load a {what} from a file", "", "path"))
        if not source:
            return
        path = Path(source).expanduser()
        try:
            if path.stat().st_size > 1024 * 1024:
                raise ValueError("over 1 MB: not a grammar or schema")
            text = path.read_bytes().decode("utf-8")
        except (OSError, ValueError) as e:
            self.screen.settings_pane().set_editor_status(name, f"Cannot load {path}: {e}", error=True)
            return
        self.screen.settings_pane().load_editor_text(name, text)

    async def _import_presets(self) -> None:
        screen = self.screen
        source = await screen.app.push_screen_wait(TextPromptScreen("Import presets (TOML)", "", "path/to/preset.toml"))
        if not source:
            return
        services = screen.services
        try:
            presets = read_preset_file(Path(source).expanduser())
            for name, values in presets.items():
                save_preset(services.config_path, name, values)
                services.config.presets[name] = values
        except ConfigError as e:
            screen.notify(f"Presets not imported: {e}", severity="error", markup=False)
            return
        screen.settings_pane().set_presets(sorted(services.config.presets))
        names = ", ".join(f"“{n}”" for n in presets) or "nothing"
        screen.notify(f"Imported {names} into {services.config_path}: apply with “Apply preset…”.", markup=False)

    async def _export_preset(self) -> None:
        screen, session = self.screen, self.screen.session
        if session is None:
            return
        default = str(Path.cwd() / f"{preset_name(session.title or 'preset')}.toml")
        prompt = TextPromptScreen("Export this session's settings as a preset", default)
        target = await screen.app.push_screen_wait(prompt)
        if not target:
            return
        path = Path(target).expanduser()
        try:
            written = write_preset_file(path, preset_name(path.stem), session.settings.to_dict())
        except ConfigError as e:
            screen.notify(f"Preset not exported: {e}", severity="error", markup=False)
            return
        screen.notify(f"Preset “{preset_name(path.stem)}” written to {written}.", markup=False)

    # -- the context -----------------------------------------------------------------------------

    def show_context_note(self) -> None:
        """What happens when the context fills, with this session's n_keep / n_discard."""
        session, props = self.screen.session, self.screen.server_watch.props
        if session is None:
            return
        used = self.screen.status_bar().context_used
        note = session_fill_note(
            session.settings.values, props.default_params if props else {}, used, props.n_ctx if props else 0
        )
        self.screen.settings_pane().set_context_note(note)


def _piece(piece: str | bytes | None) -> str:
    """A token's text for the bias preview; bytes that are part of a character as <0xNN>."""
    if isinstance(piece, bytes):
        return "".join(f"<0x{b:02X}>" for b in piece)
    return piece or ""
