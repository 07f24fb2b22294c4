"""The guarded fetcher against real local servers: streaming, pinning, redirects, caps, deadlines.

Everything runs on 127.0.0.1 with ``allow_private=True`` (the servers are on loopback); names
such as ``media.test`` reach them only through a fake resolver, which proves the connection is
pinned to the resolved address (``.test`` never resolves for real). The SSRF refusals with
``allow_private=False`` are in ``test_fetch_ssrf.py``.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpcore2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mediagate.errors import MediagateError
from mediagate.media.fetch import (
    FetchPolicy,
    GuardedFetcher,
    IPAddress,
    SystemResolver,
)

LOOPBACK = "127.0.0.1"
MIB = 1 << 20

# A test-only CA and a leaf certificate for ``media.test`` it signed (EC P-256, valid
# 2024-2124), so TLS tests need no certificate tooling at run time.
TEST_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUQJazdrI0oRssvdGwk7Tj6KrhauowCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRbWVkaWFnYXRlIHRlc3QgQ0EwIBcNMjQwMTAxMDAwMDAwWhgP
MjEyNDAxMDEwMDAwMDBaMBwxGjAYBgNVBAMMEW1lZGlhZ2F0ZSB0ZXN0IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnVB8AMlXUTw+mS5ZND8xBjprhEydRuT1
aeyTpfcXAXxtoAxgIPHG5tm8S7pude4AtEYiP93hpC3dxHf3J55gLqNFMEMwEgYD
VR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFGsf7HOj
77SAqA1t2qD/+FJZ/zdMMAoGCCqGSM49BAMCA0gAMEUCIHawAVUlcEvjWjQ3IbZ6
1VSoWT6dlm0uKVaDO3U2Cpx0AiEAiER+pn7F4+9bpkbDIXmukk5NsmOW9l/rBS4q
W7OB9pU=
-----END CERTIFICATE-----
"""
TEST_LEAF_PEM = """-----BEGIN CERTIFICATE-----
MIIBwzCCAWmgAwIBAgIUYHwKYa6vqpnqs83MwGifxn0D/KowCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRbWVkaWFnYXRlIHRlc3QgQ0EwIBcNMjQwMTAxMDAwMDAwWhgP
MjEyNDAxMDEwMDAwMDBaMBUxEzARBgNVBAMMCm1lZGlhLnRlc3QwWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAAQdKSIvH+zGwWyr/XFF0cAxPIqAll0iZd2Ps5TJxukS
Lag/ooGlmwIFW2ohLVMOGqAgbh58JHVYCskLkDV4IXcKo4GNMIGKMAwGA1UdEwEB
/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMBUGA1Ud
EQQOMAyCCm1lZGlhLnRlc3QwHQYDVR0OBBYEFE4bK1evomtgow+M0qyaxfTPE8oy
MB8GA1UdIwQYMBaAFGsf7HOj77SAqA1t2qD/+FJZ/zdMMAoGCCqGSM49BAMCA0gA
MEUCIQCXGsT8xsinGa4YookkSo7F30XhyjYwv/5d32OZpAQrhwIgElbp2e6G33UE
4z+iOl5OfiVzqnf44iH1ZGi7N0NXveg=
-----END CERTIFICATE-----
"""
TEST_LEAF_KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfE3bQ8an8agNeLMn
YsWLfA4wbJvsLBosMUVsI/ZQyt+hRANCAAQdKSIvH+zGwWyr/XFF0cAxPIqAll0i
Zd2Ps5TJxukSLag/ooGlmwIFW2ohLVMOGqAgbh58JHVYCskLkDV4IXcK
-----END PRIVATE KEY-----
"""


def payload(size: int) -> bytes:
    """Deterministic, non-repeating-at-chunk-boundaries body of ``size`` bytes."""
    block = bytes(range(251))  # a prime length, so chunk edges never line up with it
    return (block * (size // len(block) + 1))[:size]


# --- the Starlette app, served by uvicorn in a thread for the whole session -----------------


async def file_route(request: Request) -> Response:
    return Response(payload(int(request.query_params["size"])), media_type="video/mp4")


async def chunked_route(request: Request) -> StreamingResponse:
    size = int(request.query_params["size"])

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        while sent < size:
            n = min(64 * 1024, size - sent)
            yield payload(n)
            sent += n

    return StreamingResponse(body(), media_type="application/octet-stream")


async def echo_route(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.headers.items()))


async def to_route(request: Request) -> Response:
    status = int(request.query_params.get("status", "302"))
    return Response(status_code=status, headers={"location": request.query_params["url"]})


async def hops_route(request: Request) -> Response:
    n = int(request.path_params["n"])
    if n == 0:
        return Response(b"arrived", media_type="text/plain")
    return Response(status_code=302, headers={"location": f"/hops/{n - 1}"})


async def loop_route(request: Request) -> Response:
    other = "b" if request.path_params["side"] == "a" else "a"
    return Response(status_code=301, headers={"location": f"/loop/{other}#frag"})


async def status_route(request: Request) -> Response:
    later = request.query_params.get("later")
    headers = {"Retry-After": later} if later else None
    return Response(b"nope", status_code=int(request.path_params["code"]), headers=headers)


async def gzip_route(request: Request) -> Response:
    body = gzip.compress(b"\0" * MIB)
    return Response(body, headers={"content-encoding": "gzip"}, media_type="image/png")


APP = Starlette(
    routes=[
        Route("/file", file_route),
        Route("/chunked", chunked_route),
        Route("/echo", echo_route),
        Route("/to", to_route),
        Route("/hops/{n:int}", hops_route),
        Route("/loop/{side}", loop_route),
        Route("/status/{code:int}", status_route),
        Route("/gzip", gzip_route),
    ]
)


@pytest.fixture(scope="session")
def port() -> Iterator[int]:
    """Port of a uvicorn server on 127.0.0.1 (socket bound first, so no readiness wait)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(128)
    config = uvicorn.Config(
        APP, lifespan="off", ws="none", http="h11", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)
    sock.close()


