"""One guarded fetcher for every outbound fetch of a user-influenced URL (SSRF-safe).

Threat model: an agent, or a prompt-injected page it read, hands mediagate a URL, and mediagate
fetches it from inside the operator's network. Unguarded, that makes mediagate a proxy to
whatever the host can reach: loopback admin ports, the private LAN, cloud metadata services
(169.254.169.254, fd00:ec2::254) that hand out credentials, non-HTTP services behind other
schemes; and a fetch can try to exhaust disk, memory or time. Every defence below applies to
the first URL and again, from scratch, to every redirect hop:

* Syntax: :func:`~mediagate.catalog.urls.check_url` allows http/https only, no embedded
  credentials, no whitespace or control characters, no internal names (``localhost``,
  ``*.internal`` ...) and no literal non-public address in any spelling (decimal, octal, hex,
  short, IPv6 forms).
* Resolution: a host name is resolved exactly once per hop and *every* answer must be a public
  unicast address (:func:`~mediagate.catalog.urls.is_public_address`, which unwraps IPv4-mapped,
  IPv4-compatible, 6to4 and NAT64 forms first); one non-public answer refuses the URL.
* Pinning: the TCP connection is dialled to those checked addresses (in order, the next one
  only if a connect fails) by a network backend that ignores the host name the HTTP stack
  passes it, so no second DNS lookup can swap in another address, while the Host header, TLS
  SNI and certificate verification keep the URL's name.
* Redirects: followed by hand (the client never follows them), each target re-checked, at most
  ``max_redirects`` hops, loops refused.
* Size: a declared Content-Length above the cap is refused before the body is read; the body is
  counted as it streams (sized, chunked or close-delimited alike) and refused at the first byte
  past the cap; only the identity coding is accepted, so no decompression bomb can expand
  behind the count.
* Time: connect and read deadlines per operation, and one deadline for the whole fetch (DNS,
  every hop, the body and the disk writes).
* Environment: ``trust_env=False`` and our own transport, so proxy variables and ``.netrc``
  are ignored: a proxy would resolve the name itself, after our check, and defeat pinning.
  (The CA store still honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``, read once at construction,
  for TLS-inspecting gateways; trust roots never change which address is dialled.)
* Files: the body streams to a temporary file beside the destination, renamed only once it is
  complete; on any failure the partial file is removed.

``MEDIAGATE_ALLOW_PRIVATE_URLS`` (:attr:`FetchPolicy.allow_private`) relaxes only the address
rules (literal, internal names and resolved answers); schemes and credentials stay refused.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Self
from urllib.parse import urljoin

import anyio
import httpcore2
import httpx2

from mediagate.catalog.urls import ParsedURL, check_url, is_public_address, literal_address
from mediagate.errors import MediagateError

if TYPE_CHECKING:
    from mediagate.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Sink = Callable[[bytes], Awaitable[None]]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WRITE_BUFFER_BYTES = 1 << 20
_MAX_URL_IN_DETAILS = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchPolicy:
    """Limits for a :class:`GuardedFetcher`; seconds for timeouts, bytes for sizes."""

    allow_private: bool = False
    max_bytes: int
    connect_timeout: float = 10
    read_timeout: float = 30
    total_timeout: float = 120
    max_redirects: int = 5
    user_agent: str = "mediagate"

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings, *, max_bytes: int) -> Self:
        """A policy honouring ``MEDIAGATE_ALLOW_PRIVATE_URLS``, with default deadlines."""
        return cls(allow_private=settings.allow_private_urls, max_bytes=max_bytes)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch produced.

    ``url`` is the final URL (after redirects, which ``redirects`` lists in order); ``path`` is
    set by :meth:`GuardedFetcher.fetch_to_file`, ``data`` by :meth:`GuardedFetcher.fetch_bytes`.
    """

    url: str
    size_bytes: int
    content_type: str | None
    path: Path | None = None
    data: bytes | None = None
    redirects: tuple[str, ...] = ()


class Resolver(Protocol):
    """Turns a host name into the addresses to check; raises ``OSError`` when it cannot."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to, in the order to try connecting to them."""
        ...


class SystemResolver:
    """The system resolver, via ``getaddrinfo`` in a worker thread (never blocks the loop)."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every IPv4/IPv6 address ``getaddrinfo`` returns for ``host``, duplicates dropped."""
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found: dict[IPAddress, None] = {}
        for family, _type, _proto, _name, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6):
                found.setdefault(ipaddress.ip_address(str(sockaddr[0])), None)
        return list(found)


