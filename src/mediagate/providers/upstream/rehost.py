"""Bring finished outputs home: provider URLs expire, our media store does not.

Every :class:`UpstreamOutput` is downloaded through the SSRF-guarded fetcher (streamed to a
temporary file, size-capped, deadline-bound) into the generation's folder and described like
a local output: media type and MIME type from the file's own bytes, width/height/duration
from a sandboxed probe (falling back to what the provider said), the provider URL kept as
``source_url``. Previews and thumbnails become the ``thumbnail`` of the main output rather
than outputs of their own. Downloads are reads, so transient failures are retried with
backoff (or the ``Retry-After`` the fetcher reports), and so is a whole answer holding a cut
or unreadable file (:mod:`.integrity`, then the probe); a file over the cap, a URL that is
gone or a file broken every time fails the generation with ``upstream_error``, naming the
provider URLs so an agent can still fetch them before they expire.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import anyio

from mediagate.errors import MediagateError
from mediagate.media.local_inputs import sniff
from mediagate.media.store import MediaStore, StoredFile
from mediagate.providers.upstream.adapter import UpstreamOutput
from mediagate.providers.upstream.integrity import incomplete
from mediagate.providers.upstream.retry import RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    from mediagate.media.fetch import GuardedFetcher
    from mediagate.media.probe import MediaInfo

log = logging.getLogger(__name__)

Prober = Callable[[Path], Awaitable["MediaInfo"]]
Sleep = Callable[[float], Awaitable[None]]

GLB_MIME = "model/gltf-binary"
_EXT_RE = re.compile(r"^[a-z0-9]{1,5}$")
#: Extensions for MIME types ``mimetypes`` does not know or spells oddly.
_MIME_EXT = {GLB_MIME: "glb", "image/jpeg": "jpg", "audio/mpeg": "mp3", "video/quicktime": "mov"}
_EXT_MIME = {"glb": GLB_MIME, "gltf": "model/gltf+json", "jpg": "image/jpeg", "webp": "image/webp"}
_DEFAULT_EXT = {"image": "png", "video": "mp4", "audio": "mp3", "model": "glb"}
#: Fetch failures worth another try (the URL itself is fine).
_TRANSIENT_REASONS = frozenset({"timeout", "connect", "network", "protocol", "dns"})
_SNIFF_BYTES = 64


@dataclass(frozen=True, slots=True)
class Kind:
    """What a downloaded file is."""

    media_type: str
    mime_type: str
    extension: str


def classify(head: bytes, url: str, content_type: str | None, declared: str) -> Kind:
    """A file's kind from its first bytes, else its URL's extension, else its content type."""
    if head[:4] == b"glTF":
        return Kind("model", GLB_MIME, "glb")
    found = sniff(head)
    if found is not None:
        return Kind(found.media_type, found.mime_type, found.extension)
    ext = _url_extension(url)
    if ext is not None:
        mime = _EXT_MIME.get(ext) or mimetypes.guess_type(f"x.{ext}")[0]
        if mime is not None:
            return Kind(_media_type_of(mime, declared), mime, ext)
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime and mime != "application/octet-stream":
        guessed = _MIME_EXT.get(mime) or (mimetypes.guess_extension(mime) or "").lstrip(".")
        if guessed and _EXT_RE.match(guessed):
            return Kind(_media_type_of(mime, declared), mime, guessed)
    ext = _DEFAULT_EXT.get(declared, "bin")
    return Kind(declared, _EXT_MIME.get(ext) or "application/octet-stream", ext)


def _url_extension(url: str) -> str | None:
    name = unquote(urlsplit(url).path).rsplit("/", 1)[-1]
    if "." not in name:
        return None
    ext = name.rsplit(".", 1)[-1].lower()
    return ext if _EXT_RE.match(ext) else None


def _media_type_of(mime: str, declared: str) -> str:
    if mime.startswith("model/"):
        return "model"
    top = mime.split("/", 1)[0]
    return top if top in ("image", "video", "audio") else declared


class Rehoster:
    """Downloads a generation's outputs into the media store (see module docstring)."""

    def __init__(
        self,
        *,
        provider: str,
        fetcher: GuardedFetcher | Callable[[], GuardedFetcher],
        retry: RetryPolicy,
        prober: Prober | None = None,
        sleep: Sleep,
    ) -> None:
        self.provider = provider
        #: A factory is called on first use: most start-ups never download anything.
        self._fetcher = fetcher
        self._retry = retry
        self._prober = prober
        self._sleep = sleep

    @property
    def fetcher(self) -> GuardedFetcher:
        """The output fetcher (built from its factory on first use)."""
        if callable(self._fetcher):
            self._fetcher = self._fetcher()
        return self._fetcher

    async def aclose(self) -> None:
        """Close the fetcher if one was built."""
        if not callable(self._fetcher):
            await self._fetcher.aclose()

    async def rehost(
        self, outputs: Sequence[UpstreamOutput], *, folder: Path, media: MediaStore
    ) -> list[StoredFile]:
        """Download ``outputs`` into ``folder``; return the stored files (main outputs only)."""
        mains = [o for o in outputs if o.role == "output"] or list(outputs)
        extras = [o for o in outputs if o not in mains]
        if not mains:
            raise MediagateError(
                "upstream_error",
                f"{self.provider} reported the generation finished without any output file.",
                provider=self.provider,
            )
        stored: list[StoredFile] = []
        for i, output in enumerate(mains):
            name = "output" if i == 0 else f"output-{i + 1}"
            stored.append(await self._one(output, folder / name, media))
        for i, extra in enumerate(extras):
            base = extra.role if i == 0 else f"{extra.role}-{i + 1}"
            try:
                thumb = await self._one(extra, folder / base, media)
            except MediagateError as exc:
                # A missing preview is no reason to lose the generation.
                log.warning("%s preview not saved: %s", self.provider, exc.message)
                continue
            target = min(i, len(stored) - 1)
            if stored[target].thumbnail_relpath is None:
                stored[target] = _with_thumbnail(stored[target], thumb.relpath)
        return stored

    async def _one(self, output: UpstreamOutput, stem: Path, media: MediaStore) -> StoredFile:
        download = stem.with_name(stem.name + ".download")
        attempt = 0
        while True:
            attempt += 1
            result = await self._download(output.url, download, field=stem.name)
            head = await anyio.to_thread.run_sync(_head, download)
            kind = classify(head, result.url, result.content_type, output.media_type)
            path = stem.with_name(f"{stem.name}.{kind.extension}")
            await anyio.Path(download).replace(path)
            problem = await anyio.to_thread.run_sync(incomplete, path, kind.extension)
            info: MediaInfo | None = None
            if problem is None:
                info, problem = await self._probe(path, kind)
            if problem is None:
                break
            # A whole answer holding a broken file: downloading is a read, so try it again.
            await anyio.Path(path).unlink(missing_ok=True)
            if attempt >= self._retry.max_attempts:
                raise MediagateError(
                    "upstream_error",
                    f"An output of {self.provider} arrived broken {attempt} times: {problem}.",
                    provider=self.provider,
                    reason="output_unreadable",
                    output_url=output.url,
                    hint="Fetch output_url directly before it expires.",
                )
            log.info("%s output %s is broken (%s); downloading again", self.provider, path, problem)
            await self._sleep(self._retry.backoff(attempt))
        width, height, duration, has_audio = _describe(kind, output.extra, info)
        return StoredFile(
            relpath=media.relpath(path),
            media_type=kind.media_type,
            mime_type=kind.mime_type,
            size_bytes=result.size_bytes,
            width=width,
            height=height,
            duration_s=duration,
            has_audio=has_audio if kind.media_type == "video" else None,
            source_url=output.url,
        )

    async def _download(self, url: str, dest: Path, *, field: str) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.fetcher.fetch_to_file(url, dest, field=field)
            except MediagateError as exc:
                if exc.code == "source_too_large":
                    raise MediagateError(
                        "upstream_error",
                        f"An output of {self.provider} is larger than the "
                        f"{exc.details.get('max_bytes')}-byte download limit.",
                        provider=self.provider,
                        reason="output_too_large",
                        max_bytes=exc.details.get("max_bytes"),
                        output_url=url,
                        hint="Raise MEDIAGATE_UPSTREAM_OUTPUT_MAX_BYTES, or fetch output_url "
                        "directly before it expires.",
                    ) from None
                if not _transient(exc) or attempt >= self._retry.max_attempts:
                    raise MediagateError(
                        "upstream_error",
                        f"An output of {self.provider} could not be downloaded: {exc.message}",
                        provider=self.provider,
                        reason="output_download_failed",
                        fetch_error=exc.code,
                        output_url=url,
                        hint="Fetch output_url directly before it expires.",
                    ) from None
                said = exc.details.get("retry_after")
                wait = self._retry.delay(
                    attempt, parse_retry_after(said) if isinstance(said, str) else None
                )
                await self._sleep(min(wait, self._retry.max_wait_s))

    async def _probe(self, path: Path, kind: Kind) -> tuple[MediaInfo | None, str | None]:
        """The probe's reading, and why the file is broken (``ffmpeg_failed``) if it is."""
        if self._prober is None or kind.media_type not in ("image", "video", "audio"):
            return None, None
        try:
            return await self._prober(path), None
        except MediagateError as exc:
            if exc.code == "ffmpeg_failed":
                return None, exc.message.rstrip(".")
            # Our own media workers are in trouble, not the file: keep it undescribed.
            log.warning("probing %s output %s failed: %s", self.provider, path, exc.message)
            return None, None


def _describe(
    kind: Kind, extra: Mapping[str, Any], info: MediaInfo | None
) -> tuple[int | None, int | None, float | None, bool | None]:
    """Dimensions, duration and audio: the probe's, else what the provider said."""
    width = _int(extra.get("width"))
    height = _int(extra.get("height"))
    duration = _float(extra.get("duration_s") or extra.get("duration"))
    if info is None:
        return width, height, duration, None
    duration = info.duration_s if kind.media_type != "image" else None
    return info.width or width, info.height or height, duration, info.has_audio


def _transient(exc: MediagateError) -> bool:
    if exc.code != "source_fetch_failed":
        return False
    reason = exc.details.get("reason")
    if reason in _TRANSIENT_REASONS:
        return True
    status = exc.details.get("status")
    return (
        reason == "http_status"
        and isinstance(status, int)
        and (status >= 500 or status in (408, 429))
    )


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(_SNIFF_BYTES)


def _with_thumbnail(stored: StoredFile, relpath: str) -> StoredFile:
    return replace(stored, thumbnail_relpath=relpath)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if value > 0 else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value > 0 else None
