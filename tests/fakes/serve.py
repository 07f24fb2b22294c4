"""Serve an ASGI app on 127.0.0.1 with uvicorn in a background thread, with transport faults.

``ServerThread`` binds a free port before the thread starts (so the URL is known at once), runs
uvicorn's HTTP/1.1 protocol on its own event loop, and stops without leaking the thread, the
loop or a socket. Because the listening socket is ours, the thread can also do what an ASGI
app cannot:

* ``refuse(seconds)`` closes the listening socket (a connect gets a genuine ``ECONNREFUSED``),
  closes idle keep-alive connections so pooled clients must reconnect, and re-listens on the
  same port after ``seconds``;
* ``reset(client)`` aborts one connection with ``SO_LINGER`` 0, so the peer gets a TCP RST.

A process of its own: ``python tests/fakes/serve.py gateai|kubeez [--port N] [--processing-s S]
[--max-in-flight N] [--window-max N] [--window-s S] [--stats-file PATH]`` prints
``fake <name> listening at http://127.0.0.1:N`` on stderr and serves until interrupted
(SIGINT or SIGTERM); ``0`` for a limit means none. With ``--stats-file`` it then writes its
counters there as JSON (accepted submits, 429s, the request log), for benches that keep the
fake out of the process they measure.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import uvicorn

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
#: How long a connection that is still answering may take to finish when the server stops.
DRAIN_TIMEOUT_S = 2.0
#: Before resetting a connection, let the peer read what was already written, so it sees
#: headers and part of the body and then the RST (not a reset before any byte).
RESET_DELAY_S = 0.05

T = TypeVar("T")


def _listening_socket(port: int) -> socket.socket:
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets that say so, and
    # without it every response waits ~40 ms for a delayed ACK (headers and body are two writes).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class ServerThread:
    """One ASGI app served by uvicorn on ``127.0.0.1:<port>`` from a daemon thread."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, port: int = 0) -> None:
        self.app = app
        self._requested_port = port
        self.port = 0
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._stop: asyncio.Event | None = None
        self._closing: asyncio.Event | None = None
        self._sock: socket.socket | None = None
        self._relisten: asyncio.TimerHandle | None = None
        #: Whether the listening socket is closed right now (a ``refuse`` is in progress).
        self.refusing = False

    # --- life cycle (any thread) --------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Bind, start the thread and return once uvicorn accepts connections."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._sock = _listening_socket(self._requested_port)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, name=f"fake-upstream-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._error is not None:
            self.stop()
            raise RuntimeError(f"fake server did not start: {self._error!r}")

    def stop(self) -> None:
        """Stop serving, finish or drop open connections, and join the thread (bounded)."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may be closing already
                loop.call_soon_threadsafe(stop.set)
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            raise RuntimeError("fake server thread did not stop")
        if self._sock is not None:  # never handed to uvicorn (start failed early)
            self._sock.close()
            self._sock = None
        self._thread = None
        if self._error is not None and not isinstance(self._error, asyncio.CancelledError):
            raise RuntimeError("fake server failed") from self._error

    def call(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Run ``fn(*args)`` on the server's loop from another thread and return its result."""
        loop = self._loop
        if loop is None or not self.running:
            raise RuntimeError("fake server is not running")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("ServerThread.call from the server's own loop; await fn instead")
        return asyncio.run_coroutine_threadsafe(fn(*args), loop).result(STOP_TIMEOUT_S)

    # --- transport faults (server loop) -------------------------------------------------------

    @property
    def closing(self) -> asyncio.Event:
        """Set when the server stops: requests held on purpose end at once."""
        assert self._closing is not None
        return self._closing

    def refuse(self, seconds: float) -> None:
        """Stop listening for ``seconds`` (connects are refused), then listen again.

        Call on the server's loop (from a request handler, or through ``call``).
        """
        server = self._server
        assert server is not None
        for listener in server.servers:
            listener.close()
        server.servers = []
        self.refusing = True
        for connection in list(server.server_state.connections):
            # Idle keep-alive connections close now; busy ones after their response.
            with contextlib.suppress(Exception):
                connection.shutdown()
        if self._relisten is not None:
            self._relisten.cancel()
        loop = asyncio.get_running_loop()
        self._relisten = loop.call_later(seconds, lambda: loop.create_task(self._listen_again()))

    async def listen_again(self) -> None:
        """End a ``refuse`` now (on the server's loop): listen again at once."""
        if self._relisten is not None:
            self._relisten.cancel()
        if self.refusing:
            await self._listen_again()

    async def _listen_again(self) -> None:
        server = self._server
        if server is None or (self._stop is not None and self._stop.is_set()):
            return
        self._relisten = None
        sock = _listening_socket(self.port)
        config = server.config
        factory = functools.partial(
            config.http_protocol_class,  # type: ignore[call-arg]
            config=config,
            server_state=server.server_state,
            app_state=server.lifespan.state,
        )
        listener = await asyncio.get_running_loop().create_server(factory, sock=sock)
        server.servers.append(listener)
        self.refusing = False

    async def reset(self, client: tuple[str, int] | None) -> bool:
        """Abort the connection from ``client`` with a TCP RST; False if it is gone."""
        server = self._server
        if server is None or client is None:
            return False
        await asyncio.sleep(RESET_DELAY_S)
        for connection in list(server.server_state.connections):
            if tuple(getattr(connection, "client", None) or ()) != tuple(client):
                continue
            transport = connection.transport
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            return True
        return False

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by stop()/start()
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._closing = asyncio.Event()
        # log_config/log_level None and access_log left on: uvicorn then changes no global
        # logging state (other servers may run in this process).
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level=None,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_keep_alive=5,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        sock, self._sock = self._sock, None
        assert sock is not None
        await server.startup(sockets=[sock])
        await server.on_tick(0)  # the Date header
        self._server = server
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._shutdown(server)

    async def _shutdown(self, server: uvicorn.Server) -> None:
        assert self._closing is not None
        self._closing.set()
        if self._relisten is not None:
            self._relisten.cancel()
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            with contextlib.suppress(Exception):
                connection.shutdown()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        state = server.server_state
        while (state.connections or state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for connection in list(state.connections):
            connection.transport.abort()
        for task in list(state.tasks):
            task.cancel()
        if state.tasks:
            await asyncio.wait(list(state.tasks), timeout=DRAIN_TIMEOUT_S)
        for listener in server.servers:
            await listener.wait_closed()
        # Let aborted transports run their connection_lost callbacks before the loop closes.
        await asyncio.sleep(0)


def main(argv: list[str] | None = None) -> None:
    """Serve one fake in the foreground (for manual runs and benches)."""
    import argparse
    import signal
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fake", choices=["gateai", "kubeez"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--processing-s", type=float, default=None)
    parser.add_argument("--max-in-flight", type=int, default=None, help="0: no limit")
    parser.add_argument("--window-max", type=int, default=None, help="0: no limit")
    parser.add_argument("--window-s", type=float, default=None)
    parser.add_argument("--stats-file", type=Path, default=None, help="counters as JSON, at exit")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fakes import FakeGateAI, FakeKubeez

    options: dict[str, Any] = {}
    if args.processing_s is not None:
        options["processing_s"] = args.processing_s
    for name in ("max_in_flight", "window_max"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value or None
    if args.window_s is not None:
        options["window_s"] = args.window_s
    fake = (FakeGateAI if args.fake == "gateai" else FakeKubeez)(port=args.port, **options)
    fake.start()
    print(f"fake {args.fake} listening at {fake.url} (key {fake.api_key})", file=sys.stderr)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop (and write stats) alike
    # A shell starts background jobs with SIGINT ignored, which children inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        # Counters first: stopping may take a while (open connections) and be cut short.
        if args.stats_file is not None:
            args.stats_file.write_text(json.dumps(_stats(fake)))
        fake.stop()


def _stats(fake: Any) -> dict[str, Any]:
    """The fake's counters as JSON (times are ``time.monotonic()``, comparable across
    processes on one machine)."""
    return {
        "accepted": [{"at": a.at, "job_id": a.job_id} for a in fake.accepted_submits()],
        "rate_limited": [
            {"at": e.at, "kind": e.kind, "reason": e.reason, "retry_after": e.retry_after}
            for e in fake.rate_limited
        ],
        "max_in_flight_observed": dict(fake.max_in_flight_observed),
        "requests": [
            {"at": r.at, "done_at": r.done_at, "kind": r.kind, "path": r.path, "status": r.status}
            for r in fake.requests()
        ],
    }


if __name__ == "__main__":
    main()
