"""A raw TCP server that sends fixed bytes to whoever connects, then closes: for HTTP replies no
well-behaved server (aiohttp's own included) will produce, such as a chunked body cut mid-chunk."""

from __future__ import annotations

import asyncio


class RawServer:
    """`async with RawServer(reply) as rs:` then talk HTTP to `rs.url`. Each connection gets
    `reply` once the request's headers have arrived, then the connection is closed."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.write(self.reply)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
