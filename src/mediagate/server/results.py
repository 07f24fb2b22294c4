"""Result shapes of the generation tools and how a stored generation becomes one.

Every successful result carries ``structuredContent`` (validated against these models' output
schemas) plus the same JSON as text; finished outputs are also ``resource_link`` items.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from mcp_types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel, ConfigDict, Field

from mediagate.media.store import MediaStore

if TYPE_CHECKING:
    from mediagate.jobs.model import Generation

Status = Literal["pending", "queued", "processing", "completed", "failed", "canceled"]

_NEXT_STEP = (
    "Not finished yet: call get_generation_status with this generation_id "
    "(wait_seconds up to 50 long-polls)."
)


class OutputFile(BaseModel):
    """One generated file: open ``url`` in a browser, or read the file at ``path``."""

    model_config = ConfigDict(extra="forbid")
    url: str
    path: str | None = None
    media_type: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    size_bytes: int
    thumbnail_url: str | None = None
    has_audio: bool | None = None
    source_url: str | None = None
    copied_to: str | None = None
    copy_error: str | None = None


class GenerationResult(BaseModel):
    """A generation's state; ``outputs`` once completed, ``error`` once failed."""

    model_config = ConfigDict(extra="forbid")
    generation_id: str
    status: Status
    model: str
    provider: str
    progress: float | None = Field(None, description="0-100, or null when unknown")
    status_message: str | None = None
    estimated_time_seconds: float | None = None
    estimated_cost_credits: float | None = None
    warnings: list[str] = Field(default_factory=list)
    outputs: list[OutputFile] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    next_step: str | None = None


def generation_result(gen: Generation, media: MediaStore) -> GenerationResult:
    """The agent-facing view of a stored generation."""
    outputs = [OutputFile(**media.describe_output(o)) for o in gen.outputs]
    return GenerationResult(
        generation_id=gen.id,
        status=gen.status.value,
        model=gen.model,
        provider=gen.provider,
        progress=gen.progress,
        status_message=gen.status_message,
        estimated_time_seconds=gen.estimated_time_seconds,
        estimated_cost_credits=gen.estimated_cost_credits,
        warnings=list(gen.warnings),
        outputs=outputs,
        error=gen.error,
        next_step=None if gen.is_terminal else _NEXT_STEP,
    )


def tool_result(result: BaseModel, links: list[ResourceLink] | None = None) -> CallToolResult:
    """``structuredContent`` + the same JSON as text (+ resource links)."""
    payload = result.model_dump(mode="json", exclude_none=True)
    content: list[Any] = [TextContent(type="text", text=json.dumps(payload, ensure_ascii=False))]
    content.extend(links or [])
    return CallToolResult(content=content, structured_content=payload)


def file_link(
    uri: str,
    relpath: str,
    *,
    title: str,
    mime_type: str,
    size_bytes: int,
    description: str | None = None,
) -> ResourceLink:
    """A ``resource_link`` to one stored file, named after it."""
    return ResourceLink(
        type="resource_link",
        uri=uri,
        name=relpath.rsplit("/", 1)[-1],
        title=title,
        description=description,
        mime_type=mime_type,
        size=size_bytes,
    )


def generation_tool_result(gen: Generation, media: MediaStore) -> CallToolResult:
    """A generation as a tool result, each output file also as a ``resource_link``."""
    result = generation_result(gen, media)
    links = []
    for stored, out in zip(gen.outputs, result.outputs, strict=True):
        relpath = str(stored["relpath"])
        links.append(
            file_link(
                f"mediagate://generations/{gen.id}/{relpath.rsplit('/', 1)[-1]}",
                relpath,
                title=f"{out.media_type} from {gen.model}",
                description=out.url,
                mime_type=out.mime_type,
                size_bytes=out.size_bytes,
            )
        )
    return tool_result(result, links)