class _Outcome(NamedTuple):
    url: str
    content_type: str | None
    size_bytes: int
    redirects: tuple[str, ...]


class GuardedFetcher:
    """Fetches user-influenced http(s) URLs under a :class:`FetchPolicy` (see module docstring).

    ``resolver`` replaces the system resolver and ``network_backend`` the dialer (an httpcore2
    ``AsyncNetworkBackend``, default ``AnyIOBackend``); the dialer is only ever asked to connect
    to an address that passed the checks. ``ssl_context`` replaces the default trust store.
    A fetcher holds no connections between fetches; it is cheap to keep one for the process.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: Resolver | None = None,
        network_backend: httpcore2.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._policy = policy
        self._resolver: Resolver = SystemResolver() if resolver is None else resolver
        self._dialer = httpcore2.AnyIOBackend() if network_backend is None else network_backend
        # Built on the first https fetch: creating the default context costs ~37 ms, and the
        # server holds several fetchers that may never fetch (start-up time matters).
        self._ssl_context_given = ssl_context
        self._ssl_context_built: ssl.SSLContext | None = None
        self._timeout = httpx2.Timeout(
            connect=policy.connect_timeout,
            read=policy.read_timeout,
            write=policy.read_timeout,
            pool=policy.connect_timeout,
        )
        self._headers = {
            "User-Agent": policy.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": "identity",
        }
        self._closed = False

    @property
    def policy(self) -> FetchPolicy:
        """The limits this fetcher enforces."""
        return self._policy

    async def fetch_to_file(
        self, url: str, dest: Path, *, field: str = "source_url"
    ) -> FetchResult:
        """Stream ``url`` into ``dest`` (replaced atomically once the body is complete).

        Raises :class:`MediagateError` with ``unsafe_source_url``, ``source_fetch_failed`` or
        ``source_too_large``; no partial file is left behind on any failure.
        """
        dest = Path(dest)
        await anyio.Path(dest.parent).mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{secrets.token_hex(8)}.part")
        try:
            file = await anyio.open_file(part, "xb")
            try:
                sink = _BufferedFileSink(file)
                outcome = await self._fetch(url, field, sink.write)
                await sink.flush()
            finally:
                with anyio.CancelScope(shield=True):
                    await file.aclose()
            await anyio.Path(part).replace(dest)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(part).unlink(missing_ok=True)
            raise
        return FetchResult(
            url=outcome.url,
            size_bytes=outcome.size_bytes,
            content_type=outcome.content_type,
            path=dest,
            redirects=outcome.redirects,
        )

    async def fetch_bytes(self, url: str, *, field: str = "source_url") -> FetchResult:
        """Fetch ``url`` into memory (at most ``max_bytes``); the body is in ``.data``."""
        buffer = bytearray()

        async def sink(chunk: bytes) -> None:
            buffer.extend(chunk)

        outcome = await self._fetch(url, field, sink)
        return FetchResult(
            url=outcome.url,
            size_bytes=outcome.size_bytes,
            content_type=outcome.content_type,
            data=bytes(buffer),
            redirects=outcome.redirects,
        )

    async def aclose(self) -> None:
        """Refuse further fetches (connections never outlive the fetch that opened them)."""
        self._closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _fetch(self, url: str, field: str, sink: Sink) -> _Outcome:
        if self._closed:
            raise RuntimeError("GuardedFetcher is closed")
        total = self._policy.total_timeout
        try:
            with anyio.fail_after(total):
                return await self._follow(url, field, sink)
        except TimeoutError:
            raise _fetch_failed(
                field, url, "timeout", f"{field} did not finish downloading within {total:g} s."
            ) from None

    async def _follow(self, url: str, field: str, sink: Sink) -> _Outcome:
        current, previous = url, None
        redirects: list[str] = []
        seen = {_without_fragment(url)}
        while True:
            try:
                parts = self._check(current, field)
                port = parts.port or _DEFAULT_PORTS[parts.scheme]
                addresses = await self._pin(parts, port, current, field)
            except MediagateError as exc:
                if previous is None or exc.code != "unsafe_source_url":
                    raise
                raise _redirect_refused(exc, field, current, previous) from None
            location: str | None = None
            async with self._client(addresses, port) as client:
                try:
                    async with client.stream("GET", current) as response:
                        location = _redirect_location(response, current, field)
                        if location is None:
                            content_type, size = await self._read_body(
                                response, current, field, sink
                            )
                            return _Outcome(current, content_type, size, tuple(redirects))
                except httpx2.HTTPError as exc:
                    raise _transport_failed(exc, field, current, parts.host) from exc
            target = urljoin(current, location)
            if len(redirects) >= self._policy.max_redirects:
                raise _fetch_failed(
                    field,
                    current,
                    "too_many_redirects",
                    f"{field} redirected more than {self._policy.max_redirects} times "
                    "(the redirect-hop cap).",
                    max_redirects=self._policy.max_redirects,
                )
            if _without_fragment(target) in seen:
                raise _fetch_failed(
                    field, current, "redirect_loop", f"{field} redirects in a loop.", target=target
                )
            seen.add(_without_fragment(target))
            redirects.append(current)
            previous, current = current, target

    def _check(self, url: str, field: str) -> ParsedURL:
        """The syntax rules; the client's own parser must accept the URL too."""
        parts = check_url(url, field=field, allow_private=self._policy.allow_private)
        try:
            # Refuse what the client would parse differently before any DNS is spent on it.
            httpx2.URL(url)
        except httpx2.InvalidURL:
            raise MediagateError(
                "unsafe_source_url", f"{field} is not a valid URL.", field=field, got=_clip(url)
            ) from None
        return parts

    async def _pin(
        self, parts: ParsedURL, port: int, url: str, field: str
    ) -> tuple[IPAddress, ...]:
        """Resolve the host once; return the checked addresses the connection may use."""
        host = parts.host
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                with anyio.fail_after(self._policy.connect_timeout):
                    addresses = await self._resolver.resolve(host, port)
            except TimeoutError:
                raise _fetch_failed(
                    field, url, "timeout", f"{field} host {host} did not resolve in time."
                ) from None
            except OSError:
                addresses = []
            if not addresses:
                raise _fetch_failed(field, url, "dns", f"{field} host {host} does not resolve.")
        if not self._policy.allow_private:
            # Any non-public answer refuses the URL, not just the one a connect would pick: a
            # name answering public *and* private is the DNS-rebinding setup (the check sees
            # one address, a later connect or retry another), and legitimate hosts never mix.
            for address in addresses:
                if not is_public_address(address):
                    raise MediagateError(
                        "unsafe_source_url",
                        f"{field} resolves to a non-public address ({host} → {address}).",
                        field=field,
                        got=_clip(url),
                        hint="Set MEDIAGATE_ALLOW_PRIVATE_URLS=true only for local test setups.",
                    )
        return tuple(addresses)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context_given is not None:
            return self._ssl_context_given
        if self._ssl_context_built is None:
            self._ssl_context_built = httpx2.create_ssl_context()
        return self._ssl_context_built

    def _client(self, addresses: tuple[IPAddress, ...], port: int) -> httpx2.AsyncClient:
        """A single-hop client that can only connect to ``addresses`` on ``port``."""
        pool = httpcore2.AsyncConnectionPool(
            ssl_context=self._ssl_context(),
            max_connections=1,
            max_keepalive_connections=0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_PinnedBackend(self._dialer, addresses, port),
        )
        return httpx2.AsyncClient(
            transport=_PoolTransport(pool),
            headers=self._headers,
            timeout=self._timeout,
            follow_redirects=False,
            trust_env=False,
        )

    async def _read_body(
        self, response: httpx2.Response, url: str, field: str, sink: Sink
    ) -> tuple[str | None, int]:
        status = response.status_code
        if not 200 <= status < 300:
            # Retry-After as sent (seconds or an HTTP date): a caller that retries honours it.
            later = response.headers.get("retry-after")
            raise _fetch_failed(
                field,
                url,
                "http_status",
                f"{field} could not be fetched: the server answered HTTP {status}.",
                status=status,
                **({"retry_after": later.strip()[:64]} if later else {}),
            )
        coding = response.headers.get("content-encoding", "identity").strip().lower()
        if coding not in ("", "identity"):
            raise _fetch_failed(
                field,
                url,
                "content_encoding",
                f"{field} was sent with content-encoding {coding!r}; only identity is accepted.",
            )
        limit = self._policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(field, url, limit, declared_bytes=int(declared))
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise _too_large(field, url, limit)
            await sink(chunk)
        return response.headers.get("content-type"), size


