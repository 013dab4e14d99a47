"""Constrained output and the server's verdict on parameters, before anything is sent.

- `check_params`: llama-server has no endpoint that only parses a grammar or a schema; it refuses
  a bad one when a /completion starts (HTTP 400: "Failed to initialize samplers: failed to parse
  grammar", or the schema converter's message). So the check is a /completion of a one-token
  prompt with n_predict 0 and no slot named: the server parses every parameter, evaluates a token
  or two and writes one. It may take a slot that holds a session's prompt, but this build first
  saves that prompt in its RAM prompt cache (--cache-ram, on by default) and restores it on the
  session's next request. Only if the check's prompt is not a prefix of the session's: the cache
  does not replace a slot whose whole prompt is one (so not "", which is BOS alone), hence "\n",
  which no chat template starts with. Run once per change, not per message.
- `answer_meta`: what an answer records about its constraints (`ChatMessage.meta`): that it was
  constrained, and for a JSON schema whether the answer parses and validates.
- `bias_preview`: which token ids each logit-bias text becomes (what the server does with it).
No Textual.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..client import BadRequest, LlamaCppClient, LlamaError, NotFound, Token

# Never part of a check: the slot (the check must not evict a chosen slot) and what the app owns.
_NOT_CHECKED = ("id_slot", "stream", "n_predict", "prompt", "return_progress", "n_probs")
CHECK_PROMPT = "\n"
# The parameters a check is worth running for: those whose mistakes only the server can see.
CHECKED_BY_SERVER = ("grammar", "json_schema", "logit_bias", "lora")


async def check_params(client: LlamaCppClient, params: Mapping[str, Any]) -> LlamaError | None:
    """The server's objection to `params` (as a /completion would meet it), or None if it takes
    them. Raises LlamaError only for what is not about the parameters (unreachable, auth, ...)."""
    body = {k: v for k, v in params.items() if k not in _NOT_CHECKED}
    try:
        await client.complete(CHECK_PROMPT, **body, n_predict=0)
    except NotFound:
        raise  # not about the parameters: no /completion at that address
    except BadRequest as e:
        return e
    return None


def constraint_key(params: Mapping[str, Any]) -> str | None:
    """What identifies the server-checked parameters of a request (None: nothing to check)."""
    chosen = {k: params[k] for k in CHECKED_BY_SERVER if params.get(k) not in (None, "", [], {})}
    return json.dumps(chosen, sort_keys=True, ensure_ascii=False) if chosen else None


@dataclass(frozen=True)
class SchemaCheck:
    ok: bool
    detail: str = ""  # why not: "not JSON: ..." or "does not match the schema: ..."


def check_answer(text: str, schema: Any) -> SchemaCheck:
    """Whether `text` is JSON that `schema` accepts."""
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return SchemaCheck(False, f"not JSON: {e.msg} at character {e.pos}")
    try:
        validator = validators.validator_for(schema)(schema)
        error = next(iter(validator.iter_errors(value)), None)
    except SchemaError as e:  # checked when set, but a stored one could predate that
        return SchemaCheck(False, f"the schema itself is invalid: {e.message}")
    if error is None:
        return SchemaCheck(True)
    where = "/".join(str(p) for p in error.absolute_path)
    return SchemaCheck(False, f"does not match the schema: {error.message}" + (f" (at {where})" if where else ""))


def answer_meta(params: Mapping[str, Any], content: str, complete: bool) -> dict[str, Any]:
    """What an answer records about its constraints: {"constrained": "json_schema" | "grammar"},
    and for a schema, once the answer is complete, {"schema_ok": bool, "schema_error": "..."}.
    The server takes the schema over a grammar when both are sent."""
    if params.get("json_schema") is not None:
        meta: dict[str, Any] = {"constrained": "json_schema"}
        if complete:
            check = check_answer(content, params["json_schema"])
            meta["schema_ok"] = check.ok
            if not check.ok:
                meta["schema_error"] = check.detail
        return meta
    if params.get("grammar"):
        return {"constrained": "grammar"}
    return {}


@dataclass(frozen=True)
class BiasRow:
    """One logit-bias entry and the tokens the server gives its text the bias to."""

    text: str
    bias: float | bool  # False: banned
    tokens: tuple[Token, ...]


async def bias_preview(client: LlamaCppClient, entries: Mapping[str, float | bool]) -> list[BiasRow]:
    """Each entry's tokens, as the server tokenizes a logit_bias text (no special tokens parsed)."""
    rows: list[BiasRow] = []
    for text, bias in entries.items():
        tokens = await client.tokenize(text, with_pieces=True, parse_special=False)
        rows.append(BiasRow(text, bias, tuple(tokens)))
    return rows
