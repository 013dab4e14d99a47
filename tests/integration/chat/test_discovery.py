"""Finding llama-server (chat/discovery.py) against real servers: the first in order that answers
wins, a loading server counts, and a silent candidate after it does not hold the answer up."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from llama_tui.chat.discovery import Candidate, find_server, probe
from tests.harness.first_run import closed_url


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections and never answers: a fault no real llama-server makes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_real_server_is_found_and_nothing_is_not(llama_server) -> None:
    assert asyncio.run(probe(llama_server.url)) is True
    assert asyncio.run(probe(closed_url())) is None


def test_the_first_candidate_in_order_that_answers_wins(llama_server, llama3_server) -> None:
    order = [Candidate(closed_url()), Candidate(llama3_server.url, "second"), Candidate(llama_server.url)]
    found = asyncio.run(find_server(order))
    assert found is not None and found.candidate == order[1] and not found.loading
    assert asyncio.run(find_server([Candidate(closed_url()), Candidate(closed_url())])) is None


def test_a_silent_candidate_after_the_answer_does_not_delay_it(llama_server, silent_url: str) -> None:
    async def main() -> object:
        # Probes of 10 minutes: waiting for the silent one would trip the 60 s guard.
        return await asyncio.wait_for(
            find_server([Candidate(llama_server.url), Candidate(silent_url)], timeout=600), 60
        )

    found = asyncio.run(main())
    assert found is not None and found.url == llama_server.url


def test_a_silent_candidate_is_no_server(silent_url: str) -> None:
    assert asyncio.run(probe(silent_url, timeout=0.5)) is None


def test_a_stopped_server_is_no_server_until_it_answers_again(fresh_llama_server) -> None:
    server = fresh_llama_server()
    server.suspend()  # SIGSTOP: the kernel accepts the connection, nobody answers
    try:
        assert asyncio.run(probe(server.url, timeout=0.5)) is None
    finally:
        server.resume()
    assert asyncio.run(probe(server.url)) is True


def test_a_server_still_loading_its_model_counts(llama_server_bin, tmp_path) -> None:
    """The real Gemma 3 270M takes seconds to load; /health says 503 meanwhile."""
    from llama_tui.demo import server_args
    from llama_tui.server import ManagedServer
    from tests.harness.assets import gemma_model

    server = ManagedServer(gemma_model(), binary=llama_server_bin, args=server_args(), log_path=tmp_path / "log")
    server.start()

    async def watch() -> list[bool | None]:
        seen: list[bool | None] = []
        while True:
            found = await find_server([Candidate(closed_url()), Candidate(server.url)])
            seen.append(None if found is None else not found.loading)
            if seen[-1] or len(seen) > 2000 or not server.running:
                return seen
            await asyncio.sleep(0.005)

    try:
        seen = asyncio.run(watch())
    finally:
        server.terminate()
    assert seen[-1] is True, server.log_tail()
    assert False in seen  # found while loading, as a server that is there
