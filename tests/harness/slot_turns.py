"""Helpers for the slot cache tests and benchmark: long conversations and one turn through
SlotCache (prepare -> stream -> after_answer), as the screen does it."""

from __future__ import annotations

from dataclasses import dataclass

from llama_tui.chat.slot_cache import Prepared, RestoreReport, SlotCache
from llama_tui.client import Completion, LlamaCppClient, collect

WORDS = "the model server chat token code test list table bold item text line file data value name".split()

# ChatML turn markers (the tiny models' template) and Gemma's.
CHATML = ("<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>\n")
GEMMA = ("<start_of_turn>user\n", "<end_of_turn>\n<start_of_turn>model\n", "<end_of_turn>\n")


def user_turn(text: str, markers: tuple[str, str, str] = CHATML) -> str:
    """One user turn and the start of the answer."""
    return markers[0] + text + markers[1]


def filler(n_words: int, offset: int = 0) -> str:
    """`n_words` words of the tiny vocabulary (about one token each)."""
    return " ".join(WORDS[(i + offset) % len(WORDS)] for i in range(n_words))


def follow_up(prompt: str, answer: str, text: str, markers: tuple[str, str, str] = CHATML) -> str:
    """The next prompt of a conversation: the previous prompt, its answer, a new user turn."""
    return prompt + answer + markers[2] + user_turn(text, markers)


@dataclass
class Turn:
    completion: Completion
    prepared: Prepared
    report: RestoreReport | None

    @property
    def cache_n(self) -> int:
        timings = self.completion.final.timings
        return timings.cache_n if timings is not None else 0

    @property
    def top_logprobs(self) -> list[list[tuple[str, float]]]:
        """Per answer token, the top candidates and their log-probabilities (needs `n_probs`)."""
        return [[(c["token"], c["logprob"]) for c in p.get("top_logprobs", [])] for p in self.completion.probs or []]


async def turn(
    client: LlamaCppClient,
    cache: SlotCache | None,
    session_id: int,
    prompt: str,
    *,
    preferred_slot: int | None = None,
    n_predict: int = 8,
    n_probs: int = 0,
) -> Turn:
    """One answer, greedy, through the slot cache (or without one when `cache` is None); with
    `n_probs`, each token's top probabilities are in `completion.probs`."""
    prepared = await cache.prepare(session_id, prompt, preferred_slot) if cache else Prepared(preferred_slot)
    params: dict[str, object] = {"n_predict": n_predict, "temperature": 0.0, "seed": 1, "cache_prompt": True}
    if n_probs:
        params["n_probs"] = n_probs
    if prepared.slot is not None:
        params["id_slot"] = prepared.slot
    done = await collect(client.stream_completion(prompt, **params))
    report = None
    if cache is not None:
        timings = done.final.timings
        report = await cache.after_answer(
            session_id,
            prepared,
            slot=done.final.id_slot,
            text=prompt + done.content,
            cache_n=timings.cache_n if timings is not None else 0,
        )
    return Turn(done, prepared, report)
