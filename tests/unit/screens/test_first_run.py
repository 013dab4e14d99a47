"""What the first-run screen accepts as a server address (screens/first_run.py)."""

from __future__ import annotations

import pytest

from llama_tui.screens.first_run import normalise_url


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  https://gpu-box:8443/ ", "https://gpu-box:8443"),
        ("localhost:9931", "http://localhost:9931"),
        ("", None),
        ("   ", None),
        ("ftp://host", None),
        ("http://", None),
        ("http://a b", None),
    ],
)
def test_addresses(typed: str, url: str | None) -> None:
    assert normalise_url(typed) == url


def test_a_port_that_is_no_number_is_refused() -> None:
    assert normalise_url("localhost:80x") is None
