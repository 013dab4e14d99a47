"""Shared test set-up. Keep the isolation fixture first: no test may touch the user's real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.app import AppFactory


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every llama-tui location at this test's tmp_path and drop a real API key.
    XDG_CACHE_HOME is left alone: it holds the built llama-server the integration tests use."""
    home = tmp_path / "user"
    monkeypatch.setenv("LLAMA_TUI_DATA_DIR", str(home / "data" / "llama-tui"))
    monkeypatch.setenv("LLAMA_TUI_CONFIG", str(home / "config" / "llama-tui" / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("LLAMA_TUI_CACHE_DIR", str(home / "cache" / "llama-tui"))
    monkeypatch.delenv("LLAMA_API_KEY", raising=False)
    # No test looks for llama-server on this machine's real ports 8080/9931 (chat/discovery.py),
    # nor uses a demo cache it did not make.
    monkeypatch.setenv("LLAMA_TUI_PROBE", "http://127.0.0.1:1")
    monkeypatch.setenv("LLAMA_TUI_DEMO_CACHE", str(home / "cache" / "demo"))


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Build the whole app the way the CLI does, store and config under tmp_path (tests/harness/app.py)."""
    factory = AppFactory(tmp_path)
    yield factory
    factory.close()


# The real llama-server fixtures (tests/harness/fixtures.py), for integration, TUI and fault tests.
pytest_plugins = ["tests.harness.fixtures"]

SERVER_FIXTURES = (
    "llama_server",
    "llama_server_metrics",
    "llama_server_auth",
    "llama3_server",
    "big_context_server",
    "fresh_llama_server",
    "llama_server_bin",
    "gemma_model",
    "gemma_server",
    "official_server",
    "reasoning_server",
    "real_vocab_server",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in SERVER_FIXTURES):
            item.add_marker(pytest.mark.integration)


_skipped_integration: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "integration" in report.keywords:
        _skipped_integration.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (scripts/test sets LLAMA_TUI_REQUIRE_SERVER) a skipped real-server test fails the run."""
    import os

    if _skipped_integration and os.environ.get("LLAMA_TUI_REQUIRE_SERVER"):
        print(f"\n{len(_skipped_integration)} real-server tests were skipped; they must run:")
        for nodeid in _skipped_integration:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