# --- fakes: a resolver and an observable dialer ---------------------------------------------


class FakeResolver:
    """Maps names to fixed answers and records every lookup; unknown names do not resolve."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


class RecordingBackend(httpcore2.AsyncNetworkBackend):
    """The real AnyIO dialer, recording each (host, port) it is asked to connect to."""

    def __init__(self) -> None:
        self.inner = httpcore2.AnyIOBackend()
        self.dials: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        self.dials.append((host, port))
        return await self.inner.connect_tcp(host, port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class StallingBackend(RecordingBackend):
    """A dialer whose connection attempts never complete (honours the connect timeout)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        self.dials.append((host, port))
        try:
            with anyio.fail_after(timeout):
                await anyio.sleep_forever()
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        raise AssertionError("unreachable")


def policy(**overrides: Any) -> FetchPolicy:
    values: dict[str, Any] = {
        "allow_private": True,
        "max_bytes": 8 * MIB,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
    }
    values.update(overrides)
    return FetchPolicy(**values)


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver(
        {
            "media.test": [LOOPBACK],
            "cdn.test": [LOOPBACK],
            "final.test": [LOOPBACK],
            "wrong.test": [LOOPBACK],
        }
    )


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
async def fetcher(
    resolver: FakeResolver, backend: RecordingBackend
) -> AsyncIterator[GuardedFetcher]:
    async with GuardedFetcher(policy(), resolver=resolver, network_backend=backend) as f:
        yield f


