"""Command handlers for people: ``models``, ``generate``, and the generated files ``docs`` and
``schemas`` (each with ``--check`` for CI). Registered as subcommands in ``cli.py``."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from mediagate.settings import Settings

EXIT_OK = 0
EXIT_FAILURE = 1


def write_or_check(path: Path, content: str, *, check: bool) -> bool:
    """Write ``content`` to ``path``, or with ``check`` report whether it is already current."""
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if check:
        if current != content:
            print(f"mediagate: {path} is stale; run the generator and commit it", file=sys.stderr)
            return False
        return True
    if current != content:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return True


# --- docs -------------------------------------------------------------------------------------


def run_docs(output: Path, *, check: bool) -> int:
    """``mediagate docs``: the per-model reference generated from the catalog."""
    from mediagate.catalog import load_catalog
    from mediagate.catalog.docs import render_models_md

    ok = write_or_check(output, render_models_md(load_catalog()), check=check)
    return EXIT_OK if ok else EXIT_FAILURE


# --- schemas ----------------------------------------------------------------------------------


async def tool_schemas(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every tool's listed input and output JSON Schema, by tool name."""
    from mediagate.server.app import build_server
    from mediagate.server.services import Services
    from mediagate.server.tools import default_tool_registrars

    server = build_server(settings, tools=default_tool_registrars(Services(settings)))
    out: dict[str, dict[str, Any]] = {}
    for tool in await server.list_tools():
        out[tool.name] = {"input": tool.input_schema, "output": tool.output_schema}
    return out


def run_schemas(settings: Settings, output_dir: Path, *, check: bool) -> int:
    """``mediagate schemas``: ``tool_schemas/<tool>.{input,output}.json``."""
    schemas = asyncio.run(tool_schemas(settings))
    ok = True
    expected: set[Path] = set()
    for name, pair in sorted(schemas.items()):
        for kind in ("input", "output"):
            path = output_dir / f"{name}.{kind}.json"
            expected.add(path)
            text = json.dumps(pair[kind], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            ok = write_or_check(path, text, check=check) and ok
    stale = {p for p in output_dir.glob("*.json")} - expected if output_dir.exists() else set()
    for path in sorted(stale):
        if check:
            print(f"mediagate: {path} belongs to no tool any more", file=sys.stderr)
            ok = False
        else:
            path.unlink()
    return EXIT_OK if ok else EXIT_FAILURE


# --- models -----------------------------------------------------------------------------------


def run_models(media_type: str | None, search: str | None) -> int:
    """``mediagate models``: the catalog as a table for people."""
    from mediagate.catalog import load_catalog
    from mediagate.catalog.present import matches, price_summary

    catalog = load_catalog()
    # Every entry, by the name that selects it (``gateai/gpt-image-2`` beside ``gpt-image-2``).
    rows = [
        (catalog.name_of(m), m.media_type, ", ".join(m.generation_types), price_summary(m) or "—")
        for m in sorted(catalog.entries.values(), key=lambda e: (e.media_type, e.id.lower()))
        if matches(m, media_type=media_type, search=search)
    ]
    headers = ("model", "media", "generation types", "price")
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"\n{len(rows)} models; family labels: {', '.join(catalog.families)}", file=sys.stderr)
    return EXIT_OK


# --- generate ---------------------------------------------------------------------------------


def _bar(progress: float, message: str | None) -> str:
    filled = int(progress / 100 * 30)
    return f"\r[{'#' * filled}{'.' * (30 - filled)}] {progress:5.1f}%  {message or ''}"[:100]


async def _generate(settings: Settings, args: dict[str, Any]) -> int:
    from mcp import Client

    from mediagate.server.app import build_server
    from mediagate.server.services import Services
    from mediagate.server.tools import default_tool_registrars

    services = Services(settings)
    server = build_server(settings, tools=default_tool_registrars(services))
    interactive = sys.stderr.isatty()

    async def report(progress: float, total: float | None, message: str | None) -> None:
        if interactive:
            print(_bar(progress, message), end="", file=sys.stderr, flush=True)
        else:
            print(f"{progress:5.1f}% {message or ''}", file=sys.stderr)

    async with services.running(), Client(server) as client:
        result = await client.call_tool(
            "generate_media", {**args, "wait_seconds": 50}, progress_callback=report
        )
        while (
            not result.is_error
            and result.structured_content is not None
            and (result.structured_content["status"] in ("pending", "queued", "processing"))
        ):
            result = await client.call_tool(
                "get_generation_status",
                {"generation_id": result.structured_content["generation_id"], "wait_seconds": 50},
                progress_callback=report,
            )
    if interactive:
        print(file=sys.stderr)
    text = result.content[0].text if result.content and result.content[0].type == "text" else ""
    if result.is_error or result.structured_content is None:
        print(f"mediagate: {text}", file=sys.stderr)
        return EXIT_FAILURE
    data = result.structured_content
    for warning in data.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if data["status"] != "completed":
        print(
            f"mediagate: generation {data['status']}: {json.dumps(data.get('error'))}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    for out in data["outputs"]:
        print(out.get("copied_to") or out["path"])
    return EXIT_OK


def run_generate(settings: Settings, args: dict[str, Any]) -> int:
    """``mediagate generate``: one generation through the server's own tools, in-process."""
    return asyncio.run(_generate(settings, args))


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON, else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {pair!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out
