"""The harness works: tiny models load in the real llama-server and every fixture serves for real."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness.server import LlamaServer
from tests.harness.tiny_model import CHATML_TEMPLATE, LLAMA3_TEMPLATE, make_tiny_model

HI = {"messages": [{"role": "user", "content": "hi"}]}


def test_tiny_model_is_deterministic_and_cached(tmp_path: Path) -> None:
    a = make_tiny_model(tmp_path / "a", seed=3)
    b = make_tiny_model(tmp_path / "b", seed=3)
    assert a.name == b.name
    assert a.read_bytes() == b.read_bytes()
    mtime = a.stat().st_mtime_ns
    assert make_tiny_model(tmp_path / "a", seed=3) == a
    assert a.stat().st_mtime_ns == mtime  # reused, not rewritten
    assert make_tiny_model(tmp_path / "a", seed=4) != a


def test_health(llama_server: LlamaServer) -> None:
    assert llama_server.get_json("/health") == {"status": "ok"}


def test_props_show_the_chat_template(llama_server: LlamaServer, llama3_server: LlamaServer) -> None:
    props = llama_server.get_json("/props")
    assert props["chat_template"] == CHATML_TEMPLATE
    assert (props["bos_token"], props["eos_token"]) == ("<s>", "</s>")
    assert props["total_slots"] == 2
    assert props["default_generation_settings"]["n_ctx"] == 4096
    props3 = llama3_server.get_json("/props")
    assert props3["chat_template"] == LLAMA3_TEMPLATE
    assert (props3["bos_token"], props3["eos_token"]) == ("<|begin_of_text|>", "<|eot_id|>")
    assert props3["default_generation_settings"]["n_ctx"] == 4096


def test_apply_template_renders_the_models_jinja(llama_server: LlamaServer, llama3_server: LlamaServer) -> None:
    assert llama_server.post_json("/apply-template", HI)["prompt"] == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    # The server drops the template's leading bos_token because the vocab adds BOS itself.
    assert llama3_server.post_json("/apply-template", HI)["prompt"] == (
        "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_completion_returns_text(llama_server: LlamaServer) -> None:
    prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    result = llama_server.post_json("/completion", {"prompt": prompt, "n_predict": 16, "ignore_eos": True})
    assert result["content"]
    assert result["tokens_predicted"] == 16
    assert result["stop_type"] == "limit"
    assert result["prompt"] == "<s>" + prompt  # tokenize/detokenize round-trips exactly


def test_streamed_completion_ends_with_stop(llama_server: LlamaServer) -> None:
    # A fixed seed: a token ending mid-UTF-8-character is held back until the next one completes
    # it, so with some seeds the 8th token is never sent at all (the final event still counts it).
    body = {"prompt": "hello", "n_predict": 8, "ignore_eos": True, "return_progress": True, "n_probs": 2, "seed": 0}
    events = list(llama_server.stream("/completion", body))
    assert "prompt_progress" in events[0]
    tokens = [e for e in events if e.get("completion_probabilities")]
    assert 1 <= len(tokens) <= 8  # held-back tokens are sent joined with the next
    assert tokens[-1]["tokens_predicted"] == 8
    assert events[-1]["tokens_predicted"] == 8
    assert all(len(e["completion_probabilities"][0]["top_logprobs"]) == 2 for e in tokens)
    assert events[-1]["stop"] is True
    assert events[-1]["timings"]["predicted_n"] == 8


def test_auth_server_needs_the_key(llama_server_auth: LlamaServer) -> None:
    status, body = llama_server_auth.request("GET", "/props", auth=False)
    assert status == 401, body
    assert llama_server_auth.request("GET", "/props")[0] == 200
    assert llama_server_auth.request("GET", "/health", auth=False)[0] == 200


def test_metrics_only_with_flag(llama_server: LlamaServer, llama_server_metrics: LlamaServer) -> None:
    assert llama_server.request("GET", "/metrics")[0] == 501
    status, body = llama_server_metrics.request("GET", "/metrics")
    assert status == 200
    assert b"llamacpp:tokens_predicted_total" in body


def test_fresh_server_kill_and_restart(fresh_llama_server: Callable[..., LlamaServer]) -> None:
    server = fresh_llama_server()
    url, pid = server.url, server.pid
    server.kill()
    assert not server.running
    with pytest.raises(urllib.error.URLError):
        server.request("GET", "/health", timeout=2)
    server.restart()
    assert server.url == url and server.pid != pid
    assert server.get_json("/health") == {"status": "ok"}
