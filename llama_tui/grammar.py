"""GBNF grammars: a check that finds what llama-server's grammar parser would refuse, with the line
and column, and a few built-in examples.

llama-server answers a grammar it cannot parse with "Failed to initialize samplers: failed to parse
grammar" and writes the reason only to its own log. `check_grammar` is a port of the parser in
llama.cpp's `src/llama-grammar.cpp` (llama-cpp-python 0.3.36): the same syntax, the same checks
after parsing (every rule defined, a `root`, no left recursion), so that the pane can say what is
wrong and where. Only `<token>` references are left to the server (they need the vocabulary). The
server stays the judge (the pane also asks it); tests/integration/test_grammar_server.py holds the
two to the same verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

MAX_REPETITION_THRESHOLD = 2000  # llama-grammar.cpp's limit on rules made by repetition

# Built-in examples for the grammar editor: name -> GBNF.
EXAMPLES: dict[str, str] = {
    "yes / no": 'root ::= "yes" | "no"\n',
    "list": ('# A bulleted list of one to five items\nroot ::= item{1,5}\nitem ::= "- " [^\\r\\n]{1,60} "\\n"\n'),
    "json": (
        "# Any JSON object (from llama.cpp's grammars/json.gbnf)\n"
        "root   ::= object\n"
        'value  ::= object | array | string | number | ("true" | "false" | "null") ws\n'
        'object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws\n'
        'array  ::= "[" ws ( value ("," ws value)* )? "]" ws\n'
        'string ::= "\\"" ( [^"\\\\\\x7F\\x00-\\x1F] | "\\\\" (["\\\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\\"" ws\n'
        'number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n'
        'ws     ::= | " " | "\\n" [ \\t]{0,20}\n'
    ),
}

# Built-in JSON schema examples for the schema editor: name -> JSON text.
SCHEMA_EXAMPLES: dict[str, str] = {
    "answer + confidence": (
        '{\n  "type": "object",\n  "properties": {\n    "answer": {"type": "string", "maxLength": 200},\n'
        '    "confidence": {"type": "integer", "minimum": 0, "maximum": 100}\n  },\n'
        '  "required": ["answer", "confidence"],\n  "additionalProperties": false\n}\n'
    ),
    "list of strings": (
        '{\n  "type": "array",\n  "items": {"type": "string", "maxLength": 80},\n  "minItems": 1,\n'
        '  "maxItems": 10\n}\n'
    ),
    "any JSON object": '{"type": "object"}\n',
}


class GrammarError(ValueError):
    """What the grammar parser refuses, and where ("line 2, column 9: ...")."""


_END, _ALT, _REF, _CHAR = "end", "alt", "ref", "char"  # element kinds (chars, ranges and tokens are all "char")


def _word(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c == "-"


@dataclass
class _Parser:
    src: str
    symbols: dict[str, int] = field(default_factory=dict)
    rules: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    first_use: dict[int, int] = field(default_factory=dict)  # symbol -> where it was first named

    def at(self, i: int) -> str:
        return self.src[i] if i < len(self.src) else ""

    def fail(self, message: str, i: int) -> GrammarError:
        line = self.src.count("\n", 0, i) + 1
        column = i - (self.src.rfind("\n", 0, i) + 1) + 1
        return GrammarError(f"line {line}, column {column}: {message}")

    def symbol(self, name: str, i: int) -> int:
        if name not in self.symbols:
            self.symbols[name] = len(self.symbols)
            self.first_use[self.symbols[name]] = i
        return self.symbols[name]

    def generated(self, base: str) -> int:
        ident = len(self.symbols)
        self.symbols[f"{base}_{ident}"] = ident
        return ident

    def space(self, i: int, newline_ok: bool) -> int:
        while (c := self.at(i)) and (c in " \t#" or (newline_ok and c in "\r\n")):
            if c == "#":
                while self.at(i) and self.at(i) not in "\r\n":
                    i += 1
            else:
                i += 1
        return i

    def name(self, i: int) -> int:
        start = i
        while self.at(i) and _word(self.at(i)):
            i += 1
        if i == start:
            raise self.fail("expecting a rule name", start)
        return i

    def integer(self, i: int) -> int:
        start = i
        while self.at(i).isascii() and self.at(i).isdigit():
            i += 1
        if i == start:
            raise self.fail("expecting an integer", start)
        return i

    def char(self, i: int) -> int:
        c = self.at(i)
        if c == "\\":
            esc = self.at(i + 1)
            size = {"x": 2, "u": 4, "U": 8}.get(esc)
            if size is not None:
                digits = self.src[i + 2 : i + 2 + size]
                if len(digits) != size or any(d not in "0123456789abcdefABCDEF" for d in digits):
                    raise self.fail(f"expecting {size} hex digits after \\{esc}", i)
                return i + 2 + size
            if esc in ("t", "r", "n", "\\", '"', "[", "]", "-"):
                return i + 2
            raise self.fail(f"unknown escape \\{esc}" if esc else "unexpected end of input", i)
        if c:
            return i + 1
        raise self.fail("unexpected end of input", i)

    def token(self, i: int) -> int:
        # <[123]> is a token id; <text> must be one token of the model's vocabulary (the server checks).
        j = i + 1
        if self.at(j) == "[":
            j = self.integer(j + 1)
            if self.at(j) != "]" or self.at(j + 1) != ">":
                raise self.fail("expecting ]> after a token id", j)
            return j + 2
        while self.at(j) and self.at(j) != ">":
            j += 1
        if self.at(j) != ">":
            raise self.fail("expecting '>' to close the token", j)
        return j + 1

    def alternates(self, i: int, rule_name: str, rule_id: int, nested: bool) -> int:
        rule: list[tuple[str, int]] = []
        i = self.sequence(i, rule_name, rule, nested)
        while self.at(i) == "|":
            rule.append((_ALT, 0))
            i = self.space(i + 1, True)
            i = self.sequence(i, rule_name, rule, nested)
        rule.append((_END, 0))
        self.rules[rule_id] = rule
        return i

    def sequence(self, i: int, rule_name: str, rule: list[tuple[str, int]], nested: bool) -> int:
        last_start = len(rule)
        n_prev = 1

        def repeat(at: int, low: int, high: int | None) -> None:
            nonlocal n_prev
            if last_start == len(rule):
                raise self.fail("expecting an item before */+/?/{", at)
            total = high if high else (low or 1)
            if n_prev * total > MAX_REPETITION_THRESHOLD:
                raise self.fail("too many repetitions (the server's limit is 2000 rules)", at)
            item = rule[last_start:]
            del rule[last_start:]
            rule.extend(item * low)
            optional = 1 if high is None else high - low
            last = 0
            for k in range(optional):
                ident = self.generated(rule_name)
                body = list(item)
                if k > 0 or high is None:
                    body.append((_REF, ident if high is None else last))
                self.rules[ident] = [*body, (_ALT, 0), (_END, 0)]
                last = ident
            if optional > 0:
                rule.append((_REF, last))
            n_prev *= total

        while c := self.at(i):
            if c == '"':
                i += 1
                last_start, n_prev = len(rule), 1
                while self.at(i) != '"':
                    if not self.at(i):
                        raise self.fail("unexpected end of input (a string is not closed)", i)
                    i = self.char(i)
                    rule.append((_CHAR, 0))
                i = self.space(i + 1, nested)
            elif c == "[":
                i += 1
                if self.at(i) == "^":
                    i += 1
                last_start, n_prev = len(rule), 1
                while self.at(i) != "]":
                    if not self.at(i):
                        raise self.fail("unexpected end of input (a [character class] is not closed)", i)
                    i = self.char(i)
                    rule.append((_CHAR, 0))
                    if self.at(i) == "-" and self.at(i + 1) != "]":
                        if not self.at(i + 1):
                            raise self.fail("unexpected end of input", i + 1)
                        i = self.char(i + 1)
                i = self.space(i + 1, nested)
            elif c in "<!":
                start = i + 1 if c == "!" else i
                if self.at(start) != "<":
                    raise self.fail("expecting '<' after '!'", start)
                i = self.token(start)
                last_start, n_prev = len(rule), 1
                rule.append((_CHAR, 0))
                i = self.space(i, nested)
            elif _word(c):
                end = self.name(i)
                ref = self.symbol(self.src[i:end], i)
                i = self.space(end, nested)
                last_start, n_prev = len(rule), 1
                rule.append((_REF, ref))
            elif c == "(":
                i = self.space(i + 1, True)
                before = len(self.symbols)
                sub = self.generated(rule_name)
                i = self.alternates(i, rule_name, sub, True)
                n_prev = max(1, len(self.symbols) - before)
                last_start = len(rule)
                rule.append((_REF, sub))
                if self.at(i) != ")":
                    raise self.fail("expecting ')'", i)
                i = self.space(i + 1, nested)
            elif c == ".":
                last_start, n_prev = len(rule), 1
                rule.append((_CHAR, 0))
                i = self.space(i + 1, nested)
            elif c in "*+?":
                at = i
                i = self.space(i + 1, nested)
                repeat(at, 1 if c == "+" else 0, 1 if c == "?" else None)
            elif c == "{":
                i = self.repetition(i, repeat, nested)
            else:
                break
        return i

    def repetition(self, i: int, repeat: Callable[[int, int, int | None], None], nested: bool) -> int:
        at = i
        i = self.space(i + 1, nested)
        end = self.integer(i)
        low, high = int(self.src[i:end]), None
        i = self.space(end, nested)
        if self.at(i) == "}":
            high = low
        elif self.at(i) == ",":
            i = self.space(i + 1, nested)
            if self.at(i).isascii() and self.at(i).isdigit():
                end = self.integer(i)
                high = int(self.src[i:end])
                i = self.space(end, nested)
            if self.at(i) != "}":
                raise self.fail("expecting '}'", i)
        else:
            raise self.fail("expecting ',' or '}'", i)
        i = self.space(i + 1, nested)
        if low > MAX_REPETITION_THRESHOLD:
            raise self.fail("too many repetitions (the server's limit is 2000)", at)
        if high is not None and high > MAX_REPETITION_THRESHOLD:
            high = None  # as the server does: no upper limit
        if high is not None and high < low:
            # The server's unsigned arithmetic would loop almost forever here: refuse it.
            raise self.fail(f"{{{low},{high}}}: the maximum is below the minimum", at)
        repeat(at, low, high)
        return i

    def rule(self, i: int) -> int:
        end = self.name(i)
        name = self.src[i:end]
        ident = self.symbol(name, i)
        j = self.space(end, False)
        if self.src[j : j + 3] != "::=":
            raise self.fail(f"expecting ::= after {name}", j)
        j = self.space(j + 3, True)
        j = self.alternates(j, name, ident, False)
        if self.at(j) == "\r":
            j += 2 if self.at(j + 1) == "\n" else 1
        elif self.at(j) == "\n":
            j += 1
        elif self.at(j):
            raise self.fail(f"unexpected {self.at(j)!r} (expecting a new line or the end)", j)
        return self.space(j, True)


def check_grammar(text: str) -> None:
    """Raise GrammarError (with line and column) where llama-server's parser would refuse `text`."""
    if "\x00" in text:
        raise GrammarError("the grammar contains a NUL character (the server would read only the text before it)")
    parser = _Parser(text)
    i = parser.space(0, True)
    while parser.at(i):
        i = parser.rule(i)
    names = {ident: name for name, ident in parser.symbols.items()}
    for ident in sorted(parser.symbols.values()):
        if ident not in parser.rules:
            raise parser.fail(f"rule {names[ident]!r} is used but never defined", parser.first_use.get(ident, 0))
    if not parser.rules:
        raise GrammarError('the grammar is empty (it needs a root rule, e.g. root ::= "yes" | "no")')
    if "root" not in parser.symbols:
        raise GrammarError("the grammar has no root rule (the output must match `root`)")
    _check_left_recursion(parser, names)


def _check_left_recursion(parser: _Parser, names: dict[int, str]) -> None:
    """A rule that can reach itself before reading a character loops forever; the server refuses it."""
    rules = parser.rules
    visited: set[int] = set()
    in_progress: set[int] = set()
    may_be_empty: set[int] = set()

    def detect(index: int) -> bool:
        if index in in_progress:
            return True
        in_progress.add(index)
        rule = rules[index]
        at_start = True
        for kind, _ in rule:
            if kind in (_END, _ALT):
                if at_start:
                    may_be_empty.add(index)
                    break
                at_start = True
            else:
                at_start = False
        recurse = True
        for kind, value in rule:
            if kind == _REF and recurse:
                if detect(value):
                    return True
                if value not in may_be_empty:
                    recurse = False
            elif kind in (_END, _ALT):
                recurse = True
            else:
                recurse = False
        in_progress.discard(index)
        visited.add(index)
        return False

    for index in sorted(rules):
        if index not in visited and detect(index):
            # Generated helper rules are named after the rule they came from ("item_3").
            name = names.get(index, "?").rsplit("_", 1)[0] if index not in parser.first_use else names[index]
            raise GrammarError(f"rule {name!r} is left-recursive (it can reach itself before reading anything)")
