"""The ``MCPServer`` wiring: identity, instructions, tool registration, error mapping.

Tools are registered by *registrars*, ``Callable[[MCPServer], None]``; the default set comes
from ``mediagate.server.tools.default_tool_registrars()``. A tool signals a rejected call by
raising ``MediagateError``; ``MediagateServer.call_tool`` turns it (and arguments the input
schema rejects) into the ``isError`` result whose text is our JSON payload (GUIDE §3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mcp.server.extension import Extension
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.subscriptions import InMemorySubscriptionBus, SubscriptionBus
from mcp_types import CallToolResult, InputRequiredResult, TextContent
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

from mediagate import __version__
from mediagate.errors import MediagateError, unknown_name
from mediagate.server.tasks import TasksExtension

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from mediagate.server.subscriptions import GenerationSubscriptions
    from mediagate.settings import Settings

ToolRegistrar = Callable[[MCPServer[Any]], None]
"""Registers one or more tools (``server.add_tool`` / ``@server.tool()``) on a server."""

SERVER_NAME = "mediagate"
INSTRUCTIONS = (
    "mediagate generates images and videos through one set of tools. Check a model's "
    "options with get_models before generate_media; long generations return an id to poll "
    "with get_generation_status. Errors are JSON with a stable 'error' code and the details "
    "needed to fix the call."
)


class MediagateServer(MCPServer[Any]):
    """``MCPServer`` whose rejected tool calls carry mediagate's JSON error payload.

    It also lists compact schemas (tool definitions cost every agent context on every turn)
    and refuses arguments a tool does not declare instead of silently dropping them.

    Every instance carries the tasks extension (``tasks``: tool registrars add their
    task-capable tools to it) and owns its ``subscriptions/listen`` bus (``subscription_bus``:
    what publishes resource updates to 2026-07-28 clients). ``generation_subscriptions`` is
    set by the resources registrar.
    """

    _listed: list[MCPTool] | None = None
    _params: dict[str, frozenset[str]] | None = None
    generation_subscriptions: GenerationSubscriptions | None = None

    def __init__(
        self,
        name: str | None = None,
        *,
        extensions: Sequence[Extension] = (),
        subscriptions: SubscriptionBus | None = None,
        **kwargs: Any,
    ) -> None:
        # Extensions are fixed when the SDK server is built, but tools register afterwards:
        # the extension is created first and the registrars fill it in.
        self.tasks = TasksExtension()
        self.subscription_bus: SubscriptionBus = subscriptions or InMemorySubscriptionBus()
        super().__init__(
            name,
            extensions=[self.tasks, *extensions],
            subscriptions=self.subscription_bus,
            **kwargs,
        )

    async def list_tools(self) -> list[MCPTool]:
        """The tools with compacted input/output schemas (same meaning, fewer bytes)."""
        if self._listed is None:
            tools = await super().list_tools()
            for tool in tools:
                if tool.description:
                    # Docstrings carry their source indentation; agents pay for every byte.
                    tool.description = " ".join(tool.description.split())
                tool.input_schema = compact_schema(tool.input_schema)
                tool.input_schema["additionalProperties"] = False
                if tool.output_schema is not None:
                    tool.output_schema = _strip_closed(compact_schema(tool.output_schema))
                    # The model's docstring: the tool's description already says it.
                    tool.output_schema.pop("description", None)
            self._listed = tools
            self._params = {t.name: frozenset(t.input_schema.get("properties", {})) for t in tools}
        return self._listed

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run a tool; ``MediagateError`` and rejected arguments become ``isError`` results.

        Anything else keeps the SDK's behaviour (crashes are logged and reported without
        their text, unknown tools name the tool).
        """
        if self._params is None:
            await self.list_tools()
        assert self._params is not None
        known = self._params.get(name)
        if known is None:
            return error_result(unknown_name(f"Unknown tool {name!r}.", "name", name, self._params))
        if arguments:
            unknown = [k for k in arguments if k not in known]
            if unknown:
                key = unknown[0]
                message = f"{name} has no parameter {key!r}."
                return error_result(unknown_name(message, key, key, known))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, MediagateError):
                return error_result(cause)
            # A plain ToolError caused by a ValidationError is the SDK rejecting the
            # arguments against the input schema; a crash inside the tool is Unexpected.
            if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):
                return error_result(invalid_arguments(cause))
            raise


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop what pydantic adds for humans: auto titles, ``anyOf [X, null]``, null defaults,
    the class docstrings of nested models and docstring indentation in descriptions.

    Optional parameters stay optional (they are simply not ``required``).
    """

    def walk(node: Any, *, nested_model: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "default" and value is None:
                continue
            if key == "description" and isinstance(value, str):
                if not nested_model:
                    out[key] = " ".join(value.split())
                continue
            if key == "$defs" and isinstance(value, dict):
                out[key] = {k: walk(v, nested_model=True) for k, v in value.items()}
            elif key == "properties" and isinstance(value, dict):
                out[key] = {k: walk(v) for k, v in value.items()}
            else:
                out[key] = walk(value)
        options = out.get("anyOf")
        if isinstance(options, list):
            rest = [o for o in options if o != {"type": "null"}]
            if len(rest) == 1 and len(rest) < len(options):
                del out["anyOf"]
                out = {**rest[0], **out}
        return out

    result = walk(schema)
    assert isinstance(result, dict)
    return result


def _strip_closed(node: Any) -> Any:
    """Output schemas without ``additionalProperties: false`` (the server writes the results;
    a client gains nothing from being told no other key will appear)."""
    if isinstance(node, list):
        return [_strip_closed(n) for n in node]
    if not isinstance(node, dict):
        return node
    return {
        k: _strip_closed(v)
        for k, v in node.items()
        if not (k == "additionalProperties" and v is False)
    }


def error_result(error: MediagateError) -> CallToolResult:
    """The ``isError`` tool result for ``error``: one text item holding its JSON payload."""
    text = json.dumps(error.payload, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def invalid_arguments(error: ValidationError) -> MediagateError:
    """``invalid_arguments`` naming the first offending field (and listing all, if several)."""
    problems = [_problem(detail) for detail in error.errors(include_url=False)]
    first = problems[0]
    message = f"Invalid argument '{first['field']}': {first['message']}."
    if not first["field"]:
        message = f"Invalid arguments: {first['message']}."
    return MediagateError(
        "invalid_arguments",
        message,
        field=first["field"] or None,
        problems=problems if len(problems) > 1 else None,
    )


def _problem(detail: ErrorDetails) -> dict[str, str]:
    field = ".".join(str(part) for part in detail["loc"])
    return {"field": field, "message": detail["msg"]}


def build_server(settings: Settings, *, tools: Sequence[ToolRegistrar] = ()) -> MediagateServer:
    """The mediagate MCP server with every registrar in ``tools`` applied, in order.

    ``settings`` is the one ``Settings`` built in ``main()``; registrars that need it close
    over it, so the shell itself does not consult it yet.
    """
    server = MediagateServer(
        name=SERVER_NAME,
        title="mediagate",
        version=__version__,
        instructions=INSTRUCTIONS,
        warn_on_duplicate_tools=True,
    )
    for register in tools:
        register(server)
    return server
