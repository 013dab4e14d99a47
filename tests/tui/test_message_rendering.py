"""How messages look: line breaks kept (issue 13, item 4), code blocks that stand out with a label
and the number `b` counts by. The scripted fault server plays the model (a random-weight model
cannot write a poem or a code block); the stored text stays exactly what was typed or sent."""

from __future__ import annotations

from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.fault_server import FaultServer, final, token
from tests.harness.faults import screen_text

POEM = "Roses are red,\nviolets are blue,\nsugar is sweet."
CODE_ANSWER = "Two snippets:\n\n```python\nprint('one')\n```\n\nand\n\n```sh\necho two\n```\n"


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def painted(view: MessageView) -> list[str]:
    body = view.markdown
    return [body.render_line(y).text.rstrip() for y in range(body.size.height)]


def scripted(fs: FaultServer, answer: str) -> None:
    pieces = [answer[i : i + 5] for i in range(0, len(answer), 5)]
    fs.completion = lambda r: fs.stream(r, [token(p) for p in pieces] + [final(len(pieces))], delay=0.001)


async def test_single_newlines_show_as_line_breaks_in_questions_and_answers(make_app) -> None:
    async with FaultServer() as fs:
        scripted(fs, "Here it is back:\n" + POEM)
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            answer = await ask_and_wait(pilot, POEM)
            question = app.main.query(MessageView).first()
            assert painted(question) == POEM.splitlines()
            assert painted(answer) == ["Here it is back:", *POEM.splitlines()]
            text = screen_text(app)
            # On screen: each line of the poem on a line of its own, in the question and the answer.
            assert len(lines_with(text, "violets are blue,")) == 2
            assert not any("violets" in line for line in lines_with(text, "Roses are red,"))
            # Stored as typed and as sent.
            stored = app.store.active_path(app.main.session.id)
            assert [m.content for m in stored] == [POEM, "Here it is back:\n" + POEM]


async def test_a_pasted_block_of_lines_keeps_its_lines(make_app) -> None:
    pasted = "\n".join(f"row {i}: value {i * i}" for i in range(60))
    async with FaultServer() as fs:
        scripted(fs, "ok")
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            await ask_and_wait(pilot, pasted)
            question = app.main.query(MessageView).first()
            assert painted(question) == pasted.splitlines()


async def test_code_blocks_show_their_language_and_the_number_b_copies(make_app) -> None:
    async with FaultServer() as fs:
        scripted(fs, CODE_ANSWER)
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(100, 40)) as pilot:
            answer = await ask_and_wait(pilot, "two snippets please")
            lines = painted(answer)
            labels = [line for line in lines if line.endswith(("#1", "#2"))]
            assert len(labels) == 2
            assert labels[0].split() == ["python", "#1"] and labels[1].split() == ["sh", "#2"]
            assert lines[lines.index(labels[0]) + 1] == "  print('one')"
            # The block's background spans the width, label line included.
            body = answer.markdown
            label_y = lines.index(labels[0])
            backgrounds = {seg.style.bgcolor for seg in body.render_line(label_y) if seg.style}
            plain = {seg.style.bgcolor for seg in body.render_line(0) if seg.style}
            assert backgrounds and backgrounds.isdisjoint(plain)

            await pilot.press("alt+up")
            await wait_for(pilot, lambda: app.focused is answer)
            await pilot.press("b")
            assert app.clipboard == "print('one')\n"
            await pilot.press("b")
            assert app.clipboard == "echo two\n"


async def test_a_short_message_is_laid_out_again_at_a_new_width(make_app) -> None:
    long_line = "lorem ipsum dolor " * 12
    async with FaultServer() as fs:
        scripted(fs, long_line)
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            answer = await ask_and_wait(pilot, "a long line")
            wide = painted(answer)
            await pilot.resize_terminal(70, 40)
            await wait_for(pilot, lambda: len(painted(answer)) > len(wide))
            assert all(len(line) <= answer.markdown.size.width for line in painted(answer))
            assert " ".join(" ".join(painted(answer)).split()) == " ".join(long_line.split())
            composer = app.main.query_one(Composer)
            assert composer.text == ""
