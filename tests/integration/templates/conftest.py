"""Prints the template verification report (tests/harness/official.py) at the end of the run."""

from __future__ import annotations

import pytest

from tests.harness.official import REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    write = terminalreporter.write_line
    terminalreporter.section("template verification: rendered by llama-server vs llama-tui")
    write(f"{'family':16} {'official file':52} {'options':34} matched")
    for row in REPORT:
        write(f"{row.family:16} {row.file:52} {row.options:34} {row.matched}/{row.total}  {row.note}")