async def refused(call: Awaitable[object]) -> MediagateError:
    with pytest.raises(MediagateError) as info:
        await call
    return info.value


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- raw asyncio servers for what a well-behaved framework will not send --------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """Start raw TCP (or TLS) servers on 127.0.0.1; every handler task is ended at teardown."""
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[Any]] = set()

    async def start(handler: Handler, *, tls: ssl.SSLContext | None = None) -> int:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(run, LOOPBACK, 0, ssl=tls)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for server in servers:
        await server.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def until_client_closes(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


# --- streaming and pinning ------------------------------------------------------------------


async def test_streams_a_file_to_disk_with_the_right_size_and_bytes(
    fetcher: GuardedFetcher,
    resolver: FakeResolver,
    backend: RecordingBackend,
    port: int,
    tmp_path: Path,
) -> None:
    size = 3 * MIB + 17  # several write batches plus a ragged tail
    url = f"http://media.test:{port}/file?size={size}"
    dest = tmp_path / "out" / "clip.mp4"

    result = await fetcher.fetch_to_file(url, dest)

    assert result.size_bytes == size
    assert result.path == dest
    assert result.url == url
    assert result.content_type == "video/mp4"
    assert result.redirects == ()
    assert dest.read_bytes() == payload(size)
    assert leftovers(dest.parent) == ["clip.mp4"]
    # One lookup through our resolver, one connection to exactly the address it returned.
    assert resolver.calls == [("media.test", port)]
    assert backend.dials == [(LOOPBACK, port)]


async def test_request_keeps_the_original_host_header(fetcher: GuardedFetcher, port: int) -> None:
    result = await fetcher.fetch_bytes(f"http://media.test:{port}/echo")

    assert result.data is not None
    headers = json.loads(result.data)
    assert headers["host"] == f"media.test:{port}"
    assert headers["user-agent"] == "mediagate"
    assert headers["accept-encoding"] == "identity"
    assert "authorization" not in headers


async def test_fetch_bytes_returns_the_body(fetcher: GuardedFetcher, port: int) -> None:
    result = await fetcher.fetch_bytes(f"http://media.test:{port}/file?size=1000")

    assert result.data == payload(1000)
    assert result.size_bytes == 1000
    assert result.path is None


async def test_an_existing_destination_is_replaced_only_by_a_complete_body(
    fetcher: GuardedFetcher, port: int, tmp_path: Path
) -> None:
    dest = tmp_path / "a.mp4"
    dest.write_bytes(b"old")

    await refused(fetcher.fetch_to_file(f"http://media.test:{port}/status/500", dest))
    assert dest.read_bytes() == b"old"

    await fetcher.fetch_to_file(f"http://media.test:{port}/file?size=10", dest)
    assert dest.read_bytes() == payload(10)
    assert leftovers(tmp_path) == ["a.mp4"]


class TLSServer:
    """A raw TLS server presenting the ``media.test`` certificate; records SNI and Host."""

    def __init__(self, directory: Path) -> None:
        (directory / "leaf.pem").write_text(TEST_LEAF_PEM + TEST_CA_PEM)
        (directory / "leaf.key").write_text(TEST_LEAF_KEY_PEM)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(directory / "leaf.pem", directory / "leaf.key")
        self.context.sni_callback = self._record_sni
        self.sni: list[str | None] = []
        self.hosts: list[bytes] = []

    def _record_sni(self, _obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.sni.append(name)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        self.hosts.extend(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"host:")
        )
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        await writer.drain()


async def test_tls_uses_the_original_name_for_sni_and_certificate_checks(
    raw_server: Callable[..., Awaitable[int]],
    resolver: FakeResolver,
    backend: RecordingBackend,
    tmp_path: Path,
) -> None:
    server = TLSServer(tmp_path)
    tls_port = await raw_server(server.handle, tls=server.context)
    client_ctx = ssl.create_default_context(cadata=TEST_CA_PEM)
    fetcher = GuardedFetcher(
        policy(), resolver=resolver, network_backend=backend, ssl_context=client_ctx
    )

    result = await fetcher.fetch_bytes(f"https://media.test:{tls_port}/")
    assert result.data == b"hello"
    assert server.sni == ["media.test"]
    assert server.hosts == [f"media.test:{tls_port}".encode()]
    assert backend.dials == [(LOOPBACK, tls_port)]

    # Same address, another name: the certificate is checked against the name, not the IP.
    error = await refused(fetcher.fetch_bytes(f"https://wrong.test:{tls_port}/"))
    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "connect"
    assert "wrong.test" in error.message
    assert server.sni == ["media.test", "wrong.test"]


async def test_default_trust_store_verifies_and_honours_ssl_cert_file(
    monkeypatch: pytest.MonkeyPatch,
    raw_server: Callable[..., Awaitable[int]],
    resolver: FakeResolver,
    tmp_path: Path,
) -> None:
    server = TLSServer(tmp_path)
    tls_port = await raw_server(server.handle, tls=server.context)
    url = f"https://media.test:{tls_port}/"
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    untrusted = GuardedFetcher(policy(), resolver=resolver)
    error = await refused(untrusted.fetch_bytes(url))
    assert error.details["reason"] == "connect"
    assert "certificate" in error.message.lower()

    (tmp_path / "ca.pem").write_text(TEST_CA_PEM)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    trusted = GuardedFetcher(policy(), resolver=resolver)
    assert (await trusted.fetch_bytes(url)).data == b"hello"


async def test_proxy_and_netrc_environment_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
    fetcher: GuardedFetcher,
    backend: RecordingBackend,
    port: int,
    tmp_path: Path,
) -> None:
    closed = socket.socket()
    closed.bind((LOOPBACK, 0))
    dead = f"http://{LOOPBACK}:{closed.getsockname()[1]}"
    closed.close()  # nothing listens there any more
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine media.test login leak password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))

    result = await fetcher.fetch_bytes(f"http://media.test:{port}/echo")

    assert result.data is not None
    assert "authorization" not in json.loads(result.data)
    assert backend.dials == [(LOOPBACK, port)]


