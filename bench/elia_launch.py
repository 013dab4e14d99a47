"""Start elia (the elia-chat TUI) for bench/peer_elia.py. Run by bench/.venv-elia/bin/python, not the
project venv; imports nothing from this repository.

With BENCH_ELIA_FIX_NULL_CONTENT=1 it works around elia 1.10.0's incompatibility with llama-server:
llama-server's first streamed chunk is ``"delta":{"role":"assistant","content":null}`` and elia's
loop (widgets/chat.py, stream_agent_response) does ``else: break`` on any chunk whose content is not a
str, so it stops reading after that first chunk and shows an empty answer. The workaround wraps
``litellm.acompletion`` (elia imports it from the module at call time) and turns a null content in a
chunk without finish_reason into "". Nothing else changes: the patch is applied when elia first
imports litellm (a post-import hook), so litellm's import cost stays where elia puts it (on the first
message, not at start-up).
"""

import os
import sys


def _patch_litellm(litellm) -> None:
    original = litellm.acompletion

    async def acompletion(*args, **kwargs):
        response = await original(*args, **kwargs)
        if not kwargs.get("stream"):
            return response

        async def chunks():
            async for chunk in response:
                choice = chunk.choices[0]
                if choice.delta.content is None and choice.finish_reason is None:
                    choice.delta.content = ""
                yield chunk

        return chunks()

    litellm.acompletion = acompletion


class _PatchOnImport:
    """A meta path finder that lets the normal finders load ``litellm``, then patches it."""

    def find_spec(self, name, path, target=None):
        if name != "litellm":
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _patch_litellm(module)

        spec.loader.exec_module = exec_and_patch
        return spec


if __name__ == "__main__":
    if os.environ.get("BENCH_ELIA_FIX_NULL_CONTENT") == "1":
        sys.meta_path.insert(0, _PatchOnImport())
    from elia_chat.__main__ import cli

    sys.exit(cli())
