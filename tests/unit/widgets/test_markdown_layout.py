"""markdown_layout: markdown laid out as styled lines (what MessageBody paints)."""

from __future__ import annotations

from textual.content import Content

from llama_tui.widgets.markdown_layout import join_blocks, layout_markdown


def plain(source: str, width: int = 60) -> list[str]:
    return [line.plain.rstrip() for line in join_blocks(layout_markdown(source, width))]


def styles(line: Content) -> set[str]:
    return {str(span.style) for span in line.spans}


def test_a_single_newline_is_a_line_break_in_a_paragraph() -> None:
    assert plain("Roses are red,\nviolets are blue,\nsugar is sweet.") == [
        "Roses are red,",
        "violets are blue,",
        "sugar is sweet.",
    ]


def test_a_pasted_block_of_200_lines_keeps_its_200_lines() -> None:
    pasted = "\n".join(f"line {i} of the paste" for i in range(200))
    assert plain(pasted) == [f"line {i} of the paste" for i in range(200)]


def test_long_lines_still_wrap_at_the_width() -> None:
    lines = plain("word " * 40, width=30)
    assert len(lines) > 5 and all(len(line) <= 30 for line in lines)


def test_h1_is_left_aligned_and_styled_over_the_whole_width() -> None:
    (line,) = join_blocks(layout_markdown("# Title", 40))
    assert line.plain.startswith("Title") and line.cell_length == 40
    assert ".md--h1" in styles(line)


def test_code_blocks_have_a_label_line_with_language_and_number() -> None:
    source = "Intro\n\n```python\ndef f():\n    return 1\n```\n\n```\nplain code\n```\n"
    blocks = layout_markdown(source, 50)
    lines = [line.plain for line in join_blocks(blocks)]
    labels = [line for line in lines if "#1" in line or "#2" in line]
    assert labels[0].strip().startswith("python") and labels[0].rstrip().endswith("#1")
    assert labels[1].strip().startswith("code") and labels[1].rstrip().endswith("#2")
    assert "      return 1" in [line.rstrip() for line in lines]  # indentation kept (2 columns of margin + 4)
    assert [code for block in blocks for code in block.code] == ["def f():\n    return 1", "plain code"]
    # The whole block sits on the code background, every line the full width.
    fence = [line for line in join_blocks(blocks) if ".md--fence" in styles(line)]
    assert len(fence) == 2 * 2 + 3 and all(line.cell_length == 50 for line in fence)


def test_numbering_starts_where_the_caller_says() -> None:
    lines = plain("```sh\nls\n```", width=30)
    assert lines[0].endswith("#1")
    later = [line.plain for line in join_blocks(layout_markdown("```sh\nls\n```", 30, code_number=7))]
    assert later[0].rstrip().endswith("#7")


def test_long_code_lines_fold_instead_of_being_cut() -> None:
    code = "x" * 100
    lines = plain(f"```\n{code}\n```", width=40)
    folded = [line.strip() for line in lines[1:] if line.strip()]
    assert "".join(folded) == code and all(len(line) <= 40 for line in lines)


def test_lists_quotes_tables_rules_and_html() -> None:
    lines = plain(
        "- one\n- two\n  - nested\n\n3. three\n4. four\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 22 |\n\n---\n\n"
        "<div>kept</div>\n\nsee <b>this</b>"
    )
    assert lines[:3] == ["• one", "• two", "  ▪ nested"]
    assert " 3. three" in lines and " 4. four" in lines
    assert "▌ quoted" in lines
    assert "│ a │ b  │" in lines and "│ 1 │ 22 │" in lines
    assert "─" * 60 in lines
    assert "<div>kept</div>" in lines and "see <b>this</b>" in lines


def test_margins_collapse_between_blocks_and_none_outside() -> None:
    lines = plain("para one\n\n## Heading\n\npara two")
    assert lines == ["para one", "", "", "Heading", "", "para two"]


def test_inline_styles_and_links_have_spans() -> None:
    (line,) = join_blocks(layout_markdown("**b** *i* `c` ~~s~~ [l](http://x)", 60))
    assert line.plain.rstrip() == "b i c s l"
    assert {".md--strong", ".md--em", ".md--code-inline", ".md--s", ".md--link"} <= styles(line)
