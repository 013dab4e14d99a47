"""SettingsPane: live edits post messages, invalid values are shown inline and never posted."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Input, Select, Static, TextArea

from llama_tui.domain import SamplingSettings
from llama_tui.widgets.settings_pane import SettingsPane
from tests.harness.app import wait_for

DEFAULTS: dict[str, Any] = {
    "temperature": 0.800000011920929,
    "top_k": 40,
    "samplers": ["top_k", "top_p", "min_p", "temperature"],
    "stop": [],
    "seed": 4294967295,
}


class PaneApp(App[None]):
    def __init__(self, *, fill: bool = True) -> None:
        super().__init__()
        self.posted: list[Message] = []
        self.fill = fill

    def compose(self) -> ComposeResult:
        yield SettingsPane(id="settings")

    async def on_mount(self) -> None:
        await self.query_one(SettingsPane).build()
        if self.fill:
            self.query_one(SettingsPane).set_values(
                template="chatml",
                template_names=["server", "chatml", "llama3"],
                system_prompt="Be brief.",
                settings=SamplingSettings({"top_k": 20}),
                server_defaults=DEFAULTS,
            )
            self.query_one(SettingsPane).set_presets(["precise", "creative"])

    @on(SettingsPane.SettingChanged)
    @on(SettingsPane.TemplateChanged)
    @on(SettingsPane.SystemPromptChanged)
    @on(SettingsPane.PresetApplied)
    @on(SettingsPane.ResetAll)
    @on(SettingsPane.SavePresetRequested)
    def collect(self, message: Message) -> None:
        self.posted.append(message)

    def changes(self) -> list[tuple[str, Any]]:
        return [(m.name, m.value) for m in self.posted if isinstance(m, SettingsPane.SettingChanged)]


def _error_text(app: App[Any], name: str) -> str:
    error = app.query_one(f"#row-{name}").query_one(".error", Static)
    return str(error.visual) if error.has_class("-shown") else ""


async def test_set_values_fills_without_posting() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.posted == []
        assert app.query_one("#template", Select).value == "chatml"
        assert app.query_one("#system-prompt", TextArea).text == "Be brief."
        top_k = app.query_one("#knob-top_k", Input)
        assert top_k.value == "20"
        assert app.query_one("#row-top_k").has_class("-changed")
        assert str(app.query_one("#row-top_k").query_one(".marker", Static).visual) == "●"
        assert not app.query_one("#row-temperature").has_class("-changed")


async def test_placeholders_show_server_defaults() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.query_one("#knob-temperature", Input).placeholder == "0.8 (server)"
        assert app.query_one("#knob-top_k", Input).placeholder == "40 (server)"
        assert app.query_one("#knob-samplers", Input).placeholder == "top_k, top_p, min_p, temperature (server)"
        assert app.query_one("#knob-stop", Input).placeholder == "none (server)"
        assert app.query_one("#knob-seed", Input).placeholder == "4294967295 (server)"
        assert app.query_one("#knob-top_p", Input).placeholder == "server default"  # not reported


async def test_invalid_text_shows_error_and_posts_nothing() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#knob-temperature", Input).focus()
        await pilot.press("a", "b", "c")
        await pilot.pause()
        assert app.changes() == []
        assert "temperature must be a number" in _error_text(app, "temperature")
        assert app.query_one("#knob-temperature", Input).has_class("-invalid")
        assert not app.query_one("#row-temperature").has_class("-changed")
        await pilot.press("enter")  # submitting does not sneak it through either
        await pilot.pause()
        assert app.changes() == []


async def test_valid_value_posts_and_marks_changed() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#knob-temperature", Input).focus()
        await pilot.press("0", ".", "5")
        await pilot.pause()
        assert app.changes() == []  # applied on Enter or leaving the field, whole (#13.8)
        await pilot.press("enter")
        await pilot.pause()
        assert app.changes()[-1] == ("temperature", 0.5)
        assert app.query_one("#row-temperature").has_class("-changed")
        assert _error_text(app, "temperature") == ""
        assert not app.query_one("#knob-temperature", Input).has_class("-invalid")
        count = len(app.changes())
        await pilot.press("0", "enter")  # "0.50": same value, nothing new to post
        await pilot.pause()
        assert len(app.changes()) == count


async def test_out_of_range_is_refused() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#knob-temperature", Input).focus()
        await pilot.press("1", "1")
        await pilot.pause()
        assert ("temperature", 11.0) not in app.changes()
        assert "at most 10" in _error_text(app, "temperature")
        assert app.query_one("#knob-temperature", Input).has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause()
        assert app.changes() == []
        assert "not applied: still the server default" in _error_text(app, "temperature")
        await pilot.press("backspace")  # back to a valid "1": the error goes away
        await pilot.pause()
        assert _error_text(app, "temperature") == ""
        await pilot.press("enter")
        await pilot.pause()
        assert app.changes()[-1] == ("temperature", 1.0)


async def test_ctrl_r_resets_focused_knob() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#knob-top_k", Input).focus()
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.changes() == [("top_k", None)]
        assert app.query_one("#knob-top_k", Input).value == ""
        assert not app.query_one("#row-top_k").has_class("-changed")


async def test_clearing_a_knob_resets_it() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#knob-top_k", Input).focus()
        await pilot.press("end", "backspace", "backspace")
        await pilot.pause()
        assert app.changes() == []  # "2" on the way to "" is not applied
        await pilot.press("enter")
        await pilot.pause()
        assert app.changes() == [("top_k", None)]


async def test_the_valid_start_of_an_invalid_value_is_never_applied() -> None:
    """#13.8: typing 1.5 in top_p showed the error but 1.0 was in effect (and saved into presets);
    150 in mirostat_eta applied 1."""
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#knob-top_p", Input).focus()
        await pilot.press(*"1.5")
        app.query_one("#knob-mirostat_eta", Input).focus()  # leaving the field applies... if valid
        await pilot.press(*"150", "tab")
        await pilot.pause()
        assert app.changes() == []
        assert "not applied: still the server default" in _error_text(app, "top_p")
        assert "at most 1" in _error_text(app, "mirostat_eta")
        app.query_one("#knob-top_k", Input).focus()
        await pilot.press("end", "backspace", "enter")  # "20" -> "2"
        await pilot.press(*"x", "tab")
        await pilot.pause()
        assert app.changes() == [("top_k", 2)]
        assert "not applied: still 2" in _error_text(app, "top_k")


async def test_stop_strings_hold_commas_and_new_lines_and_samplers_are_checked() -> None:
    """#13.9: a stop string could not hold a comma or a new line; `samplers = foo, bar` was
    accepted (the server then used no samplers at all)."""
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        stop = app.query_one("#knob-stop", Input)
        stop.focus()
        await pilot.press(*'"\\n\\nUser:", "a, b", END', "enter")
        await pilot.pause()
        assert app.changes() == [("stop", ["\n\nUser:", "a, b", "END"])]
        samplers = app.query_one("#knob-samplers", Input)
        samplers.focus()
        await pilot.press(*"top_k, foo", "enter")
        await pilot.pause()
        assert len(app.changes()) == 1
        assert "unknown sampler 'foo'" in _error_text(app, "samplers")
        app.query_one(SettingsPane).set_values(
            template="chatml",
            template_names=["chatml"],
            system_prompt="",
            settings=SamplingSettings({"stop": ["\n\nUser:", "a, b", "END"]}),
            server_defaults=DEFAULTS,
        )
        await pilot.pause()
        assert stop.value == '"\\n\\nUser:", "a, b", END'  # shown so that it reads back the same


async def test_template_select_posts_template_changed() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.query_one("#template", Select).value = "llama3"
        await pilot.pause()
        assert [m.name for m in app.posted if isinstance(m, SettingsPane.TemplateChanged)] == ["llama3"]


async def test_template_select_by_keyboard() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#template", Select).focus()
        await pilot.press("enter", "down", "enter")  # chatml -> llama3
        await pilot.pause()
        assert [m.name for m in app.posted if isinstance(m, SettingsPane.TemplateChanged)] == ["llama3"]


async def test_system_prompt_edit_posts() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        area = app.query_one("#system-prompt", TextArea)
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.press("!")
        await pilot.pause()
        texts = [m.text for m in app.posted if isinstance(m, SettingsPane.SystemPromptChanged)]
        assert texts == ["Be brief.!"]


async def test_presets_and_buttons() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        preset = app.query_one("#preset", Select)
        preset.value = "creative"
        await pilot.pause()
        assert [m.name for m in app.posted if isinstance(m, SettingsPane.PresetApplied)] == ["creative"]
        assert preset.is_blank()  # ready to apply the same preset again
        app.query_one("#save-preset").press()
        app.query_one("#reset-all").press()
        await pilot.pause()
        kinds = [type(m) for m in app.posted]
        assert SettingsPane.SavePresetRequested in kinds
        assert SettingsPane.ResetAll in kinds


async def test_set_values_again_replaces_everything_silently() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#knob-temperature", Input).focus()
        await pilot.press("x")  # leave an error showing
        await pilot.pause()
        app.query_one(SettingsPane).set_values(
            template="llama3",
            template_names=["server", "chatml", "llama3"],
            system_prompt="",
            settings=SamplingSettings({"temperature": 0.2}),
            server_defaults={},
        )
        await pilot.pause()
        assert app.posted == []
        assert app.query_one("#knob-temperature", Input).value == "0.2"
        assert _error_text(app, "temperature") == ""
        assert not app.query_one("#knob-temperature", Input).has_class("-invalid")
        assert app.query_one("#knob-top_k", Input).value == ""
        assert app.query_one("#template", Select).value == "llama3"
        assert app.query_one("#system-prompt", TextArea).text == ""


async def test_set_values_before_mount() -> None:
    pane = SettingsPane()
    pane.set_values(
        template="custom",
        template_names=["server"],
        system_prompt="sys",
        settings=SamplingSettings({"seed": 7}),
        server_defaults={},
    )
    pane.set_presets(["a"])

    class EarlyApp(PaneApp):
        def compose(self) -> ComposeResult:
            yield pane

    app = EarlyApp(fill=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.posted == []
        assert pane.built  # by PaneApp.on_mount, after set_values: the values fill in when built
        assert app.query_one("#template", Select).value == "custom"  # kept even if not listed
        assert app.query_one("#knob-seed", Input).value == "7"
        assert app.query_one("#system-prompt", TextArea).text == "sys"


async def test_pane_is_built_only_when_first_shown(make_app, llama_server) -> None:
    """Most start-ups never open the pane: its ~150 widgets are made on the first ctrl+t."""
    app = make_app(llama_server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.props is not None)
        pane = app.main.query_one(SettingsPane)
        assert not pane.built and not pane.children
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert pane.built and pane.display
        assert pane.query_one("#knob-temperature", Input).placeholder.endswith("(server)")
