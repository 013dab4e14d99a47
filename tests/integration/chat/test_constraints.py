"""Constrained output against the real llama-server with the tiny random model (its unconstrained
text is noise, so whatever shape the output has comes from the constraint): a grammar, a JSON
schema, a banned token, ignore_eos, and the server's verdict on parameters before sending."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from llama_tui.chat.constraints import answer_meta, bias_preview, check_answer, check_params
from llama_tui.chat.request import completion_params
from llama_tui.client import FinalEvent, LlamaCppClient, TokenEvent, collect
from llama_tui.domain import SamplingSettings
from tests.harness.tiny_model import WORDS

YES_NO = 'root ::= "yes" | "no"'
# Strings limited to ASCII letters: the random model writes bytes that are not UTF-8, which the
# server's text shows as U+FFFD, so a free string can come out longer than its maxLength (the
# grammar counted bytes as characters); the check catches that, and says so.
SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "pattern": "^[a-z ]{1,12}$"},
        "n": {"type": "integer", "minimum": 0, "maximum": 99},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3},
    },
    "required": ["answer", "n", "tags"],
    "additionalProperties": False,
}


def params(values: dict[str, Any]) -> dict[str, Any]:
    """A request's parameters the way the app builds them (knobs in the server's wire format)."""
    return completion_params(SamplingSettings(values))


async def tokens_of(client: LlamaCppClient, prompt: str, **body: Any) -> tuple[list[int], FinalEvent]:
    ids: list[int] = []
    final: FinalEvent | None = None
    async for event in client.stream_completion(prompt, **body):
        if isinstance(event, TokenEvent):
            ids.extend(event.tokens)
        elif isinstance(event, FinalEvent):
            final = event
    assert final is not None
    return ids, final


async def test_a_yes_no_grammar_gives_exactly_yes_or_no(llama_server) -> None:
    answers = set()
    async with LlamaCppClient(llama_server.url) as client:
        for seed in range(8):
            body = params({"grammar": YES_NO, "seed": seed, "temperature": 1.5, "n_predict": 32})
            result = await collect(client.stream_completion("Is the sky green?", **body))
            assert result.content in ("yes", "no"), result.content
            assert answer_meta(body, result.content, complete=True) == {"constrained": "grammar"}
            answers.add(result.content)
    assert answers == {"yes", "no"}  # the grammar allows both, the noise picks either


async def test_a_json_schema_gives_json_that_validates(llama_server) -> None:
    schema_text = json.dumps(SCHEMA)
    async with LlamaCppClient(llama_server.url) as client:
        for seed in range(5):
            body = params({"json_schema": schema_text, "seed": seed, "temperature": 1.0, "n_predict": 400})
            assert body["json_schema"] == SCHEMA  # sent as an object, not as text
            result = await collect(client.stream_completion("Give me JSON.", **body))
            value = json.loads(result.content)
            assert set(value) == {"answer", "n", "tags"} and 0 <= value["n"] <= 99
            assert check_answer(result.content, SCHEMA).ok
            assert answer_meta(body, result.content, complete=True) == {"constrained": "json_schema", "schema_ok": True}


async def test_an_answer_cut_short_is_marked_as_failing_its_schema(llama_server) -> None:
    body = params({"json_schema": json.dumps(SCHEMA), "seed": 1, "n_predict": 3})
    async with LlamaCppClient(llama_server.url) as client:
        result = await collect(client.stream_completion("Give me JSON.", **body))
    assert result.final.stop_type == "limit"
    meta = answer_meta(body, result.content, complete=True)
    assert meta["schema_ok"] is False and meta["schema_error"].startswith("not JSON")


async def test_a_banned_words_token_never_appears_in_a_long_generation(llama_server) -> None:
    long = {"seed": 7, "temperature": 1.0, "n_predict": 1500, "ignore_eos": True}
    async with LlamaCppClient(llama_server.url) as client:
        before, _ = await tokens_of(client, "Tell me a story.", **params(long), return_tokens=True)
        # The word the noise writes most (as " word", one token): what the ban must remove.
        words: dict[int, str] = {}
        for word in WORDS:
            [*ids] = await client.tokenize(" " + word, parse_special=False)
            if len(ids) == 1:
                words[ids[0].id] = " " + word
        token, count = Counter(t for t in before if t in words).most_common(1)[0]
        assert count >= 3
        text = words[token]
        [row] = await bias_preview(client, {text: False})
        assert [t.id for t in row.tokens] == [token]  # the preview shows what the server bans
        after, final = await tokens_of(
            client, "Tell me a story.", **params({**long, "logit_bias": {text: False}}), return_tokens=True
        )
    assert final.tokens_predicted == 1500
    assert token not in after


async def test_ignore_eos_runs_to_n_predict(llama_server) -> None:
    """End-of-text boosted so the model stops at once; ignore_eos (a knob) keeps it going."""
    async with LlamaCppClient(llama_server.url) as client:
        [eos] = await client.tokenize("</s>")
        boost = {"logit_bias": [[eos.id, 50.0]]}
        stopped = await collect(client.stream_completion("hi", **params({"n_predict": 300}), **boost))
        assert stopped.final.stop_type == "eos" and stopped.final.tokens_predicted <= 1
        body = params({"n_predict": 300, "ignore_eos": True})
        assert body["ignore_eos"] is True
        kept = await collect(client.stream_completion("hi", **body, **boost))
    assert kept.final.stop_type == "limit" and kept.final.tokens_predicted == 300


async def test_the_server_says_what_it_refuses_before_anything_is_sent(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        assert await check_params(client, params({"grammar": YES_NO})) is None
        bad = await check_params(client, params({"grammar": "root ::= <nosuchtoken>"}))
        assert bad is not None and "failed to parse grammar" in bad.message
        schema = await check_params(client, {"json_schema": {"type": "nope"}})
        assert schema is not None and "json_schema" in schema.message and "nope" in schema.message


async def test_a_check_keeps_the_sessions_cached_prompt(fresh_llama_server) -> None:
    """The check takes a slot; this build saves that slot's prompt in its RAM cache first, so the
    session's next request still finds its prompt cached (nothing to process again)."""
    server = fresh_llama_server(parallel=1)
    prompt = "Once upon a time " * 200
    async with LlamaCppClient(server.url) as client:
        first = await collect(client.stream_completion(prompt, n_predict=1, cache_prompt=True))
        assert await check_params(client, params({"grammar": YES_NO})) is None
        again = await collect(client.stream_completion(prompt, n_predict=1, cache_prompt=True))
    assert first.final.timings is not None and again.final.timings is not None
    assert again.final.timings.raw["cache_n"] >= first.final.timings.raw["prompt_n"] - 2
