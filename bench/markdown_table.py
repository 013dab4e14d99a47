"""Print a results file as the Markdown table README "Performance" shows (one row per figure that
has a target, then the informational ones).

    python -m bench.markdown_table [bench/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .common import RESULTS_DIR, fmt


def row(figure: dict[str, Any]) -> str:
    value = fmt(figure["value"], figure.get("unit", ""))
    baseline = figure.get("baseline")
    measured = value if baseline is None else f"{value} (baseline {fmt(baseline, figure.get('unit', ''))})"
    ratio = figure.get("ratio")
    if ratio is not None and figure.get("on") == "ratio":
        measured += f", {ratio:.2f}x"
    target = figure.get("target") or "-"
    if figure.get("target") and figure.get("on") == "ratio":
        target = f"ratio {target}"
    met = {True: "yes", False: "**no**", None: "-"}[figure.get("met")]
    return f"| {figure['benchmark']}: {figure['figure']} | {measured} | {target} | {met} |"


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| what | measured | target | met |", "|---|---|---|---|"]
    lines += [row(f) for f in results if f.get("target")]
    lines += [row(f) for f in results if not f.get("target") and f["figure"] != "error"]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else RESULTS_DIR / "latest.json"
    doc = json.loads(path.read_text())
    print(f"<!-- {path.name}: {doc['when']}, load average {doc['machine'].get('loadavg')} -->")
    print(table(doc["results"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
