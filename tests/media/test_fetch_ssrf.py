"""SSRF matrix: every payload is refused with ``unsafe_source_url`` and dials nothing non-public.

The fetcher's dialer is a ``GuardBackend`` that records every address it is asked to connect
to. A non-public address is recorded as a violation and never dialled; the only public
addresses it dials are a few stand-ins (1.1.1.1, 8.8.8.8, 2606:4700:4700::1111) that it routes
to a uvicorn server on 127.0.0.1, so nothing here ever reaches the real internet. The fake
resolver maps ``*.test`` names to public, private and mixed answers without any DNS. Public
controls through the same guard must succeed in the same run.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import anyio
import httpcore2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mediagate.catalog.urls import is_public_address
from mediagate.errors import MediagateError
from mediagate.media.fetch import FetchPolicy, GuardedFetcher, IPAddress

LOOPBACK = "127.0.0.1"
#: Public stand-ins the guard routes to the loopback test server (never dialled for real).
ROUTED_PUBLIC = frozenset({"1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"})

ANSWERS: dict[str, list[str]] = {
    "public.test": ["1.1.1.1"],
    "other-public.test": ["8.8.8.8"],
    "public6.test": ["2606:4700:4700::1111"],
    "fallback.test": ["9.9.9.9", "1.1.1.1"],
    "loopback.test": ["127.0.0.1"],
    "loopback-other.test": ["127.53.0.1"],
    "private10.test": ["10.1.2.3"],
    "private172.test": ["172.31.255.1"],
    "private192.test": ["192.168.0.10"],
    "v6-loopback.test": ["::1"],
    "v6-ula.test": ["fd12:3456::1"],
    "v6-mapped.test": ["::ffff:10.0.0.1"],
    "nat64-metadata.test": ["64:ff9b::a9fe:a9fe"],
    "metadata.test": ["169.254.169.254"],
    "metadata6.test": ["fd00:ec2::254"],
    "cgnat.test": ["100.100.100.200"],
    "zero.test": ["0.0.0.0"],
    "documentation.test": ["203.0.113.10"],
    "mixed.test": ["1.1.1.1", "10.0.0.1"],
    "mixed-last.test": ["1.1.1.1", "8.8.8.8", "127.0.0.1"],
    "mixed6.test": ["2606:4700:4700::1111", "::ffff:127.0.0.1"],
    "mixed-metadata.test": ["8.8.8.8", "169.254.169.254"],
}

# --- the loopback server behind the public stand-ins ----------------------------------------


async def ok_route(request: Request) -> Response:
    return Response(b"public content", media_type="image/png")


async def to_route(request: Request) -> Response:
    return Response(status_code=302, headers={"location": request.query_params["url"]})


async def loop_route(request: Request) -> Response:
    other = "b" if request.path_params["side"] == "a" else "a"
    return Response(status_code=302, headers={"location": f"/loop/{other}"})


APP = Starlette(
    routes=[Route("/ok", ok_route), Route("/to", to_route), Route("/loop/{side}", loop_route)]
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


# --- the observable dialer and the fake resolver --------------------------------------------


class GuardBackend(httpcore2.AsyncNetworkBackend):
    """Records every dial; refuses (and flags) non-public ones; routes stand-ins to loopback."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = httpcore2.AnyIOBackend()
        self.dials: list[tuple[str, int]] = []
        self.violations: list[str] = []

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
            public = is_public_address(ipaddress.ip_address(host))
        except ValueError:  # a name reached the dialer: pinning is broken
            public = False
        if not public:
            self.violations.append(host)
            raise httpcore2.ConnectError(f"test guard: refused to dial non-public {host}")
        if host not in ROUTED_PUBLIC:
            raise httpcore2.ConnectError(f"test guard: {host} is not a routed stand-in")
        return await self.inner.connect_tcp(LOOPBACK, self.port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class FakeResolver:
    """Answers from ``ANSWERS`` (unknown names do not resolve) and records every lookup."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = ANSWERS if answers is None else answers
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


@pytest.fixture
def guard(port: int) -> GuardBackend:
    return GuardBackend(port)


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


def make_fetcher(
    guard: GuardBackend, resolver: FakeResolver, *, allow_private: bool = False
) -> GuardedFetcher:
    policy = FetchPolicy(
        allow_private=allow_private,
        max_bytes=1 << 20,
        connect_timeout=2,
        read_timeout=2,
        total_timeout=5,
    )
    return GuardedFetcher(policy, resolver=resolver, network_backend=guard)


@pytest.fixture
async def fetcher(guard: GuardBackend, resolver: FakeResolver) -> AsyncIterator[GuardedFetcher]:
    async with make_fetcher(guard, resolver) as f:
        yield f


def redirect(target: str) -> str:
    """A public URL (public.test, routed to loopback) that answers 302 to ``target``."""
    return "http://public.test/to?url=" + quote(target, safe="")


# --- the matrix -----------------------------------------------------------------------------

#: Refused before any connection: by syntax, by literal address, or by resolved address.
DIRECT: dict[str, str] = {
    # literal loopback in every spelling inet_aton accepts
    "decimal": "http://2130706433/",
    "octal": "http://0177.0.0.1/",
    "octal-whole": "http://017700000001/",
    "hex-dotted": "http://0x7f.0x0.0x0.0x1/",
    "hex-whole": "http://0x7f000001/",
    "short": "http://127.1/",
    "loopback-https-port": "https://127.0.0.1:8443/",
    "loopback-trailing-dot": "http://127.0.0.1./",
    "unspecified": "http://0.0.0.0/",
    "zero": "http://0/",
    # IPv6 literals, including forms wrapping IPv4
    "v6-loopback": "http://[::1]/",
    "v6-unspecified": "http://[::]/",
    "v6-mapped-dotted": "http://[::ffff:127.0.0.1]/",
    "v6-mapped-hex": "http://[::ffff:7f00:1]/",
    "v6-compatible": "http://[::127.0.0.1]/",
    "nat64-loopback": "http://[64:ff9b::7f00:1]/",
    "nat64-metadata": "http://[64:ff9b::a9fe:a9fe]/",
    "6to4-loopback": "http://[2002:7f00:1::]/",
    "6to4-metadata": "http://[2002:a9fe:a9fe::]/",
    "v6-link-local": "http://[fe80::1]/",
    "v6-link-local-zone": "http://[fe80::1%25eth0]/",
    "v6-ula": "http://[fc00::1]/",
    # cloud metadata
    "metadata-v4": "http://169.254.169.254/latest/meta-data/iam/",
    "metadata-v6": "http://[fd00:ec2::254]/latest/meta-data/",
    "metadata-gcp": "http://metadata.google.internal/computeMetadata/v1/",
    "metadata-gcp-dot": "http://metadata.google.internal./computeMetadata/v1/",
    # private, shared, multicast, reserved, broadcast
    "cgnat": "http://100.64.0.1/",
    "private-10": "http://10.0.0.1/",
    "private-172": "http://172.16.0.1/",
    "private-192": "http://192.168.1.1/",
    "multicast": "http://224.0.0.1/",
    "reserved": "http://240.0.0.1/",
    "broadcast": "http://255.255.255.255/",
    # internal names
    "localhost": "http://localhost/",
    "localhost-upper": "http://LOCALHOST:8080/",
    "localhost-sub": "http://foo.localhost/",
    # names that resolve (fake resolver) to non-public answers
    "name-loopback": "http://loopback.test/",
    "name-loopback-other": "http://loopback-other.test/",
    "name-10": "http://private10.test/",
    "name-172": "http://private172.test/",
    "name-192": "http://private192.test/",
    "name-v6-loopback": "http://v6-loopback.test/",
    "name-v6-ula": "http://v6-ula.test/",
    "name-v6-mapped": "http://v6-mapped.test/",
    "name-nat64-metadata": "http://nat64-metadata.test/",
    "name-metadata": "http://metadata.test/",
    "name-metadata6": "https://metadata6.test/",
    "name-cgnat": "http://cgnat.test/",
    "name-zero": "http://zero.test/",
    "name-documentation": "http://documentation.test/",
    "name-mixed": "http://mixed.test/",
    "name-mixed-last": "http://mixed-last.test/",
    "name-mixed6": "http://mixed6.test/",
    "name-mixed-metadata": "http://mixed-metadata.test/",
    # credentials
    "credentials": "http://user:pass@example.com/",
    "credentials-user-only": "https://user@public.test/ok",
    "credentials-host-confusion": "http://example.com@127.0.0.1/",
    "credentials-public-target": "http://public.test@public.test/ok",
    # other schemes
    "file": "file:///etc/passwd",
    "file-host": "file://localhost/etc/passwd",
    "ftp": "ftp://example.com/a.jpg",
    "gopher": "gopher://127.0.0.1:6379/_INFO",
    "dict": "dict://127.0.0.1:11211/stats",
    "data": "data:image/png;base64,iVBORw0KGgo=",
    "javascript": "javascript:alert(1)",
    "ws": "ws://public.test/ok",
    "scheme-relative": "//127.0.0.1/",
    "bare-path": "/etc/passwd",
    # whitespace and control characters
    "leading-space": " http://public.test/ok",
    "inner-space": "http://public.test/o k",
    "tab-in-host": "http://pub\tlic.test/ok",
    "newline": "http://public.test/ok\n",
    "crlf-header-injection": "http://public.test/ok\r\nHost: 127.0.0.1",
    "nul": "http://public.test/ok\x00",
    "backslash": "http://public.test\\@127.0.0.1/",
}

#: Refused at a redirect hop: the first hop is public (and dialled), the target is not.
REDIRECTED: dict[str, str] = {
    "to-loopback": redirect("http://127.0.0.1/"),
    "to-decimal": redirect("http://2130706433/"),
    "to-v6-loopback": redirect("http://[::1]:8080/"),
    "to-mapped": redirect("http://[::ffff:127.0.0.1]/"),
    "to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
    "to-metadata6": redirect("http://[fd00:ec2::254]/"),
    "to-private-name": redirect("http://private10.test/"),
    "to-mixed-name": redirect("http://mixed.test/"),
    "to-localhost": redirect("http://localhost:8000/admin"),
    "to-scheme-relative": redirect("//127.0.0.1/"),
    "to-file": redirect("file:///etc/passwd"),
    "to-gopher": redirect("gopher://127.0.0.1:6379/_FLUSHALL"),
    "to-dict": redirect("dict://127.0.0.1:11211/stats"),
    "to-ftp": redirect("ftp://example.com/"),
    "to-data": redirect("data:text/plain,hello"),
    "to-credentials": redirect("http://user:pass@public.test/ok"),
    "second-hop": redirect(redirect("http://10.0.0.1/")),
}


@pytest.mark.parametrize("url", list(DIRECT.values()), ids=list(DIRECT))
async def test_refused_without_any_connection(
    fetcher: GuardedFetcher, guard: GuardBackend, url: str
) -> None:
    with pytest.raises(MediagateError) as info:
        await fetcher.fetch_bytes(url)

    assert info.value.code == "unsafe_source_url", info.value.payload
    assert info.value.details["field"] == "source_url"
    assert guard.violations == []
    assert guard.dials == []


@pytest.mark.parametrize("url", list(REDIRECTED.values()), ids=list(REDIRECTED))
async def test_refused_at_the_redirect_hop(
    fetcher: GuardedFetcher, guard: GuardBackend, url: str
) -> None:
    with pytest.raises(MediagateError) as info:
        await fetcher.fetch_bytes(url)

    assert info.value.code == "unsafe_source_url", info.value.payload
    assert "redirected" in info.value.message
    assert info.value.details["redirected_from"].startswith("http://public.test/")
    assert guard.violations == []
    assert {host for host, _ in guard.dials} == {"1.1.1.1"}


def test_the_matrix_is_large_enough() -> None:
    assert len(DIRECT) + len(REDIRECTED) >= 40


# --- public controls, in the same run and through the same guard ----------------------------

CONTROLS: dict[str, str] = {
    "name": "http://public.test/ok",
    "name-v6": "http://public6.test/ok",
    "literal": "http://1.1.1.1/ok",
    "literal-v6": "http://[2606:4700:4700::1111]/ok",
    "literal-decimal-public": "http://16843009/ok",
    "redirect-to-public": redirect("http://other-public.test/ok"),
}


@pytest.mark.parametrize("url", list(CONTROLS.values()), ids=list(CONTROLS))
async def test_public_controls_succeed(
    fetcher: GuardedFetcher, guard: GuardBackend, url: str
) -> None:
    result = await fetcher.fetch_bytes(url)

    assert result.data == b"public content"
    assert guard.violations == []
    assert guard.dials
    assert {host for host, _ in guard.dials} <= ROUTED_PUBLIC


async def test_each_hop_resolves_once_and_dials_what_was_checked(
    guard: GuardBackend, port: int
) -> None:
    # A rebinding resolver: public on the first lookup, loopback on every later one.
    class Rebinding(FakeResolver):
        async def resolve(self, host: str, port: int) -> list[IPAddress]:
            self.calls.append(host)
            first = len(self.calls) == 1
            return [ipaddress.ip_address("1.1.1.1" if first else "127.0.0.1")]

    rebinding = Rebinding()
    result = await make_fetcher(guard, rebinding).fetch_bytes("http://rebind.test/ok")

    assert result.data == b"public content"
    assert rebinding.calls == ["rebind.test"]
    assert guard.dials == [("1.1.1.1", 80)]


async def test_a_failed_connect_moves_on_to_the_next_checked_address(
    fetcher: GuardedFetcher, guard: GuardBackend
) -> None:
    # 9.9.9.9 is public but not routed by the guard, so its connect fails like an unreachable
    # answer would; the fetcher then tries the other checked answer, and nothing else.
    result = await fetcher.fetch_bytes("http://fallback.test/ok")

    assert result.data == b"public content"
    assert guard.dials == [("9.9.9.9", 80), ("1.1.1.1", 80)]
    assert guard.violations == []


async def test_redirect_loops_between_public_urls_fail_without_private_dials(
    fetcher: GuardedFetcher, guard: GuardBackend
) -> None:
    with pytest.raises(MediagateError) as info:
        await fetcher.fetch_bytes("http://public.test/loop/a")

    assert info.value.code == "source_fetch_failed"
    assert info.value.details["reason"] == "redirect_loop"
    assert guard.violations == []
    assert guard.dials == [("1.1.1.1", 80), ("1.1.1.1", 80)]


async def test_a_redirect_to_a_mixed_answer_is_refused_before_any_dial(
    fetcher: GuardedFetcher, resolver: FakeResolver, guard: GuardBackend
) -> None:
    with pytest.raises(MediagateError) as info:
        await fetcher.fetch_bytes(redirect("http://mixed-last.test/ok"))

    assert info.value.code == "unsafe_source_url"
    assert "127.0.0.1" in info.value.message
    assert resolver.calls == ["public.test", "mixed-last.test"]
    assert guard.dials == [("1.1.1.1", 80)]


# --- allow_private relaxes addresses only ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "http://user:pass@loopback.test/",
        "http://example.com@127.0.0.1/",
        redirect("file:///etc/passwd"),
        redirect("http://user:pass@public.test/ok"),
    ],
)
async def test_allow_private_still_refuses_schemes_and_credentials(
    guard: GuardBackend, resolver: FakeResolver, url: str
) -> None:
    relaxed = make_fetcher(guard, resolver, allow_private=True)

    with pytest.raises(MediagateError) as info:
        await relaxed.fetch_bytes(url)

    assert info.value.code == "unsafe_source_url"
    assert guard.violations == []


async def test_the_guard_sees_a_private_dial_when_the_policy_allows_one(
    guard: GuardBackend, resolver: FakeResolver
) -> None:
    # The instrument itself: with allow_private the fetcher does dial loopback, and the guard
    # records it, so the empty violation lists above are evidence, not an artefact.
    relaxed = make_fetcher(guard, resolver, allow_private=True)

    with pytest.raises(MediagateError) as info:
        await relaxed.fetch_bytes("http://loopback.test/ok")

    assert info.value.code == "source_fetch_failed"
    assert guard.violations == ["127.0.0.1"]
