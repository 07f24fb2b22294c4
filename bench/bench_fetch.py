"""Guarded fetch cost: ``GuardedFetcher`` vs. a plain ``httpx2.AsyncClient`` in the same run.

Both fetch from one uvicorn server on 127.0.0.1 and both open a fresh connection per fetch
(the guard never reuses one, so the baseline has keep-alive off). Figures: throughput
streaming a large file to disk (the baseline batches writes like the guard does), and the
median latency of small in-memory fetches, where the guard's extra work is a resolver call,
the address checks and building a one-hop client. Run: ``python bench/bench_fetch.py``.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mediagate.media.fetch import FetchPolicy, GuardedFetcher, IPAddress

LARGE = 64 << 20
SMALL = 1024
ROUNDS = 5
SMALL_FETCHES = 300
CHUNK = bytes(range(256)) * 256  # 64 KiB


async def large(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(LARGE // len(CHUNK)):
            yield CHUNK

    return StreamingResponse(body(), headers={"content-length": str(LARGE)})


async def small(request: Request) -> Response:
    return Response(b"x" * SMALL)


class LoopbackResolver:
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        return [ipaddress.IPv4Address("127.0.0.1")]


def serve() -> tuple[int, Callable[[], None]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    app = Starlette(routes=[Route("/large", large), Route("/small", small)])
    config = uvicorn.Config(app, lifespan="off", ws="none", http="h11", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return sock.getsockname()[1], stop


async def plain_to_file(client: httpx2.AsyncClient, url: str, dest: Path) -> int:
    size = 0
    buffer = bytearray()
    async with client.stream("GET", url) as response, await anyio.open_file(dest, "wb") as f:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            buffer += chunk
            if len(buffer) >= 1 << 20:
                await f.write(buffer)
                buffer = bytearray()
        await f.write(buffer)
    return size


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


async def main(port: int) -> None:
    policy = FetchPolicy(allow_private=True, max_bytes=LARGE * 2)
    guard = GuardedFetcher(policy, resolver=LoopbackResolver())
    big_url = f"http://bench.test:{port}/large"
    plain_big = f"http://127.0.0.1:{port}/large"
    small_url = f"http://bench.test:{port}/small"
    plain_small = f"http://127.0.0.1:{port}/small"

    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "out.bin"
        no_reuse = httpx2.Limits(max_keepalive_connections=0)
        async with httpx2.AsyncClient(trust_env=False, limits=no_reuse) as client:
            await plain_to_file(client, plain_big, dest)  # warm-up
            base = await timed(lambda: plain_to_file(client, plain_big, dest), ROUNDS)
            ours = await timed(lambda: guard.fetch_to_file(big_url, dest), ROUNDS)
            mib = LARGE / (1 << 20)
            b, o = min(base), min(ours)
            print(f"large file ({mib:.0f} MiB to disk, best of {ROUNDS}):")
            print(f"  plain httpx2   {mib / b:8.0f} MiB/s")
            print(f"  GuardedFetcher {mib / o:8.0f} MiB/s   ratio {o / b:.2f}x time")

            plain = await timed(lambda: client.get(plain_small), SMALL_FETCHES)
        guarded = await timed(lambda: guard.fetch_bytes(small_url), SMALL_FETCHES)
        p, g = (statistics.median(s) * 1e6 for s in (plain, guarded))
        print(f"small fetch ({SMALL} B in memory, median of {SMALL_FETCHES}):")
        print(f"  plain httpx2   {p:8.0f} µs")
        print(f"  GuardedFetcher {g:8.0f} µs   ratio {g / p:.2f}x")


if __name__ == "__main__":
    port, stop = serve()
    try:
        asyncio.run(main(port))
    finally:
        stop()
