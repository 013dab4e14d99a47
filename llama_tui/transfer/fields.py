"""Reading untrusted JSON for import: typed field reads whose errors name the place in the file."""

from __future__ import annotations

import math
from typing import Any


class ImportFormatError(ValueError):
    """The data is not something we can import; the message says where and what, in plain words."""


# A real export nests about 9 levels (bundle, sessions, messages, probs, top_probs); anything far
# deeper is not one, and would exhaust Python's recursion on the way in or out.
MAX_DEPTH = 64
# SQLite stores integers in 64 bits; every count or id beyond that is not real.
INT_LIMIT = 2**63


def check_values(data: Any) -> None:
    """Refuse, before anything is written, a file that holds a number that cannot be stored and
    shown (NaN, Infinity, an integer beyond 2**63) or nesting deeper than MAX_DEPTH, naming the
    first such place. Iterative: a deeply nested file cannot exhaust the stack here."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ImportFormatError(f"{where or 'the file'}: expected a finite number, found {value!r}")
            continue
        if isinstance(value, int):
            if not -INT_LIMIT < value < INT_LIMIT:
                raise ImportFormatError(f"{where or 'the file'}: the number {_short_int(value)} is too large to store")
            continue
        if depth >= MAX_DEPTH and isinstance(value, dict | list):
            raise ImportFormatError(f"{place(where)}nested more than {MAX_DEPTH} levels deep; not an export")
        if isinstance(value, dict):
            stack.extend((v, at(where, str(k)[:40]), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))


def _short_int(value: int) -> str:
    digits = str(abs(value)) if value.bit_length() < 4000 else ""
    if digits and len(digits) <= 24:
        return str(value)
    return f"of about {int(value.bit_length() * 0.30103)} digits"


def clean_text(text: str) -> str:
    """Lone surrogates (legal in JSON escapes, not in UTF-8) become U+FFFD so SQLite can store them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    return value


def at(where: str, key: str) -> str:
    """A place in the file: "sessions[0].messages[2].role", or just "version" at the top."""
    return f"{where}.{key}" if where else key


def place(where: str) -> str:
    return f"{where}: " if where else ""


class Fields:
    """Typed reads from one JSON object, with errors that name the field's place in the file."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ImportFormatError(f"{place(where)}expected an object, found {kind_of(data)}")
        self.data: dict[str, Any] = data
        self.where = where

    def error(self, key: str, expected: str) -> ImportFormatError:
        return ImportFormatError(f"{at(self.where, key)}: expected {expected}, found {kind_of(self.data[key])}")

    def required_string(self, key: str) -> str:
        if key not in self.data:
            raise ImportFormatError(f"{place(self.where)}the field {key!r} is missing")
        value = self.data[key]
        if not isinstance(value, str):
            raise self.error(key, "a string")
        return clean_text(value)

    def string(self, key: str, default: str) -> str:
        return default if self.data.get(key) is None else self.required_string(key)

    def opt_string(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.required_string(key)

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(key, "a finite number")
        return float(value)

    def opt_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key, 0.0)

    def opt_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "a whole number or null")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, "true or false")
        return value

    def opt_object(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, "an object or null")
        result: dict[str, Any] = clean_json(value)
        return result

    def opt_list(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.error(key, "a list or null")
        result: list[Any] = clean_json(value)
        return result


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
