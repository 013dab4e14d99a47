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
    """Answers every completion with `answer` and the server-side `timings` given."""

    def __init__(self, answer: str, timings: dict[str, Any]) -> None:
        super().__init__()
        self.answer_text = answer
        self.timings = timings
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
        chunks = answer_chunks(self.answer_text)
        return await self.stream(request, [*chunks, final(self.timings["predicted_n"], timings=self.timings)])
