"""redact_url: the form of a server address that may be shown anywhere."""

from __future__ import annotations

import pytest

from llama_tui.client.urls import origin, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://bob:pw@host:8080", "http://***@host:8080"),
        ("https://token@host/llama", "https://***@host/llama"),
        ("http://bob:p@ss@host:1/x", "http://***@host:1/x"),
        ("http://host:8080/?key=s3cret&x", "http://host:8080/?key=***&***"),
        ("http://bob:pw@host:notaport", "http://***@host:notaport"),
        ("no scheme user:pw@host", "***@host"),
    ],
)
def test_redact_url_hides_credentials_and_query_values(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_origin_fills_in_default_ports() -> None:
    assert origin("http://Host/x") == origin("http://host:80/y") != origin("https://host/")
