"""Markdown laid out as lines of styled text at a given width: no widgets.

Textual's Markdown widget makes a widget per block (a list item is four), and every layout pass
and restyle visits each of them: that was most of the cost of a streamed answer. Here a piece of
markdown becomes a list of `LaidBlock`s, each a few `Content` lines, which one widget
(`MessageBody`) paints line by line. The look follows Textual's Markdown widget (same theme
variables, margins, bullets), with these deliberate differences for a chat: a single newline is a
line break (a pasted poem or a model's short lines stay lines), H1 is left-aligned, a code block
has a label line with its language and its number (what `b` copies), long code lines fold instead
of scrolling sideways, and HTML is shown as the text it is.

Styles are component-class names (".md--strong", ...) that the widget resolves when it paints, so
a change of theme or focus repaints without laying out again. Pure data in, data out: this runs in
a worker thread for big messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content, Span

from ..markdown_code import parser

if TYPE_CHECKING:
    from markdown_it.token import Token

BULLETS = ("• ", "▪ ", "‣ ", "⭑ ", "◦ ")  # by nesting depth, as Textual's Markdown
QUOTE_BAR = "▌"
CODE_PAD = 2  # columns of background left and right of the code
MIN_WIDTH = 4  # nested containers never squeeze their content below this

# (top, bottom) margins of top-level blocks, as Textual's Markdown CSS gives them.
_MARGINS = {
    "paragraph": (0, 1),
    "h1": (2, 1),
    "h2": (2, 1),
    "heading": (1, 1),
    "hr": (1, 1),
    "blockquote": (1, 1),
    "bullet_list": (0, 1),
    "ordered_list": (0, 1),
    "fence": (1, 1),
    "table": (0, 1),
    "html_block": (0, 1),
}

_WHITESPACE = re.compile(r"[ \t\r\f\v]+")


@dataclass
class LaidBlock:
    """One top-level block at one width: its lines, and its margins (collapsed with neighbours)."""

    lines: list[Content]
    top: int = 0
    bottom: int = 0
    code: list[str] = field(default_factory=list)  # the code blocks inside, in order (for `b`)


class _Node:
    """A block or inline element from markdown-it's tokens (like its _Node, but with no
    link to the parent: a tree without cycles is freed at once instead of by the cyclic GC, whose
    pauses showed as stalls while streaming)."""

    __slots__ = ("attrs", "children", "content", "info", "tag", "type")

    def __init__(self, token: Token | None = None, kind: str = "") -> None:
        self.type = kind or (token.type.removesuffix("_open") if token is not None else "root")
        self.tag = token.tag if token is not None else ""
        self.info = token.info if token is not None else ""
        self.attrs = token.attrs if token is not None else {}
        self.content = token.content if token is not None else ""
        self.children: list[_Node] = []


def _tree(tokens: list[Token]) -> _Node:
    root = _Node()
    stack = [root]
    for token in tokens:
        if token.nesting == 1:
            node = _Node(token)
            stack[-1].children.append(node)
            stack.append(node)
        elif token.nesting == -1:
            if len(stack) > 1:
                stack.pop()
        else:
            node = _Node(token)
            stack[-1].children.append(node)
            if token.children:
                node.children = _tree(token.children).children
    return root


@dataclass
class _Context:
    code_number: int  # the number the next code block gets (1 for the first of a message)
    codes: list[str] = field(default_factory=list)


def layout_markdown(source: str, width: int, code_number: int = 1) -> list[LaidBlock]:
    """Lay out `source` (a whole document or one section of it) at `width` cells."""
    width = max(MIN_WIDTH, width)
    root = _tree(parser().parse(source))
    out: list[LaidBlock] = []
    for node in root.children:
        context = _Context(code_number)
        lines = _block(node, width, context, depth=0)
        kind = node.tag if node.type == "heading" and node.tag in ("h1", "h2") else node.type
        top, bottom = _MARGINS.get(kind, (0, 1))
        out.append(LaidBlock(lines, top, bottom, context.codes))
        code_number = context.code_number
    return out


def join_blocks(blocks: list[LaidBlock]) -> list[Content]:
    """Blocks one after the other, the margins between two collapsed into the larger one, and no
    margin above the first or below the last (the message's role line and footer frame it)."""
    lines: list[Content] = []
    below = 0
    for index, block in enumerate(blocks):
        if index:
            lines.extend([Content()] * max(below, block.top))
        lines.extend(block.lines)
        below = block.bottom
    return lines


# -- blocks ------------------------------------------------------------------------------------------


def _block(node: _Node, width: int, context: _Context, depth: int) -> list[Content]:
    kind = node.type
    if kind == "paragraph":
        return _wrap(_inline(node), width)
    if kind == "heading":
        return _heading(node, width)
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, width, context, depth)
    if kind == "blockquote":
        return _quote(node, width, context, depth)
    if kind in ("fence", "code_block"):
        return _code(node.content, node.info.strip().split(" ")[0] if kind == "fence" else "", width, context)
    if kind == "table":
        return _table(node, width)
    if kind == "hr":
        return [Content("─" * width).stylize(".md--hr")]
    if kind == "html_block":
        return _wrap(Content(node.content.rstrip("\n")), width)
    # Anything else a plugin might add: its text, never dropped.
    return _wrap(Content(node.content.rstrip("\n")), width) if node.content else []


