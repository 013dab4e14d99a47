"""Where discovery looks, and when it looks at all (chat/discovery.py)."""

from __future__ import annotations

import pytest

from llama_tui.chat.discovery import DEFAULT_URLS, PROBE_ENV, Candidate, candidates, should_discover
from llama_tui.config import Config, ServerProfile, load_config


def test_default_places_are_8080_then_9931_then_named_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROBE_ENV)
    config = Config(
        servers={
            "gpu": ServerProfile(url="http://gpu-box:8080/", api_key="k1"),
            "same": ServerProfile(url="http://127.0.0.1:8080"),  # already looked at: once is enough
        }
    )
    found = candidates(config, api_key="cli-key")
    assert DEFAULT_URLS == ("http://127.0.0.1:8080", "http://127.0.0.1:9931")
    assert found == [
        Candidate("http://127.0.0.1:8080", None, "cli-key"),
        Candidate("http://127.0.0.1:9931", None, "cli-key"),
        Candidate("http://gpu-box:8080", "gpu", "k1"),
    ]
    assert found[2].label == "“gpu” (http://gpu-box:8080)"


def test_the_environment_replaces_the_loopback_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROBE_ENV, " http://127.0.0.1:5000/ , http://[::1]:6000")
    assert [c.url for c in candidates(Config())] == ["http://127.0.0.1:5000", "http://[::1]:6000"]


def test_a_named_server_key_comes_from_its_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOX_KEY", "secret")
    config = Config(servers={"box": ServerProfile(url="http://box:1", api_key_env="BOX_KEY")})
    assert candidates(config)[-1].api_key == "secret"
    assert "secret" not in repr(candidates(config)[-1])


def test_discovery_only_when_nothing_says_where_the_server_is(tmp_path) -> None:
    assert should_discover(Config(), None)
    assert not should_discover(Config(), "http://127.0.0.1:8080")  # --server, even the default URL
    path = tmp_path / "config.toml"
    path.write_text('server_url = "http://127.0.0.1:8080"\n')
    assert not should_discover(load_config(path), None)  # set in the file, even to the default
    path.write_text('theme = "nord"\n')
    assert should_discover(load_config(path), None)
