"""`llama-tui ask`'s sampling and output parameters: the same knobs as the settings pane, checked by
the same rules (knobs.parse_knob), so a value the pane refuses is refused here before anything is
sent (exit 2, saying why):

  --param KEY=VALUE     any knob, VALUE written as in the pane (e.g. top_k=20, stop="a, b",
                        ignore_eos=true, lora='[{"id": 0, "scale": 0.5}]'); repeatable
  --grammar-file FILE   a GBNF grammar (checked by the port of the server's parser: line, column)
  --json-schema FILE    a JSON schema (JSON, an object, valid by JSON Schema's rules)
  --logit-bias TEXT=BIAS  bias or ban (-inf) a text's tokens; repeatable; '"TEXT"=BIAS' keeps spaces
                        at its ends (a word mid-sentence is usually " word")
  -n / --temperature / --seed  as before (shorthands for --param)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..knobs import KNOBS_BY_NAME, SettingError, did_you_mean, parse_bias_item, parse_knob

FILE_LIMIT = 1024 * 1024  # a grammar or schema file is a few KB


class ParamError(ValueError):
    """A parameter given on the command line is invalid; nothing is sent."""


def add_param_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--n-predict", type=int, metavar="N", help="maximum tokens to generate")
    parser.add_argument("--temperature", type=float, metavar="T")
    parser.add_argument("--seed", type=int, metavar="S")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any /completion knob the settings pane has, written as there (repeatable): --param top_k=20",
    )
    parser.add_argument("--grammar-file", type=Path, metavar="FILE", help="constrain the answer with a GBNF grammar")
    parser.add_argument("--json-schema", type=Path, metavar="FILE", help="constrain the answer with a JSON schema")
    parser.add_argument(
        "--logit-bias",
        action="append",
        default=[],
        metavar="TEXT=BIAS",
        help="bias a text's tokens, -inf bans them (repeatable); quote a text with spaces at its ends: "
        "--logit-bias '\" sorry\"=-inf'",
    )


def _read(path: Path, what: str) -> str:
    try:
        if path.stat().st_size > FILE_LIMIT:
            raise ParamError(f"{path}: too big for a {what} (over 1 MB)")
        return path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ParamError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ParamError(f"{path}: not UTF-8 text (bad byte at offset {e.start})") from None


def _param(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep:
        raise ParamError(f"--param {item!r}: expected KEY=VALUE, e.g. top_k=20")
    if key not in KNOBS_BY_NAME:
        raise ParamError(f"--param: unknown parameter {key!r}{did_you_mean(key, KNOBS_BY_NAME)}")
    return key, parse_knob(key, text)


def ask_settings(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The knobs of one `ask`: `defaults` (e.g. the demo's), then the shorthands, --param, the
    files and the biases. ParamError says what is wrong (a SettingError's words, prefixed)."""
    values: dict[str, Any] = dict(defaults or {})
    try:
        shorthands = {"n_predict": args.n_predict, "temperature": args.temperature, "seed": args.seed}
        for name, value in shorthands.items():
            if value is not None:
                values[name] = parse_knob(name, str(value))
        for item in args.param:
            key, value = _param(item)
            if value is None:
                values.pop(key, None)  # KEY= : the server's default
            else:
                values[key] = value
        files = (("grammar", args.grammar_file, "grammar"), ("json_schema", args.json_schema, "schema"))
        for name, path, what in files:
            if path is not None:
                values[name] = parse_knob(name, _read(path, what))
                if values[name] is None:
                    raise ParamError(f"{path}: the {what} file is empty")
        if args.logit_bias:
            bias = dict(values.get("logit_bias") or {})
            for item in args.logit_bias:
                text, value = parse_bias_item(item)
                bias[text] = value
            values["logit_bias"] = bias
    except SettingError as e:
        raise ParamError(str(e)) from None
    return {k: v for k, v in values.items() if v is not None}
