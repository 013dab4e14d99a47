"""`llama-tui export` / `llama-tui import` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from llama_tui.domain import ChatMessage, Session
from llama_tui.paths import store_path
from llama_tui.store import Store


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llama_tui", *args], capture_output=True, text=True, timeout=60)


def make_store(data: Path) -> int:
    with Store.open(store_path(data)) as store:
        session = store.create_session(Session(title="Llama care [bold]", system_prompt="Be kind."))
        user = store.add_message(ChatMessage(role="user", content="How to brush a llama?", session_id=session.id))
        store.add_message(
            ChatMessage(role="assistant", content="An older answer", session_id=session.id, parent_id=user.id)
        )
        store.add_message(
            ChatMessage(
                role="assistant",
                content="Gently.\n```\nbrush()\n```",
                session_id=session.id,
                parent_id=user.id,
                timings={"predicted_n": 5, "predicted_per_second": 80.0},
                stop_type="eos",
            )
        )
        assert session.id is not None
        return session.id


def test_json_export_import_round_trip_is_identical(tmp_path: Path) -> None:
    make_store(tmp_path / "a")
    exported = cli("export", "--data-dir", str(tmp_path / "a"), "-o", str(tmp_path / "one.json"))
    assert exported.returncode == 0, exported.stderr
    imported = cli("import", str(tmp_path / "one.json"), "--data-dir", str(tmp_path / "b"))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 session" in imported.stderr
    again = cli("export", "--data-dir", str(tmp_path / "b"))
    first = json.loads((tmp_path / "one.json").read_text())
    second = json.loads(again.stdout)
    first.pop("exported_at"), second.pop("exported_at")
    assert first == second
    assert len(second["sessions"][0]["messages"]) == 3  # both alternatives came along


def test_markdown_export_of_one_session(tmp_path: Path) -> None:
    make_store(tmp_path)
    result = cli("export", "--data-dir", str(tmp_path), "--format", "md", "--session", "Llama care [bold]")
    assert result.returncode == 0, result.stderr
    assert "Llama care [bold]" in result.stdout and "How to brush a llama?" in result.stdout
    assert "```\nbrush()\n```" in result.stdout


def test_markdown_needs_a_session_and_bad_files_are_refused(tmp_path: Path) -> None:
    make_store(tmp_path)
    assert cli("export", "--data-dir", str(tmp_path), "--format", "md").returncode == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cli("import", str(bad), "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "bad.json" in result.stderr and "Traceback" not in result.stderr


def test_a_web_ui_conversation_imports_with_the_configs_default_template(tmp_path: Path) -> None:
    """#13.7: imported sessions use default_template, like new ones (a llama-tui export keeps its own)."""
    webui = [{"id": "conv-1", "lastModified": 1_730_000_005_000, "messages": [
        {"id": 1730000000000, "role": "user", "content": "one"},
        {"id": 1730000000001, "role": "assistant", "content": "two"},
    ]}]  # fmt: skip
    (tmp_path / "webui.json").write_text(json.dumps(webui))
    config = tmp_path / "config.toml"
    config.write_text('default_template = "chatml"\n')
    result = cli("import", str(tmp_path / "webui.json"), "--data-dir", str(tmp_path / "d"), "--config", str(config))
    assert result.returncode == 0, result.stderr
    make_store(tmp_path / "a")  # template "server"
    cli("export", "--data-dir", str(tmp_path / "a"), "-o", str(tmp_path / "one.json"))
    result = cli("import", str(tmp_path / "one.json"), "--data-dir", str(tmp_path / "d"), "--config", str(config))
    assert result.returncode == 0, result.stderr
    with Store.open(store_path(tmp_path / "d")) as store:
        templates = {s.title: store.get_session(s.id).template for s in store.list_sessions()}
    assert templates == {"one": "chatml", "Llama care [bold]": "server"}