def _children(node: _Node, width: int, context: _Context, depth: int) -> list[Content]:
    """The blocks inside a container, with the margins between them (none outside)."""
    blocks: list[LaidBlock] = []
    for child in node.children:
        top, bottom = _MARGINS.get(child.type, (0, 0)) if child.type in ("fence", "blockquote", "table") else (0, 0)
        blocks.append(LaidBlock(_block(child, width, context, depth), top, bottom))
    return join_blocks(blocks)


def _wrap(content: Content, width: int) -> list[Content]:
    return content.wrap(width) if content else [Content()]


def _full_width(line: Content, width: int, style: str) -> Content:
    """`line` padded to `width` with `style` under all of it (inner styles win)."""
    pad = width - line.cell_length
    if pad > 0:
        line = line.pad_right(pad)
    return line.stylize_before(style)


def _heading(node: _Node, width: int) -> list[Content]:
    level = node.tag  # h1..h6
    lines = _wrap(_inline(node), width)
    style = f".md--{level}"
    if level == "h3":  # Textual gives H3 the width of its text only
        return [line.stylize_before(style) for line in lines]
    return [_full_width(line, width, style) for line in lines]


def _list(node: _Node, width: int, context: _Context, depth: int) -> list[Content]:
    items = [child for child in node.children if child.type == "list_item"]
    if node.type == "ordered_list":
        start = node.attrs.get("start", 1)
        first = start if isinstance(start, int) else 1
        size = max(len(f"{number}. ") for number in range(first, first + max(1, len(items))))
        symbols = [f"{number}. ".rjust(size + 1) for number in range(first, first + len(items))]
    else:
        symbols = [BULLETS[depth % len(BULLETS)]] * len(items)
    lines: list[Content] = []
    for symbol, item in zip(symbols, items, strict=True):
        indent = len(symbol)
        nested = depth + 1 if node.type == "bullet_list" else depth
        body = _children(item, max(MIN_WIDTH, width - indent), context, nested)
        if not body:
            body = [Content()]
        bullet = Content(symbol).stylize(".md--bullet")
        lines.append(bullet + body[0])
        lines.extend(Content(" " * indent) + line for line in body[1:])
    return lines


def _quote(node: _Node, width: int, context: _Context, depth: int) -> list[Content]:
    inner = max(MIN_WIDTH, width - 3)  # the bar, then one column of padding each side
    body = _children(node, inner, context, depth) or [Content()]
    bar = Content(QUOTE_BAR).stylize(".md--quote-bar")
    return [_full_width(bar + Content(" ") + line, width, ".md--quote") for line in body]


