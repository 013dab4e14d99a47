"""Every /completion parameter a user can set, as data: name, kind, valid range, group and a one-line
help; parsing what the user typed, checking a value read from a file, and the request's wire format.

Checked one by one against this llama-server build's own parameter schema
(`tools/server/server-schema.cpp` in llama-cpp-python 0.3.36, build b1-0c1e570): the names, and the
ranges. Where the server refuses a value (a "hard limit": `repeat_last_n = -1` is a 400 here) or
silently clamps or replaces it (`top_p = 2` becomes 1, `dry_base < 1` the default), the value is
refused here with a message; see tests/integration/test_knobs_server.py, which sends every bound.
A ban in `logit_bias` is written `false` (the server's own way; JSON has no -inf). Pure, no Textual.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from .grammar import GrammarError, check_grammar

Kind = Literal["int", "float", "bool", "strings", "grammar", "schema", "bias", "lora"]
EDITOR_KINDS: frozenset[str] = frozenset({"grammar", "schema", "bias", "lora"})  # edited apart, not in a row

I32 = 2**31 - 1  # the server's INT32_MAX limits
BIAS_LIMIT = 100.0  # OpenAI's range; llama.cpp takes any number, but past ±100 a bias is a ban or a force
LORA_SCALE_LIMIT = 10.0


@dataclass(frozen=True)
class Knob:
    """One /completion parameter: its kind, its valid range, its group in the settings pane."""

    name: str
    kind: Kind
    group: str
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    @property
    def editor(self) -> bool:
        """Edited in an editor of its own (grammar, schema, bias, adapters), not a one-line row."""
        return self.kind in EDITOR_KINDS


# The settings pane's sections, in order: (key, title).
GROUPS: tuple[tuple[str, str], ...] = (
    ("sampling", "Sampling"),
    ("penalties", "Penalties"),
    ("dry_xtc", "DRY / XTC"),
    ("mirostat", "Mirostat"),
    ("output", "Output limits"),
    ("constraints", "Constraints"),
    ("adapters", "Adapters"),
    ("advanced", "Advanced"),
)

_STOP_HELP = (
    'Extra stop strings, comma separated; in "double quotes" (JSON escapes) for a comma, spaces at the ends or a '
    'new line: "\\n\\nUser:", END'
)

# Names are the /completion field names, in display order within each group.
KNOBS: tuple[Knob, ...] = (
    Knob("temperature", "float", "sampling", 0.0, 10.0, "Randomness; 0 is greedy."),
    Knob("dynatemp_range", "float", "sampling", 0.0, 10.0, "Dynamic temperature: ± this much by entropy; 0 off."),
    Knob("dynatemp_exponent", "float", "sampling", 0.0, 100.0, "Dynamic temperature: how entropy maps to it."),
    Knob("top_k", "int", "sampling", 0, I32, "Keep the K most likely tokens; 0 disables."),
    Knob("top_p", "float", "sampling", 0.0, 1.0, "Nucleus sampling; 1.0 disables."),
    Knob("min_p", "float", "sampling", 0.0, 1.0, "Drop tokens below min_p x the top probability; 0 disables."),
    Knob("typical_p", "float", "sampling", 0.0, 1.0, "Locally typical sampling; 1.0 disables."),
    Knob("top_n_sigma", "float", "sampling", -1.0, 100.0, "Keep tokens within n std devs of the top logit; -1 off."),
    Knob("xtc_probability", "float", "dry_xtc", 0.0, 1.0, "XTC: chance of removing top choices; 0 disables."),
    Knob("xtc_threshold", "float", "dry_xtc", 0.0, 1.0, "XTC: probability threshold; > 0.5 disables."),
    Knob("min_keep", "int", "sampling", 0, I32, "Samplers keep at least this many tokens; 0 off."),
    Knob("adaptive_target", "float", "sampling", -1.0, 1.0, "Adaptive-p target probability (0-1); negative off."),
    Knob("adaptive_decay", "float", "sampling", 0.0, 0.99, "Adaptive-p: history decay (about 1/(1-d) tokens)."),
    Knob("seed", "int", "sampling", -1, 2**32 - 1, "RNG seed; -1 = random."),
    Knob("samplers", "strings", "sampling", help="Sampler order, e.g. top_k, top_p, min_p, temperature."),
    # The server refuses 0 ("penalty_repeat must be finite and greater than 0").
    Knob("repeat_penalty", "float", "penalties", 0.01, 10.0, "Penalise repeated tokens; 1.0 disables."),
    Knob("repeat_last_n", "int", "penalties", 0, I32, "Tokens looked at for the repeat penalties; 0 disables."),
    Knob("presence_penalty", "float", "penalties", -2.0, 2.0, "Penalise tokens already present; 0 disables."),
    Knob("frequency_penalty", "float", "penalties", -2.0, 2.0, "Penalise by token frequency; 0 disables."),
    Knob("dry_multiplier", "float", "dry_xtc", 0.0, 10.0, "DRY repetition penalty strength; 0 disables."),
    Knob("dry_base", "float", "dry_xtc", 1.0, 10.0, "DRY exponential base (at least 1)."),
    Knob("dry_allowed_length", "int", "dry_xtc", 0, I32, "DRY: repeats up to this length are free."),
    Knob("dry_penalty_last_n", "int", "dry_xtc", 0, I32, "DRY: tokens scanned for repeats; 0 disables."),
    Knob("dry_sequence_breakers", "strings", "dry_xtc", help='DRY: strings that end a repeat, e.g. "\\n", ":", "*"'),
    Knob("mirostat", "int", "mirostat", 0, 2, "Mirostat mode: 0 off, 1 or 2 (replaces the other samplers)."),
    Knob("mirostat_tau", "float", "mirostat", 0.0, 100.0, "Mirostat target entropy."),
    Knob("mirostat_eta", "float", "mirostat", 0.0, 1.0, "Mirostat learning rate."),
    Knob("n_predict", "int", "output", -1, I32, "Max tokens to generate; -1 = until a stop."),
    Knob("stop", "strings", "output", help=_STOP_HELP),
    Knob("ignore_eos", "bool", "output", help="true: never stop at end-of-text, run to n_predict."),
    Knob(
        "reasoning_budget_tokens",
        "int",
        "output",
        -1,
        I32,
        "Max reasoning tokens; then the server closes the reasoning (-1 no limit).",
    ),
    Knob("t_max_predict_ms", "int", "output", 0, 2**63 - 1, "Stop after this many ms, at a new line; 0 off."),
    Knob("n_indent", "int", "output", 0, I32, "Minimum indentation of each line (code completion); 0 off."),
    Knob("n_probs", "int", "output", 0, 100, "Return the top N token probabilities; 0 disables."),
    Knob("post_sampling_probs", "bool", "output", help="true: probabilities after the sampler chain."),
    Knob("grammar", "grammar", "constraints", help="GBNF grammar the output must follow."),
    Knob("json_schema", "schema", "constraints", help="JSON schema the output must follow (wins over a grammar)."),
    Knob("logit_bias", "bias", "constraints", help="Bias or ban tokens, by text."),
    Knob("lora", "lora", "adapters", help="Per-request LoRA adapter scales."),
    Knob("n_keep", "int", "advanced", -1, I32, "Context shift: prompt tokens always kept; -1 all."),
    Knob("n_discard", "int", "advanced", 0, I32, "Context shift: tokens dropped at once; 0 = half."),
    Knob("n_cache_reuse", "int", "advanced", 0, I32, "Reuse cached chunks at least this long (KV shift); 0 off."),
    Knob("sse_ping_interval", "int", "advanced", -1, I32, "Seconds between keep-alive pings; -1 none."),
    Knob("backend_sampling", "bool", "advanced", help="true: sample on the backend (GPU) where possible."),
)
KNOBS_BY_NAME: dict[str, Knob] = {k.name: k for k in KNOBS}

# Parameters llama-tui sets itself (or that would break how it reads the answer): shown read-only
# when /props reports them, never editable.
APP_OWNED: frozenset[str] = frozenset(
    {"stream", "cache_prompt", "return_progress", "id_slot", "prompt", "preserved_tokens", "response_fields",
     "n_cmpl", "max_tokens", "return_tokens", "timings_per_token", "model"}
)  # fmt: skip

# The sampler names llama-server accepts in `samplers` (b1-0c1e570; checked one by one). It drops
# any other name without a word, and with none left it samples with no samplers at all.
SAMPLERS: tuple[str, ...] = (
    "penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature", "infill",
    "adaptive_p",
)  # fmt: skip
SAMPLER_ALIASES: dict[str, str] = {
    "top-k": "top_k", "top-p": "top_p", "nucleus": "top_p", "min-p": "min_p", "typ-p": "typ_p", "typ": "typ_p",
    "temp": "temperature", "top-n-sigma": "top_n_sigma",
}  # fmt: skip

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
BAN_WORDS = ("-inf", "ban", "false")


class SettingError(ValueError):
    """A knob value the user typed (or a file holds) is invalid; the message says why, in plain words."""


def knobs_in(group: str) -> list[Knob]:
    return [k for k in KNOBS if k.group == group]


def did_you_mean(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def knob(name: str) -> Knob:
    found = KNOBS_BY_NAME.get(name)
    if found is None:
        raise SettingError(f"unknown setting {name!r}{did_you_mean(name, KNOBS_BY_NAME)}")
    return found


# -- what the user typed -----------------------------------------------------------------------------


def parse_knob(name: str, text: str) -> Any:
    """Parse what the user typed for knob `name`. Empty text means "server default" (None)."""
    spec = knob(name)
    if spec.kind == "grammar":
        return _grammar(text) if text.strip() else None
    if spec.kind == "schema":
        return schema_text(text) if text.strip() else None
    text = text.strip()
    if not text:
        return None
    if spec.kind == "strings":
        return check_list_knob(name, split_list(name, text)) or None
    if spec.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise SettingError(f"{name} must be true or false, not {text!r}")
    if spec.kind == "bias":
        return parse_bias_lines(text) or None
    if spec.kind == "lora":
        try:
            return check_value(name, json.loads(text))
        except json.JSONDecodeError:
            raise SettingError('lora must be JSON, e.g. [{"id": 0, "scale": 0.5}]') from None
    try:
        value: float | int = int(text) if spec.kind == "int" else float(text)
    except ValueError:
        kind = "a whole number" if spec.kind == "int" else "a number"
        raise SettingError(f"{name} must be {kind}, not {text!r}") from None
    return _in_range(spec, value)


def _in_range(spec: Knob, value: float | int) -> float | int:
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingError(f"{spec.name} must be a finite number")
    if spec.minimum is not None and value < spec.minimum:
        raise SettingError(f"{spec.name} must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise SettingError(f"{spec.name} must be at most {spec.maximum:g}")
    return value


def _grammar(text: str) -> str:
    try:
        check_grammar(text)
    except GrammarError as e:
        raise SettingError(f"grammar: {e}") from None
    return text


def schema_text(text: str) -> str:
    """A JSON schema as typed, checked: JSON, an object, and a schema by JSON Schema's own rules."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as e:
        raise SettingError(f"json_schema: not JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    check_schema(schema)
    return text


def check_schema(schema: Any) -> None:
    """Refuse what is not a JSON schema (the server's converter would refuse it too, later)."""
    if not isinstance(schema, dict):
        raise SettingError('json_schema must be a JSON object, e.g. {"type": "object"}')
    from jsonschema import SchemaError, validators

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as e:
        where = "/".join(str(p) for p in e.absolute_path)
        raise SettingError(f"json_schema: {e.message}" + (f" (at {where})" if where else "")) from None


def split_list(name: str, text: str) -> list[str]:
    """A comma-separated list as typed: bare items are trimmed and taken as they are; an item in
    double quotes is a JSON string (so it can hold commas, quotes, spaces at its ends, or \\n)."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] == '"':
            item, i = _quoted(name, text, i)
            items.append(item)
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] != ",":
                raise SettingError(f"{name}: expected a comma after {text[:i].strip()[-20:]}")
            i += 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            if text[i:end].strip():
                items.append(text[i:end].strip())
            i = end + 1
    return items


def _quoted(name: str, text: str, i: int) -> tuple[str, int]:
    """The JSON string starting at text[i] (a double quote), and the index after it."""
    j = i + 1
    while j < len(text) and text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    if j >= len(text):
        raise SettingError(f'{name}: a quoted item is not closed (missing ")')
    try:
        return json.loads(text[i : j + 1]), j + 1
    except json.JSONDecodeError:
        raise SettingError(f"{name}: {text[i : j + 1]} is not a valid quoted string") from None


def check_list_knob(name: str, values: list[str]) -> list[str]:
    """Refuse what the server would silently ignore: an empty stop string, an unknown sampler."""
    if name in ("stop", "dry_sequence_breakers") and any(not v for v in values):
        what = "a stop string" if name == "stop" else "an item"
        raise SettingError(f"{name}: {what} cannot be empty")
    if name == "samplers":
        for v in values:
            if v not in SAMPLERS and v not in SAMPLER_ALIASES:
                hint = did_you_mean(v, [*SAMPLERS, *SAMPLER_ALIASES])
                raise SettingError(f"samplers: unknown sampler {v!r}{hint}; known: {', '.join(SAMPLERS)}")
    return values


# -- logit bias by text ------------------------------------------------------------------------------


def parse_bias_item(item: str) -> tuple[str, float | bool]:
    """One `TEXT=BIAS` (the last `=` splits; TEXT in double quotes for spaces at its ends or an
    `=`). BIAS is a number from -100 to 100, or -inf / ban / false: never produced."""
    item = item.strip()
    if item.startswith('"'):
        text, end = _quoted("logit_bias", item, 0)
        rest = item[end:].strip()
        if not rest.startswith("="):
            raise SettingError(f'logit_bias: expected = after {item[:end]} (e.g. "{text}" = -inf)')
        bias_text = rest[1:]
    else:
        text, sep, bias_text = item.rpartition("=")
        if not sep:
            raise SettingError(f"logit_bias: {item!r} needs =BIAS, e.g. {item.strip()}=-inf or {item.strip()}=2")
        text = text.strip()
    if not text:
        raise SettingError(f"logit_bias: no text before = in {item!r}")
    bias_text = bias_text.strip().lower()
    if bias_text in BAN_WORDS:
        return text, False
    try:
        bias = float(bias_text)
    except ValueError:
        raise SettingError(f"logit_bias: the bias of {text!r} must be a number or -inf, not {bias_text!r}") from None
    return text, _bias(text, bias)


def _bias(text: str, bias: float) -> float | bool:
    if bias == -math.inf:
        return False
    if not math.isfinite(bias) or abs(bias) > BIAS_LIMIT:
        raise SettingError(f"logit_bias: the bias of {text!r} must be from -100 to 100, or -inf to ban it")
    return bias


def parse_bias_lines(text: str) -> dict[str, float | bool]:
    """The bias editor's text: one `TEXT = BIAS` a line (blank lines and lines starting # skipped)."""
    entries: dict[str, float | bool] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, bias = parse_bias_item(line)
            entries[key] = bias
    return entries


def format_bias(entries: dict[str, float | bool]) -> str:
    lines = []
    for text, bias in entries.items():
        plain = text == text.strip() and "=" not in text and not text.startswith(('"', "#")) and text.isprintable()
        shown = text if plain else json.dumps(text, ensure_ascii=False)
        lines.append(f"{shown} = {'-inf' if bias is False else format(bias, 'g')}")
    return "\n".join(lines)


# -- values from files (config, presets, JSON exports) ----------------------------------------------


def check_value(name: str, value: Any) -> Any:
    """A value read from a file (TOML or JSON), checked as the pane checks typed ones; returns it
    normalised (ints as floats where the knob is a float, a schema table as JSON text, -inf as
    false). SettingError says what is wrong."""
    spec = knob(name)
    kind = spec.kind
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int if kind == "int" else int | float):
            what = "a whole number" if kind == "int" else "a number"
            raise SettingError(f"{name} must be {what}, not {type_name(value)}")
        return _in_range(spec, float(value) if kind == "float" else value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise SettingError(f"{name} must be true or false, not {type_name(value)}")
        return value
    if kind == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingError(f'{name} must be an array of strings, e.g. ["a", "b"]')
        return check_list_knob(name, list(value))
    if kind == "grammar":
        if not isinstance(value, str) or not value.strip():
            raise SettingError("grammar must be a non-empty string (GBNF)")
        return _grammar(value)
    if kind == "schema":
        if isinstance(value, dict):
            check_schema(value)
            return json.dumps(value, ensure_ascii=False, indent=2)
        if not isinstance(value, str):
            raise SettingError(f"json_schema must be JSON text or a table, not {type_name(value)}")
        return schema_text(value)
    if kind == "bias":
        return _check_bias(value)
    return _check_lora(value)


def _check_bias(value: Any) -> dict[str, float | bool]:
    pairs = value.items() if isinstance(value, dict) else value
    if not isinstance(value, dict | list):
        raise SettingError('logit_bias must be a table of text = bias, e.g. { "hello" = -inf }')
    out: dict[str, float | bool] = {}
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not isinstance(pair[0], str) or not pair[0]:
            raise SettingError('logit_bias: each entry is text and a bias, e.g. ["hello", -2.5]')
        text, bias = pair
        if bias is False:
            out[text] = False
        elif isinstance(bias, bool) or not isinstance(bias, int | float):
            raise SettingError(f"logit_bias: the bias of {text!r} must be a number, -inf or false")
        else:
            out[text] = _bias(text, float(bias))
    return out


def _check_lora(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise SettingError("lora must be an array of {id, scale} tables")
    out: dict[int, float] = {}
    for entry in value:
        if not isinstance(entry, dict) or set(entry) - {"id", "scale", "path"}:
            raise SettingError("lora: each entry is {id = 0, scale = 0.5} (and its path, for the record)")
        ident, scale = entry.get("id"), entry.get("scale")
        if isinstance(ident, bool) or not isinstance(ident, int) or ident < 0:
            raise SettingError("lora: id must be an adapter number (0, 1, ...)")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
            raise SettingError(f"lora: the scale of adapter {ident} must be a number")
        if abs(scale) > LORA_SCALE_LIMIT:
            raise SettingError(f"lora: the scale of adapter {ident} must be from -10 to 10")
        out[ident] = float(scale)
    return [{"id": i, "scale": s} for i, s in sorted(out.items())]


def type_name(value: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true/false", dict: "a table",
             list: "an array"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


# -- showing values ----------------------------------------------------------------------------------


def _list_item(value: str) -> str:
    plain = value == value.strip() and value and not any(c in value for c in ',"\\') and value.isprintable()
    return value if plain else json.dumps(value, ensure_ascii=False)


def format_knob(value: Any) -> str:
    """The text shown in an input or editor for a knob value (inverse of parse_knob)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return format_bias(value)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return json.dumps(value)
        return ", ".join(_list_item(str(v)) for v in value)
    return str(value)


# -- the request -------------------------------------------------------------------------------------


def wire_params(values: dict[str, Any]) -> dict[str, Any]:
    """Settings as /completion fields: the schema as an object, the bias as [text, bias] pairs
    (the server tokenizes each text as /tokenize with parse_special false does), adapters as
    {id, scale}. Empty values send nothing."""
    params: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value == [] or value == {}:
            continue
        kind = KNOBS_BY_NAME[name].kind if name in KNOBS_BY_NAME else None
        if kind == "schema":
            params[name] = json.loads(value)
        elif kind == "bias":
            params[name] = [[text, bias] for text, bias in value.items()]
        elif kind == "lora":
            params[name] = [{"id": e["id"], "scale": e["scale"]} for e in value]
        else:
            params[name] = value
    return params
