"""The knobs in the whole app against the real llama-server (issue 15): a grammar and a schema
applied in the settings pane constrain the answer and mark it; a grammar the server refuses is
shown in the pane and nothing is sent; the logit bias shows its tokens; presets carry everything
through a TOML file and back; LoRA scales from /lora-adapters go with each request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, Static, TextArea

from llama_tui.domain import SamplingSettings
from llama_tui.screens.main import MainScreen
from llama_tui.screens.text_prompt import TextPromptScreen
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.settings_pane import SettingsPane
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.tiny_model import make_tiny_lora

SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "pattern": "^[a-z ]{1,30}$"},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
    },
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}


class Requests:
    """Counts the /completion requests the app streams (the real call goes through)."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[dict[str, Any]] = []
        real = client.stream_completion

        def spy(prompt: Any, **params: Any) -> Any:
            self.bodies.append(params)
            return real(prompt, **params)

        client.stream_completion = spy


async def ready(pilot: Any) -> MainScreen:
    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.session is not None and screen.server_state is ServerState.OK)
    return screen


async def open_pane(pilot: Any) -> SettingsPane:
    await pilot.press("ctrl+t")
    pane = pilot.app.main.query_one(SettingsPane)
    await wait_for(pilot, lambda: pane.built and pane.display)
    return pane


def status(pilot: Any, name: str) -> str:
    return str(pilot.app.main.query_one(f"#editor-{name} .editor-status", Static).visual)


async def apply_text(pilot: Any, name: str, text: str) -> None:
    area = pilot.app.main.query_one(f"#text-{name}", TextArea)
    area.load_text(text)
    area.focus()
    await pilot.press("ctrl+s")


async def test_a_grammar_from_the_examples_constrains_and_marks_the_answer(llama_server, make_app) -> None:
    app = make_app(llama_server.url)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await ready(pilot)
        await open_pane(pilot)
        screen.query_one("#example-grammar", Select).value = "yes / no"
        await pilot.pause()
        assert screen.query_one("#text-grammar", TextArea).text == 'root ::= "yes" | "no"\n'
        assert "inserted: Apply (ctrl+s)" in status(pilot, "grammar")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: status(pilot, "grammar").startswith("Applied"))
        assert status(pilot, "grammar") == "Applied (llama-server accepts it)."
        assert screen.session.settings.get("grammar") == 'root ::= "yes" | "no"\n'
        await pilot.press("ctrl+t")
        view = await ask_and_wait(pilot, "Do you like tea?")
        assert view.message.content in ("yes", "no")
        assert view.message.meta == {"constrained": "grammar"}
        assert "⊨ grammar" in str(view.query_one(".footer", Static).visual)


async def test_a_json_schema_answer_is_checked_and_marked_valid(llama_server, make_app) -> None:
    app = make_app(llama_server.url)
    async with app.run_test(size=(120, 50)) as pilot:
        await ready(pilot)
        await open_pane(pilot)
        # ASCII-only text: the random model's stray bytes would otherwise make free strings longer
        # than their grammar allowed (the check would say so; that is another test).
        await apply_text(pilot, "json_schema", json.dumps(SCHEMA))
        await wait_for(pilot, lambda: status(pilot, "json_schema").startswith("Applied"))
        await pilot.press("ctrl+t")
        view = await ask_and_wait(pilot, "Answer in JSON.")
        value = json.loads(view.message.content)
        assert set(value) == {"answer", "confidence"}
        assert view.message.meta == {"constrained": "json_schema", "schema_ok": True}
        assert "JSON schema: valid ✓" in str(view.query_one(".footer", Static).visual)


async def test_a_grammar_the_server_refuses_is_shown_in_the_pane_and_not_applied(llama_server, make_app) -> None:
    app = make_app(llama_server.url)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await ready(pilot)
        await open_pane(pilot)
        await apply_text(pilot, "grammar", "root ::= <nosuchtoken>")  # passes the local check
        await wait_for(pilot, lambda: "refuses" in status(pilot, "grammar"))
        assert "llama-server refuses it: Failed to initialize samplers: failed to parse grammar" in status(
            pilot, "grammar"
        )
        assert "(not applied)" in status(pilot, "grammar")
        assert screen.session.settings.get("grammar") is None


