"""Make this server's own media files reachable by an upstream.

A request may name files from our media store (outputs fed back, uploads, trimmed clips):
``file://`` URIs under the store root, or ``<base_url>/media/...`` URLs that usually point at
a loopback or LAN address. An upstream can fetch neither, so before the submit each one is
either uploaded to the provider (``local_inputs == "upload"``: a streamed multipart POST with
the field ``file``; the provider's answer names the public URL) or inlined as a base64
``data:`` URI (``"data_uri"``). Public URLs pass through untouched — the upstream fetches them.

The rewritten request keeps every other field, so an adapter reads ``last_frame_url`` and
``kling_elements`` from its params exactly as before, only reachable.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio

from mediagate.catalog.request import GenerationRequest, SourceMedia
from mediagate.errors import MediagateError
from mediagate.media.local_inputs import DATA_URI_MAX_BYTES, sniff
from mediagate.media.store import MediaStore, guess_mime
from mediagate.providers.upstream.adapter import UpstreamAdapter
from mediagate.providers.upstream.client import TransportFailure, UpstreamHttp
from mediagate.providers.upstream.errors import mapped_error, transport_error
from mediagate.providers.upstream.retry import RetryPolicy, is_transient_status

#: Sends one upload (multipart body, headers) and returns the URL the provider answered.
Uploader = Callable[[Path, str, str], Awaitable[str]]

_CHUNK = 256 * 1024
_UNREADABLE = (MediagateError, ValueError, KeyError, TypeError, AttributeError)
_ELEMENT_URL_KEYS = ("element_input_urls", "element_input_video_urls")


def own_media_file(url: str, media: MediaStore) -> Path | None:
    """The stored file behind one of our own media URLs, ``None`` for anything else.

    Raises ``source_fetch_failed`` when the URL is ours but the file is gone (expired).
    """
    parts = urlsplit(url)
    rel: str | None = None
    if parts.scheme == "file":
        candidate = Path(unquote(parts.path)).resolve()
        try:
            rel = candidate.relative_to(media.root.resolve()).as_posix()
        except ValueError:
            return None
    elif media.base_url is not None and url.startswith(media.base_url + "/media/"):
        rel = unquote(url[len(media.base_url) + len("/media/") :].split("?", 1)[0])
    if rel is None:
        return None
    path = media.resolve(rel)
    if path is None:
        raise MediagateError(
            "source_fetch_failed",
            "An input points into this server's media store, but the file no longer exists "
            "(uploads and trimmed clips expire).",
            url=url[:300],
            reason="not_found",
        )
    return path


async def localize(
    request: GenerationRequest,
    media: MediaStore,
    *,
    mode: str,
    upload: Uploader,
) -> GenerationRequest:
    """``request`` with every own-media URL replaced by one the upstream can reach.

    Each distinct file is sent once even when it appears in several fields.
    """
    done: dict[str, str] = {}

    async def reachable(url: str) -> str:
        if url in done:
            return done[url]
        path = own_media_file(url, media)
        if path is None:
            out = url
        elif mode == "upload":
            out = await upload(path, path.name, guess_mime(path))
        else:
            out = await data_uri(path)
        done[url] = out
        return out

    sources = [SourceMedia(await reachable(s.url), s.kind) for s in request.sources]
    params: dict[str, Any] = dict(request.params)
    last = params.get("last_frame_url")
    if isinstance(last, str):
        params["last_frame_url"] = await reachable(last)
    elements = params.get("kling_elements")
    if isinstance(elements, list):
        fixed: list[Any] = []
        for element in elements:
            if isinstance(element, dict):
                element = dict(element)
                for key in _ELEMENT_URL_KEYS:
                    urls = element.get(key)
                    if isinstance(urls, list):
                        element[key] = [
                            await reachable(u) if isinstance(u, str) else u for u in urls
                        ]
            fixed.append(element)
        params["kling_elements"] = fixed
    return request._replace(sources=sources, params=params)


async def data_uri(path: Path, *, max_bytes: int = DATA_URI_MAX_BYTES) -> str:
    """``path`` as a base64 ``data:`` URI (read and encoded off the event loop)."""
    size = (await anyio.Path(path).stat()).st_size
    if size > max_bytes:
        raise MediagateError(
            "source_too_large",
            f"A stored input is {size} bytes; inlining it for the provider allows at most "
            f"{max_bytes}.",
            max_bytes=max_bytes,
            got=size,
            hint="Use a smaller file, or pass a public URL instead.",
        )

    def encode() -> str:
        data = path.read_bytes()
        found = sniff(data[:64])
        mime = found.mime_type if found is not None else guess_mime(path)
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    return await anyio.to_thread.run_sync(encode)


class MultipartFile:
    """A ``multipart/form-data`` body with one file part, streamed from disk.

    Built by hand because httpx2 reads file parts synchronously (a blocking read on the event
    loop for every chunk); this streams through anyio's thread-offloaded file API and declares
    its exact length, which some upload endpoints require.
    """

    def __init__(self, path: Path, *, field: str, filename: str, mime_type: str) -> None:
        self.path = path
        self.boundary = f"mediagate-{secrets.token_hex(16)}"
        safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
        self._head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
            f"Content-Type: {mime_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    async def headers(self) -> dict[str, str]:
        """``Content-Type`` (with the boundary) and ``Content-Length``."""
        size = (await anyio.Path(self.path).stat()).st_size
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(len(self._head) + size + len(self._tail)),
        }

    async def stream(self) -> AsyncIterator[bytes]:
        """The body; a fresh iterator per attempt (a retried upload starts over)."""
        yield self._head
        async with await anyio.open_file(self.path, "rb") as file:
            while chunk := await file.read(_CHUNK):
                yield chunk
        yield self._tail


def uploader(
    adapter: UpstreamAdapter,
    http: UpstreamHttp,
    *,
    retry: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Uploader:
    """An :data:`Uploader` sending stored files through ``adapter.upload_call``.

    An orphaned upload costs nothing, so every transient failure is retried (up to
    ``retry.max_attempts``), unlike a submit.
    """
    name = adapter.name

    async def upload(path: Path, filename: str, mime_type: str) -> str:
        call = adapter.upload_call()
        if call is None:  # an adapter bug: local_inputs says "upload" without an upload call
            raise MediagateError(
                "upstream_error", f"{name} has no upload for local inputs.", provider=name
            )
        body = MultipartFile(path, field="file", filename=filename, mime_type=mime_type)
        headers = await body.headers()
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= retry.max_attempts
            try:
                answer = await http.send(call, content=body.stream(), headers=headers)
            except TransportFailure as exc:
                if last:
                    raise transport_error(name, exc.cause, what="the input upload") from None
                await sleep(retry.backoff(attempt))
                continue
            if answer.ok:
                try:
                    return adapter.parse_upload(answer.body)
                except _UNREADABLE:
                    if last:
                        raise MediagateError(
                            "upstream_error",
                            f"{name} answered an input upload unreadably.",
                            provider=name,
                        ) from None
                    continue
            error = mapped_error(adapter, answer)
            if is_transient_status(answer.status_code) and not last:
                wait = retry.delay(attempt, answer.retry_after_s)
                if wait <= retry.max_wait_s:
                    await sleep(wait)
                    continue
            raise error

    return upload
