"""The settings pane's knobs (issue 15), headless and without a server: every group, the filter,
inline validation of each kind, the server's defaults and what it reports beyond our knobs, what
differs from the defaults, the grammar editor's own check, and the LoRA adapters section."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.widgets import Input, Static, TextArea

from llama_tui.domain import SamplingSettings
from llama_tui.knobs import GROUPS, KNOBS
from llama_tui.widgets.constraint_editors import ConstraintEditor
from llama_tui.widgets.knob_fields import KnobGroup, PaneEdit
from llama_tui.widgets.lora_editor import NO_ADAPTERS, LoraEditor
from llama_tui.widgets.settings_pane import SettingsPane
from tests.harness.app import wait_for

DEFAULTS: dict[str, Any] = {
    "temperature": 0.800000011920929,
    "dynatemp_range": 0.0,
    "top_n_sigma": -1.0,
    "ignore_eos": False,
    "n_keep": 0,
    "chat_format": "Content-only",
    "speculative.types": "none",
    "stream": False,
}


class PaneApp(App[None]):
    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.posted: list[PaneEdit] = []
        self.settings = settings or {}

    def compose(self) -> ComposeResult:
        yield SettingsPane(id="settings")

    async def on_mount(self) -> None:
        pane = self.query_one(SettingsPane)
        await pane.build()
        pane.set_values(
            template="chatml",
            template_names=["chatml"],
            system_prompt="",
            settings=SamplingSettings(dict(self.settings)),
            server_defaults=DEFAULTS,
        )

    @on(PaneEdit)
    def collect(self, message: PaneEdit) -> None:
        self.posted.append(message)

    def changes(self) -> list[tuple[str, Any]]:
        return [(m.name, m.value) for m in self.posted if isinstance(m, SettingsPane.SettingChanged)]


def shown(app: App[Any], selector: str) -> bool:
    widget = app.query_one(selector)
    return all(node.display for node in (widget, *widget.ancestors_with_self) if hasattr(node, "display"))


def text_of(app: App[Any], selector: str) -> str:
    return str(app.query_one(selector, Static).visual)


async def test_every_knob_has_its_row_or_editor_in_its_group() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        assert [g.key for g in app.query(KnobGroup)] == [key for key, _ in GROUPS] + ["server-only"]
        for knob in KNOBS:
            widget = app.query_one(f"#editor-{knob.name}" if knob.editor else f"#row-{knob.name}")
            assert widget.parent is not None and widget.parent.id == f"group-{knob.group}", knob.name


async def test_the_filter_finds_a_knob_by_name() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        await pilot.press("/")  # from the pane: into the filter box
        assert app.focused is app.query_one("#knob-filter", Input)
        await pilot.press(*"rep pen")
        await pilot.pause()
        assert shown(app, "#row-repeat_penalty")
        assert not shown(app, "#row-presence_penalty") and not shown(app, "#row-temperature")
        assert not app.query_one("#group-sampling").display
        app.query_one("#knob-filter", Input).value = "dry pen"
        await pilot.pause()
        assert shown(app, "#row-dry_penalty_last_n") and not shown(app, "#row-dry_base")
        app.query_one("#knob-filter", Input).value = "dry"  # the DRY / XTC group's name: all of it
        await pilot.pause()
        assert all(shown(app, f"#row-{k.name}") for k in KNOBS if k.group == "dry_xtc")
        app.query_one("#knob-filter", Input).value = "constraints"  # a group's name shows the group
        await pilot.pause()
        assert shown(app, "#editor-grammar") and shown(app, "#editor-logit_bias")
        app.query_one("#knob-filter", Input).value = "chat_format"  # the read-only list too
        await pilot.pause()
        assert app.query_one("#group-server-only").display and not app.query_one("#group-output").display
        app.query_one("#knob-filter", Input).value = ""
        await pilot.pause()
        assert all(g.display for g in app.query(KnobGroup)) and shown(app, "#row-temperature")


async def test_new_kinds_are_validated_inline_and_posted_whole() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        field = app.query_one("#knob-repeat_last_n", Input)
        field.focus()
        await pilot.press("-", "1", "enter")
        await pilot.pause()
        assert app.changes() == []
        assert "repeat_last_n must be at least 0 (not applied: still the server default)" in text_of(
            app, "#row-repeat_last_n .error"
        )
        app.query_one("#knob-ignore_eos", Input).focus()
        await pilot.press(*"maybe", "enter")
        await pilot.pause()
        assert app.changes() == [] and "must be true or false" in text_of(app, "#row-ignore_eos .error")
        app.query_one("#knob-ignore_eos", Input).value = ""
        await pilot.press(*"true", "enter")
        await pilot.pause()
        assert app.changes() == [("ignore_eos", True)]
        assert app.query_one("#row-ignore_eos").has_class("-changed")
        assert "ignore_eos true (server false)" in text_of(app, "#differs")


async def test_defaults_from_the_server_and_what_it_reports_beyond_our_knobs() -> None:
    app = PaneApp({"temperature": 0.8, "top_k": 10})
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        assert app.query_one("#knob-dynatemp_range", Input).placeholder == "0 (server)"
        assert app.query_one("#knob-top_n_sigma", Input).placeholder == "-1 (server)"
        assert app.query_one("#knob-ignore_eos", Input).placeholder == "false (server)"
        assert app.query_one("#knob-n_discard", Input).placeholder == "server default"  # not reported
        others = text_of(app, "#server-only")
        assert "chat_format = Content-only" in others and "speculative.types = none" in others
        assert "stream = false (set by llama-tui)" in others
        assert "temperature" not in others
        differs = text_of(app, "#differs")
        assert "temperature 0.8 (= server)" in differs and "top_k 10" in differs


async def test_a_stored_value_this_server_refuses_is_flagged() -> None:
    app = PaneApp({"repeat_last_n": -1})  # an older llama-tui allowed it
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        assert "stored value not valid here: repeat_last_n must be at least 0" in text_of(
            app, "#row-repeat_last_n .error"
        )


async def test_the_grammar_editor_checks_before_it_posts() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        area = app.query_one("#text-grammar", TextArea)
        area.load_text("root ::= answer")
        area.focus()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not [m for m in app.posted if isinstance(m, ConstraintEditor.Submitted)]
        status = text_of(app, "#editor-grammar .editor-status")
        assert "line 1, column 10: rule 'answer' is used but never defined (not applied)" in status
        area.load_text('root ::= "yes" | "no"')
        await pilot.press("ctrl+s")
        await pilot.pause()
        [submitted] = [m for m in app.posted if isinstance(m, ConstraintEditor.Submitted)]
        assert (submitted.name, submitted.value) == ("grammar", 'root ::= "yes" | "no"')
        assert text_of(app, "#editor-grammar .editor-status") == "checking…"
        app.query_one(SettingsPane).note_applied("grammar", submitted.value)  # what the screen does next
        await pilot.pause()
        assert app.query_one("#editor-grammar").has_class("-changed")
        assert "grammar 1 line" in text_of(app, "#differs")


async def test_adapters_are_listed_with_their_scales_or_their_absence_said() -> None:
    app = PaneApp({"lora": [{"id": 0, "scale": 0.5}, {"id": 1, "scale": 1.0}]})
    async with app.run_test(size=(100, 50)) as pilot:
        pane = app.query_one(SettingsPane)
        await pilot.pause()
        await pane.set_adapters([(0, "/models/style.gguf", 1.0), (1, "/models/other.gguf", 1.0)])
        await pilot.pause()
        assert app.query_one("#lora-0", Input).value == "0.5"
        assert app.query_one("#lora-1", Input).value == ""  # the server's own scale: not an override
        assert app.query_one("#lora-1", Input).placeholder == "1 (server)"
        app.query_one("#lora-1", Input).value = "20"
        app.query_one("#lora-1", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "from -10 to 10" in text_of(app, "#lora-error")
        app.query_one("#lora-1", Input).value = "0"
        await pilot.press("enter")
        await pilot.pause()
        assert [(m.adapter_id, m.scale) for m in app.posted if isinstance(m, LoraEditor.ScaleChanged)] == [(1, 0.0)]
        await pane.set_adapters([])
        await pilot.pause()
        assert text_of(app, "#lora-none") == NO_ADAPTERS
        await wait_for(pilot, lambda: "no LoRA adapters" in text_of(app, "#lora-none"))
