"""The ``mediagate`` command.

Each subcommand is one ``_add_<name>(subparsers)`` function that declares its arguments and
sets ``handler`` to a ``(args, settings) -> exit code`` function; list it in ``_SUBCOMMANDS``.
Heavy imports (the MCP SDK, uvicorn) happen inside handlers so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mediagate import __version__

if TYPE_CHECKING:
    from typing import TypeAlias

    from starlette.routing import BaseRoute

    from mediagate.server.app import ToolRegistrar
    from mediagate.server.services import Services
    from mediagate.server.transports import Lifecycle, ServeOptions
    from mediagate.settings import Settings

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler = Callable[[argparse.Namespace, "Settings"], int]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_LOG_LEVELS = ("debug", "info", "warning", "error")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mediagate`` command line; returns the process exit code."""
    # First, so nothing logged during imports or parsing can reach stdout (stdio transport).
    configure_logging("info")
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(getattr(args, "log_level", "info"))
    try:
        settings = _load_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"mediagate: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except BrokenPipeError:
        # The reader went away (e.g. `mediagate models | head`): not an error worth a trace.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand attached."""
    parser = argparse.ArgumentParser(
        prog="mediagate",
        description="An MCP server that gives AI agents one safe door to AI media generation.",
    )
    parser.add_argument("--version", action="version", version=f"mediagate {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


class _RedactKeys(logging.Filter):
    """Mask API keys that upstreams take in the query string (GateAI's ``/api/me?key=``)."""

    _KEY = re.compile(r"([?&](?:key|api_key)=)[^&\s\"']+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._KEY.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str) -> None:
    """Send all logging to stderr at ``level`` (replacing any earlier configuration).

    The HTTP client's one line per request (every poll) only shows at ``debug``.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    handler.addFilter(_RedactKeys())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in ("httpx2", "httpcore2"):
        logging.getLogger(name).setLevel(quiet)


# --- serve ---------------------------------------------------------------------------------


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` options; shared with test launchers that serve extra tools."""
    parser.add_argument(
        "--transport",
        choices=("stdio", "http", "sse"),
        default="stdio",
        help="stdio (default), streamable HTTP at /mcp, or legacy SSE at /sse",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind for http/sse (default 127.0.0.1; any other requires "
        "MEDIAGATE_AUTH_TOKEN)",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port for http/sse (default 8000; 0 picks one)"
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="extra Host header value to accept (repeatable), e.g. the DNS name clients use",
    )
    parser.add_argument(
        "--log-level", choices=_LOG_LEVELS, default="info", help="stderr log level (default info)"
    )


def serve_options(args: argparse.Namespace) -> ServeOptions:
    """``ServeOptions`` from parsed ``add_serve_arguments`` options."""
    from mediagate.server.transports import ServeOptions

    return ServeOptions(
        transport=args.transport,
        host=args.host,
        port=args.port,
        allowed_hosts=tuple(args.allowed_host),
        access_log=args.log_level == "debug",
    )


def serve(
    settings: Settings, options: ServeOptions, *, tools: Sequence[ToolRegistrar] | None = None
) -> int:
    """Check ``options``, build the server with ``tools`` (default: the real tools), serve.

    Returns the exit code: 2 when the configuration is refused, 1 when the socket cannot be
    bound, 130 on Ctrl-C, 0 otherwise.
    """
    from mediagate.server.transports import ServeConfigError, check_serve_options, run

    try:
        check_serve_options(options, settings)
    except ServeConfigError as exc:
        print(f"mediagate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Building imports the SDK and every tool module; stray prints there must not reach
    # stdout, which belongs to the protocol on stdio (the SDK diverts fd 1 once serving).
    routes: list[BaseRoute] = []
    lifecycle: Lifecycle | None = None
    with contextlib.redirect_stdout(sys.stderr):
        from mediagate.server.app import build_server

        if tools is None:
            from mediagate.server.services import Services
            from mediagate.server.tools import default_tool_registrars

            services = Services(settings)
            tools = default_tool_registrars(services)
            routes = media_routes(services)
            lifecycle = services.running
        server = build_server(settings, tools=tools)
    try:
        run(server, settings, options, routes=routes, lifecycle=lifecycle)
    except OSError as exc:
        if options.transport == "stdio":
            raise
        where = f"{options.host}:{options.port}"
        print(f"mediagate: error: cannot serve on {where}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def media_routes(services: Services) -> list[BaseRoute]:
    """``/media/...`` serves the output files (HTTP transports; behind the host/token guard)."""
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    return [
        Mount(
            "/media",
            app=StaticFiles(directory=services.media.root, check_dir=False),
            name="media",
        )
    ]


def _add_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the MCP server",
        description="Run the MCP server over stdio (default), streamable HTTP or SSE.",
    )
    add_serve_arguments(parser)
    parser.set_defaults(handler=_run_serve)


def _run_serve(args: argparse.Namespace, settings: Settings) -> int:
    return serve(settings, serve_options(args))


# -------------------------------------------------------------------------------------------


def _add_models(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("models", help="print the model catalog as a table")
    parser.add_argument("--media-type", choices=("image", "video"))
    parser.add_argument("--search", help="words that must all appear (id, name, notes)")

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from mediagate.commands import run_models

        return run_models(args.media_type, args.search)

    parser.set_defaults(handler=handler)


def _add_generate(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="run one generation in-process (local provider unless keys are set)",
        description="Run one generation through mediagate's own tools, with a progress bar; "
        "prints the path of each output file.",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--generation-type")
    parser.add_argument("--aspect-ratio")
    parser.add_argument("--duration")
    parser.add_argument("--resolution")
    parser.add_argument("--quality")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--sound", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--source", action="append", default=[], metavar="URL")
    parser.add_argument("--output-format", choices=("png", "jpeg", "webp"))
    parser.add_argument("--output-dir", help="copy results here (inside MEDIAGATE_OUTPUT_DIRS)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other generate_media parameter (JSON values accepted), repeatable",
    )

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from mediagate.commands import parse_params, run_generate

        try:
            extra = parse_params(args.param)
        except ValueError as exc:
            print(f"mediagate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        call = {
            "model": args.model,
            "prompt": args.prompt,
            "generation_type": args.generation_type,
            "aspect_ratio": args.aspect_ratio,
            "duration": args.duration,
            "resolution": args.resolution,
            "quality": args.quality,
            "seed": args.seed,
            "sound": args.sound,
            "source_media_urls": args.source or None,
            "output_format": args.output_format,
            "output_dir": args.output_dir,
            **extra,
        }
        return run_generate(settings, {k: v for k, v in call.items() if v is not None})

    parser.set_defaults(handler=handler)


def _add_docs(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("docs", help="write docs/models.md from the catalog")
    parser.add_argument("--output", type=Path, default=Path("docs/models.md"))
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from mediagate.commands import run_docs

        return run_docs(args.output, check=args.check)

    parser.set_defaults(handler=handler)


def _add_schemas(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "schemas", help="write every tool's input/output JSON Schema to tool_schemas/"
    )
    parser.add_argument("--output-dir", type=Path, default=Path("tool_schemas"))
    parser.add_argument("--check", action="store_true", help="fail if any file is stale")

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from mediagate.commands import run_schemas

        return run_schemas(settings, args.output_dir, check=args.check)

    parser.set_defaults(handler=handler)


_SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _add_serve,
    _add_models,
    _add_generate,
    _add_docs,
    _add_schemas,
)


def _load_settings() -> Settings:
    from mediagate.settings import Settings

    return Settings()
