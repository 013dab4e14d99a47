"""A scripted llama-server for pictures of the app (README screenshot, snapshot tests): the
FaultServer plus the endpoints the app polls (/tokenize, /slots) and a realistic /props, so the
app looks as it does against a real server, with figures that never change."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from tests.harness.fault_server import FaultServer, final, token

MODEL_PATH = "/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"


def answer_chunks(text: str) -> list[bytes]:
    """The answer as streamed tokens: words with their trailing whitespace, as a tokenizer might."""
    return [token(piece, i + 1) for i, piece in enumerate(re.findall(r"\s+|\S+\s*", text))]


class DemoServer(FaultServer):
    """Answers every completion with `answer` and the server-side `timings` given, or, for a
    request whose temperature is in `variants`, with that variant's (answer, timings): the
    columns of a compare screen."""

    def __init__(self, answer: str, timings: dict[str, Any]) -> None:
        super().__init__()
        self.answer_text = answer
        self.timings = timings
        self.variants: dict[float, tuple[str, dict[str, Any]]] = {}
        self.last_token_count: int | None = None
        self.completion = self.fixed_answer
        self.props = self._props

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        if path == "/tokenize":
            body = await request.json()
            # Deterministic and roughly realistic: a token per four characters.
            self.last_token_count = max(1, len(body.get("content", "")) // 4)
            return web.json_response({"tokens": list(range(self.last_token_count))})
        if path == "/slots":
            return web.json_response([{"id": 0, "is_processing": False}])
        return await super()._dispatch(request)

    async def _props(self, request: web.Request) -> web.Response:
        params = {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "n_predict": -1, "seed": -1}
        return web.json_response(
            {
                "default_generation_settings": {"n_ctx": 8192, "params": params},
                "total_slots": 1,
                "model_path": MODEL_PATH,
                "bos_token": "<|endoftext|>",
                "eos_token": "<|im_end|>",
            }
        )

    async def fixed_answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()  # aiohttp keeps the body: read again here
        text, timings = self.variants.get(body.get("temperature"), (self.answer_text, self.timings))
        chunks = answer_chunks(text)
        return await self.stream(request, [*chunks, final(timings["predicted_n"], timings=timings)])


def _timings(predicted_n: int, per_second: float, prompt_n: int, cache_n: int) -> dict[str, Any]:
    return {
        "cache_n": cache_n,
        "prompt_n": prompt_n,
        "prompt_ms": prompt_n / 1.2,
        "prompt_per_token_ms": 0.83,
        "prompt_per_second": 1204.3,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_n / per_second * 1000.0,
        "predicted_per_token_ms": 1000.0 / per_second,
        "predicted_per_second": per_second,
    }


# A temperature sweep as the compare screen shows it (snapshot test and README screenshot).
COMPARE_SPEC = "temperature=0.2,0.8,1.5"
COMPARE_VARIANTS: dict[float, tuple[str, dict[str, Any]]] = {
    0.2: (
        "Llamas graze on **grass hay** and pasture, about 2% of their body weight a day.\n\n"
        "- fresh water, always\n- a mineral supplement\n- few treats: carrots, apple slices\n",
        _timings(41, 88.1, 32, 180),
    ),
    0.8: (
        "Mostly hay and grass! Llamas are modified ruminants with a three-compartment stomach, "
        "so they chew cud much like cows do.\n\nAvoid lush clover, mouldy hay and anything from "
        "the garden you have not checked first.\n",
        _timings(52, 86.4, 1, 211),
    ),
    1.5: (
        "Hay, pasture, and a carrot if they negotiate well. Llamas are picky but polite eaters; "
        "a content llama hums softly while it grazes.\n",
        _timings(37, 84.9, 1, 211),
    ),
}
