"""trim_video and upload_media: thin wrappers over ``media/clips.py`` and ``media/local_inputs.py``.

Both return a stored file's URL (usable as a ``source_media_urls`` value on this server), its
path, and a ``resource_link``; the files expire after ``MEDIAGATE_TRIM_RETENTION_DAYS``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ResourceLink
from pydantic import BaseModel, ConfigDict, Field

from mediagate.errors import MediagateError
from mediagate.media.store import StoredFile
from mediagate.server.results import file_link, tool_result
from mediagate.server.services import Services

if TYPE_CHECKING:
    from mediagate.media.fetch import GuardedFetcher

# The media modules (workers, fetcher, probe, trim) are imported on first call, not at start-up.

EndSeconds = Annotated[
    float | str,
    Field(description="Window end in seconds; > start_s, and end_s - start_s <= 60."),
]
StartSeconds = Annotated[float | str, Field(description="Window start in seconds.")]


class TrimResult(BaseModel):
    """A trimmed MP4 clip: open url, or read path. It expires after expires_in_days."""

    model_config = ConfigDict(extra="forbid")
    url: str
    path: str
    size_bytes: int
    duration_s: float | None = None
    start_s: float = Field(description="The requested window start.")
    end_s: float = Field(description="The requested window end.")
    elapsed_s: float
    actual_start_s: float = Field(
        description="Where the clip really starts in the source (stream copy snaps to the "
        "keyframe at or before start_s)."
    )
    accurate: bool
    media_type: str = "video"
    mime_type: str = "video/mp4"
    width: int | None = None
    height: int | None = None
    has_audio: bool | None = None
    expires_in_days: float


class UploadResult(BaseModel):
    """A file in this server's media store; pass url as a source_media_urls value."""

    model_config = ConfigDict(extra="forbid")
    url: str
    path: str
    media_type: str
    mime_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    has_audio: bool | None = None
    expires_in_days: float | None = Field(
        None, description="null when the file was already one of this server's outputs"
    )


def _link(url: str, stored: StoredFile, title: str) -> ResourceLink:
    return file_link(
        url,
        stored.relpath,
        title=title,
        mime_type=stored.mime_type,
        size_bytes=stored.size_bytes,
    )


def register(services: Services) -> Any:
    """The registrar for the media tools, closed over ``services``."""
    settings = services.settings
    made: list[GuardedFetcher] = []

    def source_fetcher() -> GuardedFetcher:
        if not made:
            from mediagate.media.clips import DOWNLOAD_BUDGET_S, MAX_SOURCE_BYTES
            from mediagate.media.fetch import FetchPolicy, GuardedFetcher

            made.append(
                GuardedFetcher(
                    FetchPolicy(
                        allow_private=settings.allow_private_urls,
                        max_bytes=MAX_SOURCE_BYTES,
                        total_timeout=DOWNLOAD_BUDGET_S + 30,
                    )
                )
            )
        return made[0]

    def registrar(server: MCPServer[Any]) -> None:
        @server.tool()
        async def trim_video(
            end_s: EndSeconds,
            source_url: str | None = Field(
                None,
                description="Required. The video to trim: an http(s) URL, a URL returned by "
                "this server, or (inside MEDIAGATE_ALLOWED_DIRS) a local path or file:// URI.",
            ),
            start_s: StartSeconds = 0,
            accurate: bool = Field(
                False,
                description="Re-encode for a frame-accurate start (slower, lossy); default "
                "copies streams and starts at the keyframe at or before start_s.",
            ),
        ) -> Annotated[CallToolResult, TrimResult]:
            """Cut a window (end_s - start_s <= 60 s) out of a video and host the MP4 clip.
            The returned url works as a source_media_urls value; clips expire (weekly by
            default). Sources up to 500 MB."""
            from mediagate.media.clips import media_workers, trim_to_store

            clip = await trim_to_store(
                source_url,
                start_s,
                end_s,
                accurate=accurate,
                services=services,
                fetcher=source_fetcher(),
                workers=media_workers(services),
            )
            described = services.media.describe(clip.stored)
            result = TrimResult(
                url=described["url"],
                path=described["path"],
                size_bytes=clip.stored.size_bytes,
                duration_s=clip.stored.duration_s,
                start_s=clip.window.start_s,
                end_s=clip.window.end_s,
                elapsed_s=clip.elapsed_s,
                actual_start_s=clip.actual_start_s,
                accurate=clip.accurate,
                width=clip.stored.width,
                height=clip.stored.height,
                has_audio=clip.stored.has_audio,
                expires_in_days=settings.trim_retention_days,
            )
            return tool_result(result, [_link(result.url, clip.stored, "trimmed video")])

        @server.tool()
        async def upload_media(
            path: str = Field(
                description="An absolute path or file:// URI inside MEDIAGATE_ALLOWED_DIRS, "
                "or a data: URI (at most 25 MB)."
            ),
        ) -> Annotated[CallToolResult, UploadResult]:
            """Copy a local image, video or audio file (or a data: URI) into this server's
            media store and return a URL usable in source_media_urls and trim_video. Uploads
            expire like trimmed clips."""
            from mediagate.media.clips import media_workers
            from mediagate.media.local_inputs import materialize
            from mediagate.media.probe import probe

            found = await materialize(path, services, field="path")
            try:
                info = await probe(found.path, workers=media_workers(services))
            except MediagateError:
                if found.copied:
                    await asyncio.to_thread(found.path.unlink, missing_ok=True)
                raise
            sniffed = found.sniffed
            stored = StoredFile(
                relpath=services.media.relpath(found.path),
                media_type=sniffed.media_type,
                mime_type=sniffed.mime_type,
                size_bytes=found.size_bytes,
                width=info.width,
                height=info.height,
                duration_s=info.duration_s if sniffed.media_type != "image" else None,
                has_audio=info.has_audio if sniffed.media_type == "video" else None,
            )
            described = services.media.describe(stored)
            result = UploadResult(
                url=described["url"],
                path=described["path"],
                media_type=stored.media_type,
                mime_type=stored.mime_type,
                size_bytes=stored.size_bytes,
                width=stored.width,
                height=stored.height,
                duration_s=stored.duration_s,
                has_audio=stored.has_audio,
                expires_in_days=settings.trim_retention_days if found.copied else None,
            )
            return tool_result(result, [_link(result.url, stored, f"uploaded {stored.media_type}")])

        enable_trim_tasks(server, services)

    return registrar


def enable_trim_tasks(server: MCPServer[Any], services: Services) -> None:
    """Task-accepting clients (2026-07-28 tasks extension) get trim_video as a background task,
    recorded under ``<data_dir>/tasks`` and kept as long as the clips it makes."""
    from mediagate.server.tasks import tasks_extension
    from mediagate.server.tool_tasks import ToolCallTasks

    tasks = tasks_extension(server)
    if tasks is None:
        return
    settings = services.settings
    background = ToolCallTasks(
        server, settings.data_dir / "tasks", ttl_s=settings.trim_retention_days * 86400.0
    )
    background.add_tool("trim_video", "trimming the video")
    tasks.add_source(background)
    tasks.add_tool("trim_video", background.start)