def _code(code: str, language: str, width: int, context: _Context) -> list[Content]:
    """A code block: a label line (language, and the number `b` counts by), the code folded to the
    width, a blank line; all on the code background."""
    from textual.highlight import HighlightTheme, highlight

    number = context.code_number
    context.code_number += 1
    code = code.rstrip("\n")
    context.codes.append(code)
    inner = max(MIN_WIDTH, width - 2 * CODE_PAD)
    name = language or "code"
    label = f" #{number} "
    left = Content(" " * CODE_PAD) + Content(name).stylize(".md--code-language")
    gap = width - left.cell_length - len(label)
    header = left + Content(" " * max(1, gap)) + Content(label).stylize(".md--code-number") if gap >= 1 else left
    lines = [_full_width(header.truncate(width), width, ".md--fence")]
    highlighted = highlight(code, language=language or "text", theme=HighlightTheme) if code else Content()
    margin = Content(" " * CODE_PAD)
    for line in highlighted.split("\n", allow_blank=True) if code else [Content()]:
        line = line.expand_tabs(4)
        for piece in line.fold(inner) if line.cell_length > inner else [line]:
            lines.append(_full_width(margin + piece, width, ".md--fence"))
    lines.append(_full_width(Content(), width, ".md--fence"))
    return lines


def _table(node: _Node, width: int) -> list[Content]:
    rows: list[tuple[bool, list[Content]]] = []
    for section in node.children:
        for row in section.children:
            rows.append((section.type == "thead", [_inline(cell) for cell in row.children]))
    columns = max((len(cells) for _, cells in rows), default=0)
    if not columns:
        return []
    for _, cells in rows:
        cells.extend(Content() for _ in range(columns - len(cells)))
    # Natural widths, then the widest columns give way until the table fits.
    widths = [max(1, max(cells[i].cell_length for _, cells in rows)) for i in range(columns)]
    room = width - (3 * columns + 1)  # "│ " before each cell, " │" after the last
    while sum(widths) > max(room, columns) and max(widths) > 1:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    line_style = ".md--table-line"

    def rule(left: str, mid: str, right: str) -> Content:
        return Content(left + mid.join("─" * (w + 2) for w in widths) + right).stylize(line_style)

    lines = [rule("┌", "┬", "┐")]
    bar = Content("│").stylize(line_style)
    for index, (header, cells) in enumerate(rows):
        wrapped = [cell.wrap(w) if cell else [Content()] for cell, w in zip(cells, widths, strict=True)]
        for y in range(max(len(w) for w in wrapped)):
            line = bar
            for cell_lines, w in zip(wrapped, widths, strict=True):
                text = cell_lines[y] if y < len(cell_lines) else Content()
                text = text.pad_right(w - text.cell_length)
                line = line + Content(" ") + (text.stylize_before(".md--table-header") if header else text) + " " + bar
            lines.append(line)
        if header and index + 1 < len(rows) and not rows[index + 1][0]:
            lines.append(rule("├", "┼", "┤"))
    lines.append(rule("└", "┴", "┘"))
    return lines


# -- inline text ---------------------------------------------------------------------------------------------


def _inline(node: _Node) -> Content:
    """The inline text of a block (paragraph, heading, table cell) as one Content."""
    parts: list[str] = []
    spans: list[Span] = []
    position = 0

    def add(text: str) -> None:
        nonlocal position
        parts.append(text)
        position += len(text)

    def walk(nodes: list[_Node]) -> None:
        for child in nodes:
            kind = child.type
            if kind == "inline":
                walk(child.children)
            elif kind == "text":
                add(_WHITESPACE.sub(" ", child.content))
            elif kind in ("softbreak", "hardbreak"):
                add("\n")  # a line break in the text stays one on screen (chat, not prose)
            elif kind == "code_inline":
                start = position
                add(child.content)
                spans.append(Span(start, position, ".md--code-inline"))
            elif kind == "html_inline":
                add(child.content)
            elif kind == "image":
                start = position
                add("🖼  ")
                alt = child.attrs.get("alt", "")
                if alt:
                    add(f"({alt})")
                walk(child.children)
                spans.append(Span(start, position, ".md--link"))
            elif kind in ("em", "strong", "s", "link"):
                start = position
                walk(child.children)
                spans.append(Span(start, position, f".md--{kind}"))
            else:
                if child.children:
                    walk(child.children)
                elif child.content:
                    add(child.content)

    walk(node.children)
    return Content("".join(parts), spans=spans)
