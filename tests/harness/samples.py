"""Sample texts shared by tests."""

from __future__ import annotations

import random


def sample_markdown(sections: int = 12) -> str:
    rng = random.Random(5)
    words = "llama server token slot cache prompt sampling layout widget stream".split()

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    out = []
    for k in range(sections):
        out.append(f"## Section {k}\n\n{sentence(30)} {sentence(20)}\n\n")
        out.append("".join(f"- {sentence(8)}\n" for _ in range(3)) + "\n")
        # A blank line inside a fence, followed by a letter: a naive cut would split the fence.
        out.append(f"```python\ndef f_{k}():\n\n    return {k}\n```\n\n")
        out.append("".join(f"{i}. {sentence(6)}\n" for i in range(1, 4)) + "\n")
        out.append(f"> {sentence(12)}\n\n{sentence(25)}\n\n")
    return "".join(out)
