"""The template verification tier: every built-in family renders the whole corpus byte for byte as the
real llama-server renders it with the family's official template file (--chat-template-file, from the
llama-cpp-python sdist), for each option set the template takes. The report is printed at the end."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

import pytest

from llama_tui.templates import get_template
from tests.harness.official import CHECKS, REPORT, OfficialCheck, Row, reference, server_kwargs
from tests.harness.server import LlamaServer
from tests.harness.template_corpus import CORPUS


def _describe(options: dict[str, object]) -> str:
    return json.dumps(options, sort_keys=True) if options else "defaults"


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.label)
def test_family_matches_official_template(check: OfficialCheck, official_server: Callable[..., LlamaServer]) -> None:
    server = official_server(check.file, *check.tokens)
    template = get_template(check.family)
    assert template.name == check.family
    conversations = [
        c for c in CORPUS if not (check.without_system_only and any(m["role"] == "system" for m in c.messages))
    ]
    failures: list[str] = []
    for options in check.variants:
        kwargs = server_kwargs(options)
        row = Row(check.family, check.file, _describe(options), 0, len(conversations), check.note)
        for conversation in conversations:
            for _ in range(2):  # templates that read the clock: render again if midnight passed meanwhile
                day = datetime.date.today()
                expected, how = reference(server, conversation, kwargs)
                messages = conversation.as_list()
                ours = template.render(
                    messages, continue_final=conversation.continues, include_bos=True, options=options
                )
                without_bos = template.render(messages, continue_final=conversation.continues, options=options)
                if datetime.date.today() == day:
                    break
            # The tiny model does not add BOS, so the server kept the template's BOS text: compare all of it,
            # and check that render() leaves exactly that BOS off, as a model that adds BOS needs.
            bos_ok = without_bos == (expected[len(template.bos) :] if template.bos else expected)
            if ours == expected and bos_ok and expected.startswith(template.bos):
                row.matched += 1
            else:
                row.failures.append(
                    f"{conversation.name} ({_describe(options)}, reference: {how})\n"
                    f"  server: {expected!r}\n  ours:   {ours!r}\n  no BOS: {without_bos!r}"
                )
        REPORT.append(row)
        failures += row.failures
    assert not failures, f"{check.label}: {len(failures)} conversations differ\n" + "\n".join(failures)


_REASONING_CHECKS = {c.family: c for c in reversed(CHECKS) if get_template(c.family).reasoning}.values()


@pytest.mark.parametrize("check", _REASONING_CHECKS, ids=lambda c: c.label)
@pytest.mark.parametrize(("mode", "server_mode"), [("content", "content"), ("reasoning", "reasoning_content")])
def test_explicit_continue_modes_match_server(
    check: OfficialCheck, mode: str, server_mode: str, official_server: Callable[..., LlamaServer]
) -> None:
    """continue_final="content" closes the reasoning where it is and opens the answer ("stop thinking
    now"); "reasoning" goes on thinking: as llama-server's continue_final_message does."""
    server = official_server(check.file, *check.tokens)
    template = get_template(check.family)
    messages = [
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "", "reasoning_content": "Let me think"},
    ]
    expected = server.post_json(
        "/apply-template",
        {"messages": messages, "continue_final_message": server_mode, "add_generation_prompt": False},
    )["prompt"]
    ours = template.render(messages, continue_final=mode, include_bos=True)  # type: ignore[arg-type]
    assert ours == expected
    markers = template.reasoning
    assert markers is not None
    assert ours.endswith(markers.end if mode == "content" else "Let me think")