async def test_system_resolver_answers_without_blocking(port: int) -> None:
    addresses = await SystemResolver().resolve("localhost", port)
    assert addresses
    assert all(a.is_loopback for a in addresses)


# --- redirects ------------------------------------------------------------------------------


async def test_redirects_are_followed_and_every_hop_is_resolved_again(
    fetcher: GuardedFetcher, resolver: FakeResolver, backend: RecordingBackend, port: int
) -> None:
    final = f"http://final.test:{port}/file?size=321"
    middle = f"http://cdn.test:{port}/to?status=307&url={final.replace('&', '%26')}"
    start = f"http://media.test:{port}/to?url={middle.replace('&', '%26').replace('?', '%3F')}"

    result = await fetcher.fetch_bytes(start)

    assert result.data == payload(321)
    assert result.url == final
    assert result.redirects == (start, middle)
    assert resolver.calls == [("media.test", port), ("cdn.test", port), ("final.test", port)]
    assert backend.dials == [(LOOPBACK, port)] * 3


async def test_relative_redirects_resolve_against_the_current_url(
    fetcher: GuardedFetcher, port: int
) -> None:
    result = await fetcher.fetch_bytes(f"http://media.test:{port}/hops/3")

    assert result.data == b"arrived"
    assert result.url == f"http://media.test:{port}/hops/0"
    assert len(result.redirects) == 3


async def test_redirects_past_the_hop_cap_are_refused(
    resolver: FakeResolver, backend: RecordingBackend, port: int
) -> None:
    capped = GuardedFetcher(policy(max_redirects=2), resolver=resolver, network_backend=backend)

    assert (await capped.fetch_bytes(f"http://media.test:{port}/hops/2")).data == b"arrived"
    error = await refused(capped.fetch_bytes(f"http://media.test:{port}/hops/3"))

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "too_many_redirects"
    assert "redirect-hop cap" in error.message


async def test_no_redirects_at_all_when_the_cap_is_zero(
    resolver: FakeResolver, backend: RecordingBackend, port: int
) -> None:
    strict = GuardedFetcher(policy(max_redirects=0), resolver=resolver, network_backend=backend)

    error = await refused(strict.fetch_bytes(f"http://media.test:{port}/hops/1"))

    assert error.details["reason"] == "too_many_redirects"
    assert backend.dials == [(LOOPBACK, port)]


async def test_redirect_loops_are_detected(
    fetcher: GuardedFetcher, backend: RecordingBackend, port: int
) -> None:
    error = await refused(fetcher.fetch_bytes(f"http://media.test:{port}/loop/a"))

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "redirect_loop"
    assert len(backend.dials) == 2  # a, then b, whose target a was already visited


