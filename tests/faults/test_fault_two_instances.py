"""Issue 14, item 1: two real app processes on one data folder, against the real llama-server.

A streams an answer into a session while B deletes that session (F8): nothing A writes goes out of
reach, A is told, and after a restart the session is in the sidebar, in search and in `export`.
Both show the same session: B sees what A wrote before it sends, and what B sends (the prompt its
client really sent) never holds A's partial answer as a finished turn.

The processes are tests/harness/app_process.py (the app as `llama-tui` builds it, headless).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.app_process import REPO_ROOT, AppProcess
from tests.harness.faults import integrity


@pytest.fixture
def apps() -> Iterator[list[AppProcess]]:
    started: list[AppProcess] = []
    yield started
    for app in started:
        app.close()


def _start(apps: list[AppProcess], url: str, data: Path, *args: str) -> AppProcess:
    app = AppProcess(url, data, *args)
    apps.append(app)
    app.call("ready")
    return app


def _listed(state: dict, title: str) -> bool:
    """Whether the sidebar shows a session titled `title` (rows end with the session's age)."""
    return any(row == title or row.startswith(title + " ") for row in state["sidebar"])


def _export(data: Path) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "llama_tui", "export", "--data-dir", str(data)],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    exported: dict = json.loads(run.stdout)
    return exported


def test_a_session_deleted_in_one_instance_while_the_other_streams_into_it_stays_reachable(
    fresh_llama_server, slow_model: Path, tmp_path: Path, apps: list[AppProcess]
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192)
    data = tmp_path / "data"
    a = _start(apps, server.url, data, "--n-predict", "2500", "--ignore-eos")
    a.call("new", title="bravo")
    b = _start(apps, server.url, data)
    assert b.call("open", title="bravo")["session"]["title"] == "bravo"

    a.call("send", text="the question of A")
    a.call("wait_streaming", chars=200)
    shown = b.call("delete")  # B: F8 on "bravo" while A's answer streams into it
    assert shown["session"]["title"] != "bravo" and not _listed(shown, "bravo")

    # A: the answer goes on to its end, the session is taken out of the trash, and A says so.
    state = a.call("wait_idle", timeout=180)
    assert any("“bravo” had been deleted in another window; it is back" in n for n in state["notes"]), state["notes"]
    assert [m[:2] for m in state["messages"]] == [["user", "complete"], ["assistant", "complete"]]
    answer = state["messages"][-1][2]
    assert _listed(state, "bravo")
    # A's next message goes into the same session (stopped early: what arrived is kept).
    a.call("send", text="the next question of A")
    a.call("wait_streaming", chars=100)
    state = a.call("press", keys=["escape"])
    state = a.call("wait_idle")
    assert [m[1] for m in state["messages"]] == ["complete", "complete", "complete", "interrupted"]
    assert state["session"]["title"] == "bravo"
    # B, asked again, lists it (nothing was lost to B's delete either).
    assert b.call("open", title="bravo")["messages"][1][2] == answer
    a.close()
    b.close()
    assert integrity(data / "sessions.sqlite3") == "ok"

    # A restarted: bravo is in the sidebar, found by search, and exported, with all four messages.
    a = _start(apps, server.url, data)
    assert _listed(a.call("state"), "bravo")
    assert "bravo" in a.call("search", query="next question")["found"]
    reopened = a.call("open", title="bravo")["messages"]
    assert [m[2] for m in reopened][:3] == ["the question of A", answer, "the next question of A"]
    a.close()
    exported = {s["title"]: s for s in _export(data)["sessions"]}
    assert "bravo" in exported
    contents = [m["content"] for m in exported["bravo"]["messages"]]
    assert contents[:3] == ["the question of A", answer, "the next question of A"] and len(contents) == 4


def test_the_same_session_in_both_never_sends_the_others_partial_answer_as_finished(
    fresh_llama_server, slow_model: Path, tmp_path: Path, apps: list[AppProcess]
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192, parallel=2)
    data = tmp_path / "data"
    a = _start(apps, server.url, data, "--n-predict", "1500", "--ignore-eos")
    a.call("new", title="charlie")
    b = _start(apps, server.url, data, "--n-predict", "8")
    assert b.call("open", title="charlie")["messages"] == []

    a.call("send", text="the question of A")
    a.call("wait_streaming", chars=200)
    # B sends while A's answer streams: nothing is sent; B shows A's turn, unfinished, and says why.
    state = b.call("send", text="the question of B")
    assert state["prompts"] == [] and state["composer"] == "the question of B"
    assert state["messages"][0][2] == "the question of A"
    assert state["messages"][1][:2] == ["assistant", "streaming"]
    assert any("still writing the last answer" in n for n in state["notes"])
    state = b.call("send")  # Enter again at once: A is still writing, still nothing sent
    assert state["prompts"] == []

    # A finishes; B's next Enter shows the finished answer first, the one after sends.
    final = a.call("wait_idle", timeout=180)["messages"][-1]
    assert final[1] == "complete"
    state = b.call("send")
    assert state["prompts"] == [] and state["messages"][1][1:] == ["complete", final[2]]
    assert any("changed in another window" in n for n in state["notes"])
    b.call("send")
    state = b.call("wait_idle")
    assert len(state["prompts"]) == 1
    prompt = state["prompts"][0]
    # The prompt B sent: A's question, A's whole answer (finished), then B's question.
    assert final[2].strip() and final[2].strip() in prompt
    assert prompt.index("the question of A") < prompt.index(final[2].strip()) < prompt.index("the question of B")
    assert [m[2] for m in state["messages"]][:3] == ["the question of A", final[2], "the question of B"]
