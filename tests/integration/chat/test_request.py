"""chat/request.py against the real llama-server: what we build is what the server receives."""

from __future__ import annotations

from llama_tui.chat.connection import ServerConnection
from llama_tui.chat.request import RequestBuilder, completion_params, render_prompt
from llama_tui.client import LlamaCppClient, collect
from llama_tui.domain import ChatMessage, SamplingSettings, Session


async def test_a_chatml_request_carries_the_templates_stops_and_exact_prompt(llama_server) -> None:
    messages = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="hi")]
    async with LlamaCppClient(llama_server.url) as client:
        rendered = await render_prompt(client, messages, "chatml")
        params = completion_params(SamplingSettings({"n_predict": 8}), template_stops=rendered.stops)
        result = await collect(client.stream_completion(rendered.text, **params))
    assert "<|im_end|>" in result.final.generation_settings.get("stop", [])
    assert result.final.prompt == "<s>" + rendered.text  # the server adds only its BOS


async def test_the_models_own_template_has_no_double_bos(llama3_server) -> None:
    async with LlamaCppClient(llama3_server.url) as client:
        rendered = await render_prompt(client, [ChatMessage(role="user", content="hi")], "server")
        tokens = await client.tokenize(rendered.text, add_special=True)
        props = await client.props()
        bos = await client.tokenize(props.bos_token, add_special=False)
    assert not rendered.text.startswith("<|begin_of_text|>")
    assert [t.id for t in tokens].count(bos[0].id) == 1


async def test_builder_sends_session_settings_stops_and_a_token_suffix(llama_server) -> None:
    """The whole request of a session: system prompt, settings, user stops before template stops,
    and a prompt that ends in a token id (regenerate from a token)."""
    session = Session(
        id=1, template="chatml", system_prompt="Sys.", settings=SamplingSettings({"n_predict": 4, "stop": ["END"]})
    )
    client = LlamaCppClient(llama_server.url)
    try:
        builder = RequestBuilder(ServerConnection(client))
        params = builder.params(session, total_slots=2)
        path = [ChatMessage(role="user", content="hello", id=1)]
        request = await builder.build(session, path, params, suffix=("So", 42))
        result = await collect(client.stream_completion(request.prompt, **request.params))
    finally:
        await client.close()
    assert params["stop"][:3] == ["END", "<|im_end|>", "<|im_start|>"]
    assert params["id_slot"] == 1
    sent = result.final.generation_settings
    assert sent["n_predict"] == 4 and sent["stop"] == params["stop"]
    assert isinstance(request.prompt, tuple) and request.prompt[-1] == 42
    assert request.prompt[0].startswith("<|im_start|>system\nSys.<|im_end|>") and request.prompt[0].endswith("So")


async def test_a_model_without_a_chat_template_gets_the_chatml_fallbacks_stops(
    fresh_llama_server, tiny_models_dir
) -> None:
    """#13.7: a GGUF without a template (like the base Gemma 3 270M): llama-server renders ChatML,
    and the `server` template's requests carry ChatML's stops, so the answer ends at the turn's end."""
    from llama_tui.templates.detect import is_server_fallback
    from tests.harness.tiny_model import NO_TEMPLATE, make_tiny_model

    server = fresh_llama_server(model=make_tiny_model(tiny_models_dir, chat_template=NO_TEMPLATE))
    session = Session(id=3, template="server", settings=SamplingSettings({"n_predict": 4}))
    client = LlamaCppClient(server.url)
    try:
        assert is_server_fallback((await client.props()).chat_template)
        builder = RequestBuilder(ServerConnection(client))
        request = await builder.build(session, [ChatMessage(role="user", content="hi", id=1)], builder.params(session))
        result = await collect(client.stream_completion(request.prompt, **request.params))
    finally:
        await client.close()
    assert request.prompt_text.endswith("<|im_start|>assistant\n")
    assert result.final.generation_settings["stop"] == ["<|im_end|>", "<|im_start|>"]


async def test_a_model_with_its_own_template_is_not_taken_for_the_fallback(llama_server, llama3_server) -> None:
    from llama_tui.templates.detect import is_server_fallback

    for server in (llama_server, llama3_server):
        async with LlamaCppClient(server.url) as client:
            assert not is_server_fallback((await client.props()).chat_template)


async def test_every_sampler_name_the_settings_accept_is_one_the_server_uses(llama_server) -> None:
    """#13.9: llama-server drops an unknown sampler name without a word; the settings refuse
    names it would drop, so each one they accept must be one it keeps."""
    from llama_tui.knobs import SAMPLER_ALIASES, SAMPLERS

    async with LlamaCppClient(llama_server.url) as client:
        for name in (*SAMPLERS, *SAMPLER_ALIASES):
            result = await collect(client.stream_completion("hi", n_predict=1, samplers=[name]))
            assert result.final.generation_settings["samplers"] == [SAMPLER_ALIASES.get(name, name)], name
        dropped = await collect(client.stream_completion("hi", n_predict=1, samplers=["foo"]))
        assert dropped.final.generation_settings["samplers"] == []


async def test_a_reasoning_budget_ends_the_reasoning_on_a_raw_completion(
    llama_server_bin, tiny_models_dir, server_logs_dir
) -> None:
    """llama-server's budget works on /completion when the request names the markers
    (budget_fields): 5 tokens of reasoning, then the server writes the closing marker itself.
    Without a budget the random model does not close it in 40 tokens."""
    from llama_tui.chat.request import budget_fields
    from llama_tui.reasoning import format_for, start_for
    from tests.harness.server import LlamaServer
    from tests.harness.tiny_model import REASONING_TOKENS, make_tiny_model

    prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n"
    fmt = format_for("qwen3.5", prompt)
    base = {"n_predict": 40, "temperature": 0, "preserved_tokens": list(fmt.preserved_tokens)}
    model = make_tiny_model(tiny_models_dir, extra_tokens=REASONING_TOKENS)
    with LlamaServer(llama_server_bin, model, log_dir=server_logs_dir) as server:
        async with LlamaCppClient(server.url) as client:
            free = await collect(client.stream_completion(prompt, **base))
            budget = {**base, "reasoning_budget_tokens": 5}
            budget.update(budget_fields(budget, fmt, start_for(fmt, prompt)))
            limited = await collect(client.stream_completion(prompt, **budget))
            before, marker, _ = limited.content.partition("</think>")
            reasoning_tokens = await client.tokenize(before.removesuffix("\n"))
    assert "</think>" not in free.content
    assert marker and before.endswith("\n")  # the budget's message, then the marker
    assert 3 <= len(reasoning_tokens) <= 6  # 5 tokens of reasoning (a piece may merge or split)
