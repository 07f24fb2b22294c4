"""Serving an ``MCPServer`` over stdio, streamable HTTP (``/mcp``) or legacy SSE (``/sse``).

The HTTP transports run under a ``uvicorn.Server`` we drive ourselves, so logging stays ours
(stderr only) and the listening socket is bound before the app is built: ``--port 0`` picks a
free port and the DNS-rebinding allow-list still names the real one. Every HTTP request first
passes ``HttpGuard``: ``GET /healthz`` answers without credentials, then the Host/Origin check,
then the bearer token when ``MEDIAGATE_AUTH_TOKEN`` is set.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import socket
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings
    from pydantic import SecretStr
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Receive, Scope, Send

    from mediagate.settings import Settings

TransportName = Literal["stdio", "http", "sse"]
TRANSPORTS: tuple[TransportName, ...] = ("stdio", "http", "sse")

MCP_PATH = "/mcp"
SSE_PATH = "/sse"
SSE_MESSAGE_PATH = "/messages/"
HEALTH_PATH = "/healthz"

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Upper bound on how long open streams (SSE, streamable-HTTP GET) may delay shutdown.
_GRACEFUL_SHUTDOWN_S = 3
_BACKLOG = 2048


class ServeConfigError(Exception):
    """The requested serve configuration is unsafe or invalid; nothing was started."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How ``mediagate serve`` exposes the server.

    ``port=0`` binds a free port (announced on stderr). ``allowed_hosts`` adds Host header
    values (``name`` or ``name:port``) accepted besides loopback and the bind host, for
    clients that reach the server through a DNS name.
    """

    transport: TransportName = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] = ()
    access_log: bool = False


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serve_options(options: ServeOptions, settings: Settings) -> None:
    """Refuse configurations that would expose the server unsafely.

    Raises:
        ServeConfigError: unknown transport, bad port, or a non-loopback HTTP bind
            without ``MEDIAGATE_AUTH_TOKEN``.
    """
    if options.transport not in TRANSPORTS:
        raise ServeConfigError(f"unknown transport {options.transport!r}; use one of {TRANSPORTS}")
    if options.transport == "stdio":
        return
    if not 0 <= options.port <= 65535:
        raise ServeConfigError(f"port must be between 0 and 65535, got {options.port}")
    if not is_loopback_host(options.host) and _token(settings.auth_token) is None:
        raise ServeConfigError(
            f"refusing to serve on non-loopback host {options.host!r} without authentication; "
            "set MEDIAGATE_AUTH_TOKEN to a secret bearer token (clients then send "
            "'Authorization: Bearer <token>'), or bind 127.0.0.1"
        )


def transport_security(
    host: str, port: int, allowed_hosts: Sequence[str] = ()
) -> TransportSecuritySettings:
    """DNS-rebinding allow-lists: loopback names and the bind host at ``port``, plus
    ``allowed_hosts`` (a bare name gets ``port``)."""
    from mcp.server.transport_security import TransportSecuritySettings

    names = list(dict.fromkeys([*_LOOPBACK_NAMES, _bracketed(host)]))
    hosts = [f"{name}:{port}" for name in names]
    if port == 80:
        hosts.extend(names)
    for extra in allowed_hosts:
        hosts.append(extra if _has_port(extra) else f"{_bracketed(extra)}:{port}")
    hosts = list(dict.fromkeys(hosts))
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class HttpGuard:
    """ASGI middleware in front of every HTTP route: health, Host/Origin, bearer token.

    ``GET /healthz`` is answered before any check (it reveals nothing but liveness) so
    container probes work without the token. Everything else must carry an allowed Host
    (and Origin, when present) and, when a token is configured, ``Authorization: Bearer``.
    """

    def __init__(
        self, app: ASGIApp, *, security: TransportSecuritySettings, token: SecretStr | None
    ) -> None:
        from mcp.server.transport_security import TransportSecurityMiddleware

        self._app = app
        self._host_check = TransportSecurityMiddleware(security)
        secret = _token(token)
        # Comparing digests keeps the comparison constant-time regardless of length.
        self._expected = None if secret is None else _digest(secret.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        from starlette.requests import Request

        if scope["path"] == HEALTH_PATH and scope["method"] in ("GET", "HEAD"):
            await _json(200, {"status": "ok"})(scope, receive, send)
            return
        request = Request(scope)
        rejected = await self._host_check.validate_request(request, is_post=False)
        if rejected is not None:
            await rejected(scope, receive, send)
            return
        authorization = request.headers.get("authorization")
        if self._expected is not None and not self._authorized(authorization):
            body = {"error": "unauthorized", "message": "Send 'Authorization: Bearer <token>'."}
            await _json(401, body, {"WWW-Authenticate": 'Bearer realm="mediagate"'})(
                scope, receive, send
            )
            return
        await self._app(scope, receive, send)

    def _authorized(self, header: str | None) -> bool:
        assert self._expected is not None
        scheme, _, credentials = (header or "").partition(" ")
        presented = _digest(credentials.strip().encode())
        return hmac.compare_digest(presented, self._expected) and scheme.lower() == "bearer"


def build_http_app(
    server: MCPServer[Any],
    settings: Settings,
    *,
    transport: Literal["http", "sse"],
    host: str,
    port: int,
    allowed_hosts: Sequence[str] = (),
    routes: Sequence[BaseRoute] = (),
) -> ASGIApp:
    """The guarded ASGI app for one HTTP transport; ``routes`` are appended (e.g. ``/media``).

    ``port`` must be the real listening port: it goes into the Host allow-list.
    """
    security = transport_security(host, port, allowed_hosts)
    if transport == "http":
        app = server.streamable_http_app(
            streamable_http_path=MCP_PATH, transport_security=security, host=host
        )
    else:
        app = server.sse_app(
            sse_path=SSE_PATH,
            message_path=SSE_MESSAGE_PATH,
            transport_security=security,
            host=host,
        )
    app.router.routes.extend(routes)
    return HttpGuard(app, security=security, token=settings.auth_token)


Lifecycle = Callable[[str | None], AbstractAsyncContextManager[object]]
"""Process-wide services entered around serving; receives the HTTP base URL (None on stdio)."""


def run(
    server: MCPServer[Any],
    settings: Settings,
    options: ServeOptions,
    *,
    routes: Sequence[BaseRoute] = (),
    lifecycle: Lifecycle | None = None,
) -> None:
    """Serve until stdin closes (stdio) or a signal arrives (HTTP). Blocks.

    ``lifecycle`` (if given) is entered once per process around serving, with the public base
    URL of the HTTP transports, so shared services start before the first request.

    Raises:
        ServeConfigError: the options are refused (checked before anything is bound).
        OSError: the HTTP socket could not be bound.
    """
    check_serve_options(options, settings)
    enter: Lifecycle = lifecycle or (lambda _url: contextlib.nullcontext())
    if options.transport == "stdio":
        import anyio

        async def serve_stdio() -> None:
            async with enter(None):
                await server.run_stdio_async()

        anyio.run(serve_stdio)
        return
    import asyncio

    sock = listen_socket(options.host, options.port)
    with sock:
        port = int(sock.getsockname()[1])
        app = build_http_app(
            server,
            settings,
            transport=options.transport,
            host=options.host,
            port=port,
            allowed_hosts=options.allowed_hosts,
            routes=routes,
        )
        base_url = f"http://{_bracketed(options.host)}:{port}"

        async def serve_http() -> None:
            async with enter(base_url):
                await _serve_http(app, sock, options, port)

        asyncio.run(serve_http())


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``; port 0 picks a free one.

    Listening before the app starts means a client that connects as soon as the address is
    announced waits in the backlog instead of being refused. Like uvicorn, a host containing
    ``:`` is IPv6 and anything else (including names such as ``localhost``) is IPv4.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


async def _serve_http(app: ASGIApp, sock: socket.socket, options: ServeOptions, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=options.host,
        port=port,
        # None keeps uvicorn from installing its own handlers (its access log goes to stdout).
        log_config=None,
        access_log=options.access_log,
        lifespan="on",
        server_header=False,
        backlog=_BACKLOG,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
    )
    path = MCP_PATH if options.transport == "http" else SSE_PATH
    kind = "streamable HTTP" if options.transport == "http" else "SSE"
    url = f"http://{_bracketed(options.host)}:{port}{path}"
    print(f"mediagate: serving MCP over {kind} at {url}", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


def _json(status: int, body: dict[str, str], headers: dict[str, str] | None = None) -> ASGIApp:
    from starlette.responses import Response

    payload = json.dumps(body).encode()
    return Response(payload, status_code=status, headers=headers, media_type="application/json")


def _token(secret: SecretStr | None) -> str | None:
    value = secret.get_secret_value().strip() if secret is not None else ""
    return value or None


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _has_port(host: str) -> bool:
    if host.startswith("["):
        return "]:" in host
    return host.count(":") == 1