class _BufferedFileSink:
    """Batches chunks so each thread-offloaded write moves about a megabyte."""

    def __init__(self, file: anyio.AsyncFile[bytes]) -> None:
        self._file = file
        self._buffer = bytearray()

    async def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= _WRITE_BUFFER_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._buffer:
            data, self._buffer = self._buffer, bytearray()
            await self._file.write(data)


class _PinnedBackend(httpcore2.AsyncNetworkBackend):
    """Dials the checked addresses only, whatever host name the HTTP stack asks for.

    httpcore2 hands ``connect_tcp`` the URL's host name (it uses the same name for the Host
    header and as TLS ``server_hostname``); resolving it here again would reopen the gap between
    check and connect that pinning closes, so the name is ignored. The addresses are tried in
    the resolver's order, moving on only when a connect fails (an unreachable IPv6 answer must
    not sink a host that also answers IPv4); the whole-fetch deadline bounds the attempts.
    """

    def __init__(
        self, dialer: httpcore2.AsyncNetworkBackend, addresses: tuple[IPAddress, ...], port: int
    ) -> None:
        if not addresses:
            raise ValueError("nothing to dial")
        self._dialer = dialer
        self._addresses = [str(a) for a in addresses]
        self._port = port

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        for address in self._addresses[:-1]:
            try:
                return await self._connect(address, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout):
                continue
        return await self._connect(self._addresses[-1], timeout, local_address, socket_options)

    async def _connect(
        self,
        address: str,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[Any] | None,
    ) -> httpcore2.AsyncNetworkStream:
        return await self._dialer.connect_tcp(
            address,
            self._port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("the guarded fetcher never dials unix sockets")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


# Specific classes first: the first match wins.
_ERROR_MAP: tuple[tuple[type[Exception], type[httpx2.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.TimeoutException, httpx2.TimeoutException),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.NetworkError, httpx2.NetworkError),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
    (httpcore2.UnsupportedProtocol, httpx2.UnsupportedProtocol),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_error, client_error in _ERROR_MAP:
            if isinstance(exc, core_error):
                raise client_error(str(exc)) from exc
        raise


class _MappedStream(httpx2.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class _PoolTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport over an httpcore2 pool built with our network backend.

    ``httpx2.AsyncHTTPTransport`` takes no ``network_backend``; this is the small part of it we
    need, on the public APIs of both packages.
    """

    def __init__(self, pool: httpcore2.AsyncConnectionPool) -> None:
        self._pool = pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not isinstance(request.stream, httpx2.AsyncByteStream):
            raise TypeError("the guarded fetcher sends async requests only")
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        if not isinstance(response.stream, AsyncIterable):
            raise TypeError("httpcore2 returned a sync stream to an async pool")
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_MappedStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def _redirect_location(response: httpx2.Response, url: str, field: str) -> str | None:
    if response.status_code not in _REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location:
        raise _fetch_failed(
            field,
            url,
            "bad_redirect",
            f"{field} answered HTTP {response.status_code} without a Location.",
            status=response.status_code,
        )
    return location


def _redirect_refused(exc: MediagateError, field: str, target: str, source: str) -> MediagateError:
    reason = exc.message.removeprefix(f"{field} ")
    return MediagateError(
        "unsafe_source_url",
        f"{field} redirected to {_clip(target)!r}, which {reason}",
        field=field,
        got=_clip(target),
        redirected_from=_clip(source),
        hint=exc.details.get("hint"),
    )


def _without_fragment(url: str) -> str:
    return url.partition("#")[0]


def _clip(url: str) -> str:
    return url if len(url) <= _MAX_URL_IN_DETAILS else url[:_MAX_URL_IN_DETAILS] + "…"


def _fetch_failed(
    field: str, url: str, reason: str, message: str, **details: Any
) -> MediagateError:
    return MediagateError(
        "source_fetch_failed", message, field=field, url=_clip(url), reason=reason, **details
    )


def _too_large(
    field: str, url: str, limit: int, *, declared_bytes: int | None = None
) -> MediagateError:
    return MediagateError(
        "source_too_large",
        f"{field} is larger than the {limit}-byte limit.",
        field=field,
        url=_clip(url),
        max_bytes=limit,
        declared_bytes=declared_bytes,
    )


def _transport_failed(exc: httpx2.HTTPError, field: str, url: str, host: str) -> MediagateError:
    if isinstance(exc, httpx2.TimeoutException):
        kind = "connecting to" if isinstance(exc, httpx2.ConnectTimeout) else "reading from"
        return _fetch_failed(field, url, "timeout", f"{field} timed out {kind} {host}.")
    if isinstance(exc, httpx2.ConnectError):
        # Includes TLS failures, whose text (e.g. a hostname mismatch) is what the agent needs.
        return _fetch_failed(field, url, "connect", f"{field} could not connect to {host}: {exc}")
    if isinstance(exc, httpx2.ProtocolError):
        return _fetch_failed(field, url, "protocol", f"{field} {host} sent a malformed response.")
    return _fetch_failed(field, url, "network", f"{field} transfer from {host} failed: {exc}")
