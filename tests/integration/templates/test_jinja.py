"""The model's own template rendered locally (templates/jinja.py) against the real llama-server, on every
official template in the sdist and the whole corpus. Each file's count goes into the report; the files
that render identically today must keep doing so, and none may render fewer conversations than measured."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

from llama_tui.templates import TemplateError
from llama_tui.templates.jinja import JinjaTemplate
from tests.harness.assets import official_template, official_template_names
from tests.harness.official import REPORT, Row, reference
from tests.harness.server import LlamaServer
from tests.harness.template_corpus import CORPUS

# Measured on llama-cpp-python 0.3.36's files: conversations (of the corpus) that render differently,
# and why. Every other file renders the whole corpus identically.
_PREFILL = "continue: llama-server's own handler for this family builds the prefill differently"
_UNICODE_EDGES = "Unicode spaces at the edges: stripped in a way the ASCII-only emulation misses"
KNOWN_DIFFERENCES: dict[str, tuple[int, str]] = {
    "Bielik-11B-v3.0-Instruct.jinja": (1, _UNICODE_EDGES),
    "GLM-4.6.jinja": (1, _UNICODE_EDGES),
    "GLM-4.7-Flash.jinja": (1, _UNICODE_EDGES),
    "NVIDIA-Nemotron-Nano-v2.jinja": (6, f"{_PREFILL}; {_UNICODE_EDGES}"),
    "Kimi-K2-Instruct.jinja": (5, _PREFILL + " (adds <think></think>)"),
    "moonshotai-Kimi-K2.jinja": (5, _PREFILL + " (adds <think></think>)"),
    "Kimi-K3.jinja": (5, _PREFILL),
    "LFM2-8B-A1B.jinja": (5, _PREFILL + " (adds <think>)"),
    "LFM2.5-Instruct.jinja": (5, _PREFILL + " (adds <think>)"),
    "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja": (4, _PREFILL),
    "StepFun3.5-Flash.jinja": (4, _PREFILL),
    "llama-cpp-rwkv-world.jinja": (4, _PREFILL),
    "meetkai-functionary-medium-v3.2.jinja": (5, _PREFILL + " (>>>all)"),
    "mistralai-Ministral-3-14B-Reasoning-2512.jinja": (6, _PREFILL + " ([THINK]); an empty answer in the history"),
    "unsloth-mistral-Devstral-Small-2507.jinja": (5, _PREFILL),
    "muse-glimmer.jinja": (5, _PREFILL),
    "poolside-Laguna-XS-2.1.jinja": (5, _PREFILL),
    "poolside-Laguna-XS.2.jinja": (5, _PREFILL),
    "deepseek-ai-DeepSeek-V4.jinja": (10, "llama-server's DeepSeek V4 handler renders earlier turns its own way"),
    "deepseek-ai-DeepSeek-V4-Flash-0731.jinja": (
        10,
        "llama-server's DeepSeek V4 handler renders earlier turns its own way",
    ),
    "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja": (
        12,
        "llama-server's Command R7B handler adds its own preamble",
    ),
    "fireworks-ai-llama-3-firefunction-v2.jinja": (
        15,
        "needs a 'functions' variable (jinja2 refuses to loop over undefined)",
    ),
}


@pytest.fixture(scope="module")
def jinja_report() -> list[Row]:
    return []


@pytest.mark.parametrize("file", official_template_names())
def test_local_jinja_matches_server(file: str, official_server: Callable[..., LlamaServer]) -> None:
    server = official_server(file)
    props = server.get_json("/props")
    source = official_template(file).read_text(encoding="utf-8")
    row = Row("jinja (local)", file, "defaults", 0, len(CORPUS))
    try:
        template = JinjaTemplate(file, source, bos_token=props["bos_token"], eos_token=props["eos_token"])
    except TemplateError as exc:
        row.failures.append(f"does not load: {exc}")
        template = None
    for conversation in CORPUS if template is not None else ():
        for _ in range(2):  # templates that read the clock: render again if midnight passed meanwhile
            day = datetime.date.today()
            expected, how = reference(server, conversation, {})
            try:
                ours = template.render(conversation.as_list(), continue_final=conversation.continues, include_bos=True)
            except TemplateError as exc:
                ours = f"error: {exc}"
            if datetime.date.today() == day:
                break
        if ours == expected:
            row.matched += 1
        else:
            row.failures.append(f"{conversation.name} ({how})\n  server: {expected!r}\n  ours:   {ours!r}")
    known = KNOWN_DIFFERENCES.get(file)
    row.note = known[1] if known else ""
    REPORT.append(row)
    allowed = known[0] if known else 0
    assert len(CORPUS) - row.matched <= allowed, f"{file}: {row.total - row.matched} differ\n" + "\n".join(row.failures)