async def test_a_stored_grammar_the_server_refuses_sends_nothing(llama_server, make_app) -> None:
    """A session that holds a grammar this server refuses (a preset, another server): Enter sends
    nothing, the message stays in the composer, and the pane opens on the server's message."""
    app = make_app(llama_server.url)
    requests = Requests(app.client)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await ready(pilot)
        screen.session.settings.set("grammar", "root ::= <nosuchtoken>")
        composer = screen.query_one(Composer)
        composer.insert("Is it?")
        composer.focus()
        await pilot.press("enter")
        pane = screen.query_one(SettingsPane)
        await wait_for(pilot, lambda: pane.display and "refuses" in status(pilot, "grammar"))
        assert "failed to parse grammar" in status(pilot, "grammar")
        assert requests.bodies == [] and not screen.query(MessageView)
        assert composer.text == "Is it?"
        assert any("Not sent: llama-server refuses this session's grammar" in n.message for n in app._notifications)


async def test_the_logit_bias_shows_which_tokens_get_it(llama_server, make_app) -> None:
    app = make_app(llama_server.url)
    requests = Requests(app.client)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await ready(pilot)
        await open_pane(pilot)
        await apply_text(pilot, "logit_bias", '" hello" = -inf\nworld = 2')
        await wait_for(pilot, lambda: status(pilot, "logit_bias").startswith("Applied"))
        tokens = str(screen.query_one("#bias-tokens", Static).visual)
        [hello] = await app.client.tokenize(" hello", with_pieces=True, parse_special=False)
        assert f"' hello' ban → {hello.id} ' hello'" in tokens
        assert "'world' +2 →" in tokens and "each gets the bias wherever it appears" in tokens
        assert screen.session.settings.get("logit_bias") == {" hello": False, "world": 2.0}
        await pilot.press("ctrl+t")
        await ask_and_wait(pilot, "hi")
        assert requests.bodies[-1]["logit_bias"] == [[" hello", False], ["world", 2.0]]


async def test_a_preset_with_everything_goes_to_a_file_and_back(llama_server, make_app, tmp_path: Path) -> None:
    app = make_app(llama_server.url)
    everything = {
        "temperature": 0.3,
        "ignore_eos": True,
        "grammar": 'root ::= "yes" | "no"\n',
        "json_schema": '{"type": "object"}',
        "logit_bias": {" hello": False},
        "lora": [{"id": 0, "scale": 0.5}],
        "stop": ["\n\nUser:"],
    }
    path = tmp_path / "everything.toml"
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await ready(pilot)
        screen.session.settings = SamplingSettings(dict(everything))
        await open_pane(pilot)
        await pilot.click("#export-preset")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        app.screen.query_one("#prompt-input", Input).value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, path.exists)
        screen.query_one("#reset-all").press()
        await wait_for(pilot, lambda: screen.session.settings.values == {})
        await pilot.click("#import-presets")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        app.screen.query_one("#prompt-input", Input).value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "everything" in app.config.presets)
        screen.query_one("#preset", Select).value = "everything"
        await wait_for(pilot, lambda: screen.session.settings.values == everything)
        assert "[presets.everything]" in (tmp_path / "config.toml").read_text()  # kept in the config too


async def test_lora_scales_from_the_servers_adapters_go_with_each_request(
    fresh_llama_server, tiny_models_dir, make_app
) -> None:
    server = fresh_llama_server(extra_args=["--lora", str(make_tiny_lora(tiny_models_dir))])
    app = make_app(server.url)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await ready(pilot)
        await open_pane(pilot)
        await wait_for(pilot, lambda: bool(screen.query("#lora-0")))
        field = screen.query_one("#lora-0", Input)
        assert field.placeholder == "1 (server)"
        field.value = "0.25"
        field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session.settings.get("lora") == [{"id": 0, "scale": 0.25}])
        await pilot.press("ctrl+t")
        view = await ask_and_wait(pilot, "hi")
        assert view.message.settings["lora"] == [{"id": 0, "scale": 0.25}]  # what the server says it used


async def test_a_server_without_adapters_says_so(llama_server, make_app) -> None:
    app = make_app(llama_server.url)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await ready(pilot)
        await open_pane(pilot)
        await wait_for(pilot, lambda: bool(screen.query("#lora-none")))
        assert "This server has no LoRA adapters" in str(screen.query_one("#lora-none", Static).visual)
