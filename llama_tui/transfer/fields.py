"""Reading untrusted JSON for import: typed field reads whose errors name the place in the file."""

from __future__ import annotations

import math
from typing import Any


class ImportFormatError(ValueError):
    """The data is not something we can import; the message says where and what, in plain words."""


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
