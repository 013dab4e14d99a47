"""Template options in the settings pane, per session (saved with it, applied to the next request,
shown in the prompt preview), and knowing which template the model has: "renders like" a family, or
no template in the GGUF with the family its name suggests (alt+t uses it; a new session starts with it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.widgets import Input, Select, Static

from llama_tui.app import LlamaTui
from llama_tui.screens.prompt_preview import PromptPreviewScreen
from llama_tui.templates import get_template
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.settings_pane import SettingsPane
from llama_tui.widgets.template_options import TemplateOptionsBox
from tests.harness.app import wait_for
from tests.harness.server import LlamaServer


def _box(app: Any) -> TemplateOptionsBox:
    return (app.main if isinstance(app, LlamaTui) else app).query_one(TemplateOptionsBox)


def _field(app: Any, name: str) -> Any:
    box = _box(app)
    for field, option in box._fields.items():
        if option.name == name and field.is_mounted:
            return field
    raise AssertionError(f"no field for option {name!r} in {[o.name for o in box._fields.values()]}")


def _option_names(app: Any) -> list[str]:
    return [o.name for f, o in _box(app)._fields.items() if f.is_mounted]


def _text(widget: Static) -> str:
    return str(widget.render())


async def _open_settings(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.main.session is not None and app.main.props is not None)
    app.main.query_one(Composer).insert("What is 2+2?")  # the preview shows it as the next user turn
    await pilot.press("ctrl+t")
    await wait_for(pilot, lambda: app.main.query_one(SettingsPane).built)
    await pilot.pause()


async def _pick_template(pilot: Any, name: str) -> None:
    pilot.app.main.query_one("#template", Select).value = name
    await wait_for(pilot, lambda: pilot.app.main.session.template == name)
    await pilot.pause()


async def _preview(pilot: Any) -> PromptPreviewScreen:
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PromptPreviewScreen))
    preview = pilot.app.screen
    assert isinstance(preview, PromptPreviewScreen)
    summary = preview.query_one("#summary", Static)
    await wait_for(pilot, lambda: preview.tokens is not None or "Could not" in _text(summary))
    assert preview.tokens is not None, _text(summary)
    return preview


class BoxApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.posted: list[Any] = []

    def compose(self) -> ComposeResult:
        yield TemplateOptionsBox()

    @on(TemplateOptionsBox.OptionChanged)
    @on(TemplateOptionsBox.UseSuggested)
    def collect(self, message: Any) -> None:
        self.posted.append(message)


async def test_the_box_shows_values_without_posting_and_posts_only_the_users_changes() -> None:
    app = BoxApp()
    async with app.run_test(size=(80, 20)) as pilot:
        box = app.query_one(TemplateOptionsBox)
        box.set_options(get_template("qwen3").options, {"enable_thinking": False})
        await pilot.pause()
        assert _field(app, "enable_thinking").value == "off"
        box.set_options(get_template("qwen3").options, {})  # another session, same template
        await pilot.pause()
        assert _field(app, "enable_thinking").value == ""
        box.set_options(get_template("gpt-oss").options, {"today": "2025-01-31", "reasoning_effort": "nonsense"})
        await pilot.pause()
        assert _option_names(app) == ["reasoning_effort", "today"]
        assert _field(app, "reasoning_effort").value == "" and _field(app, "today").value == "2025-01-31"
        box.set_info("⚠ no chat template", warn=True, suggestion="gemma3")
        await pilot.pause()
        assert app.posted == []
        _field(app, "reasoning_effort").value = "low"
        await pilot.click("#use-suggested")
        await pilot.pause()
        assert [(type(m).__name__, getattr(m, "value", None), getattr(m, "name", None)) for m in app.posted] == [
            ("OptionChanged", "low", "reasoning_effort"),
            ("UseSuggested", None, "gemma3"),
        ]


async def test_thinking_option_is_saved_with_the_session_and_changes_the_prompt(
    llama_server: LlamaServer, make_app: Callable[..., Any]
) -> None:
    app = make_app(llama_server.url, default_template="chatml")
    async with app.run_test(size=(140, 45)) as pilot:
        await _open_settings(pilot)
        assert _option_names(app) == []  # chatml takes no options
        await _pick_template(pilot, "qwen3.5")
        await wait_for(pilot, lambda: _option_names(app) == ["enable_thinking"])
        thinking = _field(app, "enable_thinking")
        assert isinstance(thinking, Select) and thinking.value == ""  # the template's default: on
        # The section takes the room it needs: the rest of the pane follows right below it.
        area = app.main.query_one("#system-prompt")
        assert thinking.region.bottom < area.region.y < 20
        preview = await _preview(pilot)
        assert preview.prompt is not None and preview.prompt.endswith("<|im_start|>assistant\n<think>\n")
        await pilot.press("escape")

        thinking.value = "off"
        session = app.main.session
        await wait_for(pilot, lambda: session.template_options == {"enable_thinking": False})
        assert app.store.get_session(session.id).template_options == {"enable_thinking": False}
        preview = await _preview(pilot)
        assert preview.prompt is not None and preview.prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
        heading = _text(preview.query(".heading").first(Static))
        assert "qwen3.5 · enable_thinking: off" in heading
        await pilot.press("escape")

        # The option stays with the session; a template without it ignores it, and back it applies again.
        await _pick_template(pilot, "chatml")
        await wait_for(pilot, lambda: _option_names(app) == [])
        await _pick_template(pilot, "qwen3.5")
        await wait_for(pilot, lambda: _option_names(app) == ["enable_thinking"])
        assert _field(app, "enable_thinking").value == "off"
        _field(app, "enable_thinking").value = ""
        await wait_for(pilot, lambda: session.template_options == {})
        assert app.store.get_session(session.id).template_options == {}


async def test_choice_and_date_options_apply_only_valid_values(
    llama_server: LlamaServer, make_app: Callable[..., Any]
) -> None:
    app = make_app(llama_server.url, default_template="gpt-oss")
    async with app.run_test(size=(140, 45)) as pilot:
        await _open_settings(pilot)
        await wait_for(pilot, lambda: _option_names(app) == ["reasoning_effort", "today"])
        effort, today = _field(app, "reasoning_effort"), _field(app, "today")
        assert [str(label) for label, _ in effort._options] == ["default (medium)", "low", "medium", "high"]
        effort.value = "high"
        session = app.main.session
        await wait_for(pilot, lambda: session.template_options == {"reasoning_effort": "high"})

        assert isinstance(today, Input)
        today.focus()
        await pilot.press(*"2025-13-01", "enter")
        await pilot.pause()
        error = today.parent.parent.query_one(".option-error", Static)
        assert error.has_class("-shown") and "not applied: still today" in _text(error)
        assert "today" not in session.template_options
        today.value = ""
        await pilot.press(*"2025-01-31", "enter")
        await wait_for(pilot, lambda: session.template_options.get("today") == "2025-01-31")
        assert not error.has_class("-shown")

        preview = await _preview(pilot)
        assert preview.prompt is not None
        assert "Current date: 2025-01-31\n" in preview.prompt and "Reasoning: high\n" in preview.prompt
        assert "gpt-oss · reasoning_effort: high, today: 2025-01-31" in _text(preview.query(".heading").first(Static))


def _status_template(app: Any) -> Static:
    return app.main.query_one("#status-template", Static)


async def test_the_model_template_renders_like_a_family_and_takes_thinking_on_off(
    official_server: Callable[..., LlamaServer], make_app: Callable[..., Any]
) -> None:
    server = official_server("Qwen3.5-4B.jinja")
    app = make_app(server.url, default_template="server")
    async with app.run_test(size=(140, 45)) as pilot:
        await _open_settings(pilot)
        await wait_for(pilot, lambda: _text(_status_template(app)) == "renders like qwen3.5")
        assert "renders like the built-in qwen3.5" in _text(app.main.query_one("#template-info", Static))
        await wait_for(pilot, lambda: _option_names(app) == ["enable_thinking"])
        thinking = _field(app, "enable_thinking")
        assert thinking.value == "" and str(thinking._options[0][0]) == "default (the template's)"
        preview = await _preview(pilot)  # rendered by llama-server: nothing sent, its default (on)
        assert preview.prompt is not None and preview.prompt.endswith("<|im_start|>assistant\n<think>\n")
        await pilot.press("escape")

        thinking.value = "off"  # sent as chat_template_kwargs
        await wait_for(pilot, lambda: app.main.session.template_options == {"enable_thinking": False})
        preview = await _preview(pilot)
        assert preview.prompt is not None and preview.prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
        assert "server · enable_thinking: off" in _text(preview.query(".heading").first(Static))


async def test_a_model_without_template_gets_the_family_its_name_suggests(
    gemma_server: LlamaServer, make_app: Callable[..., Any]
) -> None:
    """The real Gemma 3 270M has no chat template: the server would use ChatML. The new session made at
    start-up (before the model was known) moves to gemma3; alt+t does the same for another session."""
    app = make_app(gemma_server.url)  # default_template "server"
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and screen.model_template is not None)
        assert screen.model_template.kind == "fallback" and screen.model_template.suggested == "gemma3"
        status = _status_template(app)
        assert _text(status) == "⚠ no chat template: looks like gemma3" and status.has_class("-warn")
        await wait_for(pilot, lambda: screen.session.template == "gemma3")
        assert app.store.get_session(screen.session.id).template == "gemma3"
        first = screen.session.id

        # A session that chose the server's template keeps it until the user asks.
        await _open_settings(pilot)
        await _pick_template(pilot, "server")
        info = screen.query_one("#template-info", Static)
        assert "No chat template in the model" in _text(info) and "looks like gemma3" in _text(info)
        button = screen.query_one("#use-suggested")
        assert button.has_class("-shown") and "Use gemma3" in str(button.label)
        await pilot.press("alt+t")
        await wait_for(pilot, lambda: screen.session.template == "gemma3")
        assert screen.query_one("#template", Select).value == "gemma3"
        assert not button.has_class("-shown")  # nothing left to suggest

        await pilot.press("ctrl+n")  # the model is known now: a new session starts with the family
        await wait_for(pilot, lambda: screen.session.id != first)
        assert screen.session.template == "gemma3"
