"""What llama-server prints while it starts: loading progress and the first error line. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

LOG_PREFIX = re.compile(r"^\d+\.\d+\.\d+\.\d+ [A-Z] ")  # "0.00.005.425 E " (llama.cpp log timestamps)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")
_DOTS = re.compile(r"^\.+$")


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """What the server said about its start-up: a phase ("starting", "loading model",
    "initializing slots", "warming up", "model loaded", "listening", "ready") and, when the log shows
    one (llama.cpp's dot-per-percent bar, or a download's percentage), the fraction done."""

    phase: str
    fraction: float | None = None

    def __str__(self) -> str:
        return self.phase if self.fraction is None else f"{self.phase} {self.fraction:.0%}"


STARTING = LoadProgress("starting")
READY = LoadProgress("ready")

# (substring of a log line, phase it starts); the first match wins.
_PHASES = (
    ("couldn't bind", "port in use"),
    ("loading model", "loading model"),
    ("load_tensors", "loading model"),
    ("initializing, n_slots", "initializing slots"),
    ("warming up", "warming up"),
    ("model loaded", "model loaded"),
    ("listening on", "listening"),
)


def progress_from_line(line: str, current: LoadProgress = STARTING) -> LoadProgress:
    """The start-up progress after the server printed `line` (pure; `current` if nothing new).

    llama.cpp's default model-loading callback prints one "." per percent on a line of its own (at
    some verbosities); downloads (`-hf`) print percentages. Both become `fraction`."""
    text = LOG_PREFIX.sub("", line.strip())
    if not text:
        return current
    if _DOTS.match(text):
        return LoadProgress(current.phase if current is not STARTING else "loading model", min(len(text), 100) / 100)
    for needle, phase in _PHASES:
        if needle in text:
            return LoadProgress(phase, None)
    match = _PERCENT.search(text)
    if match:
        value = float(match.group(1))
        if 0.0 <= value <= 100.0:
            return LoadProgress(current.phase, value / 100)
    return current


def error_summary(lines: Sequence[str]) -> str:
    """The first error line llama-server printed (without its timestamp), or ""."""
    for line in lines:
        if re.match(r"^\d+\.\d+\.\d+\.\d+ E ", line) or line.startswith("error:"):
            return LOG_PREFIX.sub("", line).strip()
    return ""