async def test_a_redirect_without_location_fails(
    raw_server: Callable[..., Awaitable[int]], fetcher: GuardedFetcher
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    raw_port = await raw_server(handler)
    error = await refused(fetcher.fetch_bytes(f"http://media.test:{raw_port}/"))

    assert error.details == error.details | {"reason": "bad_redirect", "status": 302}


# --- statuses and broken servers ------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 502, 503])
async def test_error_statuses_fail_with_the_status(
    fetcher: GuardedFetcher, port: int, status: int, tmp_path: Path
) -> None:
    error = await refused(
        fetcher.fetch_to_file(f"http://media.test:{port}/status/{status}", tmp_path / "x")
    )

    assert error.code == "source_fetch_failed"
    assert error.details["status"] == status
    assert error.details["reason"] == "http_status"
    assert str(status) in error.message
    assert leftovers(tmp_path) == []


async def test_unresolvable_names_fail_as_dns(fetcher: GuardedFetcher) -> None:
    error = await refused(fetcher.fetch_bytes("http://nowhere.test/"))

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "dns"


async def test_a_closed_port_fails_to_connect(fetcher: GuardedFetcher) -> None:
    closed = socket.socket()
    closed.bind((LOOPBACK, 0))
    closed_port = closed.getsockname()[1]
    closed.close()

    error = await refused(fetcher.fetch_bytes(f"http://media.test:{closed_port}/"))

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "connect"


async def test_a_body_cut_short_fails_and_leaves_no_file(
    raw_server: Callable[..., Awaitable[int]], fetcher: GuardedFetcher, tmp_path: Path
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 400)
        await writer.drain()

    raw_port = await raw_server(handler)
    error = await refused(
        fetcher.fetch_to_file(f"http://media.test:{raw_port}/", tmp_path / "cut.bin")
    )

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "protocol"
    assert leftovers(tmp_path) == []


async def test_compressed_bodies_are_refused(fetcher: GuardedFetcher, port: int) -> None:
    error = await refused(fetcher.fetch_bytes(f"http://media.test:{port}/gzip"))

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "content_encoding"


async def test_a_closed_fetcher_refuses_work(fetcher: GuardedFetcher, port: int) -> None:
    await fetcher.aclose()
    with pytest.raises(RuntimeError):
        await fetcher.fetch_bytes(f"http://media.test:{port}/file?size=1")


# --- size cap -------------------------------------------------------------------------------


def small(resolver: FakeResolver, backend: RecordingBackend, limit: int = MIB) -> GuardedFetcher:
    return GuardedFetcher(policy(max_bytes=limit), resolver=resolver, network_backend=backend)


async def test_a_declared_length_over_the_cap_is_refused_before_the_body(
    resolver: FakeResolver, backend: RecordingBackend, port: int, tmp_path: Path
) -> None:
    error = await refused(
        small(resolver, backend).fetch_to_file(
            f"http://media.test:{port}/file?size={MIB + 1}", tmp_path / "big.mp4"
        )
    )

    assert error.code == "source_too_large"
    assert error.details["max_bytes"] == MIB
    assert error.details["declared_bytes"] == MIB + 1
    assert leftovers(tmp_path) == []


async def test_exactly_the_cap_is_allowed(
    resolver: FakeResolver, backend: RecordingBackend, port: int, tmp_path: Path
) -> None:
    result = await small(resolver, backend).fetch_to_file(
        f"http://media.test:{port}/chunked?size={MIB}", tmp_path / "edge.bin"
    )
    assert result.size_bytes == MIB


async def test_a_chunked_body_over_the_cap_is_cut_off(
    resolver: FakeResolver, backend: RecordingBackend, port: int, tmp_path: Path
) -> None:
    error = await refused(
        small(resolver, backend).fetch_to_file(
            f"http://media.test:{port}/chunked?size={20 * MIB}", tmp_path / "big.bin"
        )
    )

    assert error.code == "source_too_large"
    assert error.details["max_bytes"] == MIB
    assert "declared_bytes" not in error.details
    assert leftovers(tmp_path) == []


async def test_a_close_delimited_body_over_the_cap_is_cut_off(
    raw_server: Callable[..., Awaitable[int]],
    resolver: FakeResolver,
    backend: RecordingBackend,
    tmp_path: Path,
) -> None:
    sent = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await read_head(reader)
        # No Content-Length, no chunking: the body runs until the server closes.
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        while sent < 64 * MIB:
            writer.write(b"\0" * 65536)
            await writer.drain()
            sent += 65536

    raw_port = await raw_server(handler)
    error = await refused(
        small(resolver, backend).fetch_to_file(
            f"http://media.test:{raw_port}/", tmp_path / "endless.bin"
        )
    )

    assert error.code == "source_too_large"
    assert sent < 64 * MIB  # the fetcher hung up long before the server ran out
    assert leftovers(tmp_path) == []


async def test_a_lying_small_content_length_never_yields_more_than_it_declared(
    raw_server: Callable[..., Awaitable[int]],
    resolver: FakeResolver,
    backend: RecordingBackend,
    tmp_path: Path,
) -> None:
    # A header claiming 100 bytes followed by megabytes: HTTP/1.1 framing ends the body at the
    # declared length, so the excess is never read as body and can never pass the cap.
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(64):
            writer.write(b"y" * 65536)
            await writer.drain()

    raw_port = await raw_server(handler)
    result = await small(resolver, backend).fetch_to_file(
        f"http://media.test:{raw_port}/", tmp_path / "lie.bin"
    )

    assert result.size_bytes == 100
    assert (tmp_path / "lie.bin").read_bytes() == b"y" * 100


# --- deadlines ------------------------------------------------------------------------------


async def test_a_server_that_never_answers_hits_the_read_timeout(
    raw_server: Callable[..., Awaitable[int]],
    resolver: FakeResolver,
    backend: RecordingBackend,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await until_client_closes(reader)

    raw_port = await raw_server(handler)
    fetcher = GuardedFetcher(policy(read_timeout=0.3), resolver=resolver, network_backend=backend)
    started = time.monotonic()
    error = await refused(fetcher.fetch_bytes(f"http://media.test:{raw_port}/"))

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "timeout"
    assert time.monotonic() - started < 2.0


async def test_a_trickling_server_hits_the_total_deadline(
    raw_server: Callable[..., Awaitable[int]],
    resolver: FakeResolver,
    backend: RecordingBackend,
    tmp_path: Path,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(200):  # bounded: 20 s at most, far past the deadline under test
            writer.write(b"1\r\nx\r\n")
            await writer.drain()
            await asyncio.sleep(0.1)  # the server's pace, each gap well inside read_timeout

    raw_port = await raw_server(handler)
    fetcher = GuardedFetcher(
        policy(read_timeout=1.0, total_timeout=0.5), resolver=resolver, network_backend=backend
    )
    started = time.monotonic()
    error = await refused(
        fetcher.fetch_to_file(f"http://media.test:{raw_port}/", tmp_path / "slow.bin")
    )

    assert error.code == "source_fetch_failed"
    assert error.details["reason"] == "timeout"
    assert time.monotonic() - started < 2.0
    assert leftovers(tmp_path) == []


async def test_a_cancelled_download_leaves_no_partial_file(
    raw_server: Callable[..., Awaitable[int]],
    fetcher: GuardedFetcher,
    tmp_path: Path,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 2000)
        await writer.drain()
        await until_client_closes(reader)

    raw_port = await raw_server(handler)
    with anyio.move_on_after(0.3) as scope:  # the caller gives up mid-body
        await fetcher.fetch_to_file(f"http://media.test:{raw_port}/", tmp_path / "c.bin")

    assert scope.cancelled_caught
    assert leftovers(tmp_path) == []


async def test_a_connection_that_never_completes_hits_the_connect_timeout(
    resolver: FakeResolver,
) -> None:
    stalled = StallingBackend()
    fetcher = GuardedFetcher(
        policy(connect_timeout=0.3), resolver=resolver, network_backend=stalled
    )
    started = time.monotonic()
    error = await refused(fetcher.fetch_bytes("http://media.test/"))

    assert error.details["reason"] == "timeout"
    assert "connecting" in error.message
    assert stalled.dials == [(LOOPBACK, 80)]
    assert time.monotonic() - started < 2.0


async def test_a_resolver_that_hangs_hits_the_connect_timeout(
    backend: RecordingBackend,
) -> None:
    class HangingResolver:
        async def resolve(self, host: str, port: int) -> list[IPAddress]:
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

    fetcher = GuardedFetcher(
        policy(connect_timeout=0.3), resolver=HangingResolver(), network_backend=backend
    )
    started = time.monotonic()
    error = await refused(fetcher.fetch_bytes("http://media.test/"))

    assert error.details["reason"] == "timeout"
    assert backend.dials == []
    assert time.monotonic() - started < 2.0


def test_policy_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        FetchPolicy(max_bytes=0)
    with pytest.raises(ValueError):
        FetchPolicy(max_bytes=1, total_timeout=0)
    with pytest.raises(ValueError):
        FetchPolicy(max_bytes=1, max_redirects=-1)


def test_policy_from_settings_follows_allow_private_urls() -> None:
    from mediagate.settings import Settings

    relaxed = FetchPolicy.from_settings(Settings(allow_private_urls=True), max_bytes=10)
    strict = FetchPolicy.from_settings(Settings(allow_private_urls=False), max_bytes=10)

    assert relaxed.allow_private is True
    assert strict.allow_private is False
    assert strict.max_bytes == 10


async def test_a_refused_download_reports_the_retry_after_it_was_sent(
    fetcher: GuardedFetcher, port: int, tmp_path: Path
) -> None:
    with pytest.raises(MediagateError) as caught:
        await fetcher.fetch_to_file(f"http://media.test:{port}/status/429?later=17", tmp_path / "x")
    details = caught.value.details
    assert details["reason"] == "http_status" and details["status"] == 429
    assert details["retry_after"] == "17"
