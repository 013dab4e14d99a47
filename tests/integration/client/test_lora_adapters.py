"""LoRA adapters on the real llama-server: a tiny adapter GGUF written by the test harness, listed
at /lora-adapters, and a per-request scale (the request's `lora`, as the settings send it) that the
server takes and that changes what the model writes."""

from __future__ import annotations

from llama_tui.chat.request import completion_params
from llama_tui.client import LlamaCppClient, collect
from llama_tui.domain import SamplingSettings
from tests.harness.tiny_model import make_tiny_lora


async def test_the_adapter_is_listed_and_a_per_request_scale_is_used(fresh_llama_server, tiny_models_dir) -> None:
    adapter = make_tiny_lora(tiny_models_dir)
    server = fresh_llama_server(extra_args=["--lora", str(adapter)])
    async with LlamaCppClient(server.url) as client:
        [listed] = await client.lora_adapters()
        assert (listed.id, listed.path, listed.scale) == (0, str(adapter), 1.0)
        answers = {}
        for scale in (0.0, 1.0):
            body = completion_params(SamplingSettings({"lora": [{"id": 0, "scale": scale}], "n_predict": 12}))
            result = await collect(client.stream_completion("hello", **body, temperature=0))
            assert result.final.generation_settings["lora"] == [{"id": 0, "scale": scale}]
            answers[scale] = result.content
    assert answers[0.0] != answers[1.0]  # the adapter changes the model's output


async def test_a_server_without_adapters_lists_none(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        assert await client.lora_adapters() == []
