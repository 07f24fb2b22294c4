"""Local files, ``data:`` URIs and this server's own media URLs as inputs.

An agent (or a prompt-injected page it read) can name any path, so local files are refused
unless ``MEDIAGATE_ALLOWED_DIRS`` lists folders to read from (empty by default). A path is
checked *after* resolving symlinks (a link inside an allowed folder pointing outside it is
refused), opened without following a final symlink and without blocking on FIFOs, compared
with what was checked (same device and inode), and must be a regular file whose first bytes
sniff as an image, video or audio file: mediagate never becomes a way to read ``~/.ssh`` or a
config file, even inside an allowed folder. ``data:`` URIs (at most 25 MB decoded) are
sniffed the same way.

:func:`materialize` turns such an input into a file in the media store (``uploads/``) or any
folder given, so the local provider and ``trim_video`` can read it and a URL to it can be
handed back; this server's own media URLs resolve to the stored file without a copy.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import anyio

from mediagate.errors import MediagateError

if TYPE_CHECKING:
    from mediagate.media.store import MediaStore
    from mediagate.settings import Settings

MediaType = Literal["image", "video", "audio"]

#: Largest decoded ``data:`` URI accepted.
DATA_URI_MAX_BYTES = 25_000_000
#: Largest local file accepted as an input (the trim source cap, too).
LOCAL_FILE_MAX_BYTES = 500_000_000
#: The store folder uploaded inputs go to (swept like trimmed clips).
UPLOADS_FOLDER = "uploads"

_SNIFF_BYTES = 64
_COPY_CHUNK = 1 << 20
_MAX_REF_IN_DETAILS = 200


class InputServices(Protocol):
    """What input handling needs from the server's services (``Services`` fits)."""

    settings: Settings
    media: MediaStore

    def trusted_url_prefixes(self) -> tuple[str, ...]:
        """This server's own media URL prefixes."""
        ...


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What a file's first bytes say it is."""

    media_type: MediaType
    mime_type: str
    extension: str


@dataclass(frozen=True, slots=True)
class Materialized:
    """An input available as a local file; ``copied`` is false for files already stored."""

    path: Path
    sniffed: Sniffed
    size_bytes: int
    copied: bool


def sniff(head: bytes) -> Sniffed | None:
    """Identify an image, video or audio file by its magic bytes; ``None`` for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", "png")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", "jpg")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", "webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "audio/wav", "wav")
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head[8:12])
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return Sniffed("video", "video/quicktime", "mov")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:_SNIFF_BYTES]:
            return Sniffed("video", "video/webm", "webm")
        return Sniffed("video", "video/x-matroska", "mkv")
    if head.startswith(b"OggS"):
        return Sniffed("audio", "audio/ogg", "ogg")
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "audio/flac", "flac")
    if head.startswith(b"ID3"):
        return Sniffed("audio", "audio/mpeg", "mp3")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0b11
        if layer == 0 and head[1] & 0xF0 == 0xF0:
            return Sniffed("audio", "audio/aac", "aac")  # ADTS
        if layer == 0b01:
            return Sniffed("audio", "audio/mpeg", "mp3")  # MPEG audio layer III
    return None


def _sniff_iso_bmff(brand: bytes) -> Sniffed:
    if brand in (b"avif", b"avis"):
        return Sniffed("image", "image/avif", "avif")
    if brand in (b"M4A ", b"M4B "):
        return Sniffed("audio", "audio/mp4", "m4a")
    if brand == b"qt  ":
        return Sniffed("video", "video/quicktime", "mov")
    return Sniffed("video", "video/mp4", "mp4")


def is_local_reference(ref: str) -> bool:
    """Whether ``ref`` names a local file: an absolute path or a ``file:`` URI."""
    return ref.startswith("/") or ref[:5].lower() == "file:"


def is_data_uri(ref: str) -> bool:
    """Whether ``ref`` is a ``data:`` URI."""
    return ref[:5].lower() == "data:"


def own_media_path(url: str, services: InputServices, *, field: str) -> Path | None:
    """The stored file behind one of this server's own media URLs; ``None`` for other URLs.

    Raises ``source_fetch_failed`` when the URL is ours but the file is gone (expired).
    """
    media = services.media
    for prefix in services.trusted_url_prefixes():
        if url.startswith(prefix):
            rel = unquote(url[len(prefix) :].split("?", 1)[0].split("#", 1)[0])
            path = media.resolve(rel)
            if path is None:
                raise MediagateError(
                    "source_fetch_failed",
                    f"{field} points into this server's media store, but no such file exists "
                    "(trimmed clips and uploads expire).",
                    field=field,
                    url=_clip(url),
                    reason="not_found",
                )
            return path
    return None


def local_path(ref: str, *, field: str) -> Path:
    """The absolute path an absolute-path or ``file:`` reference names (not yet checked)."""
    if "\x00" in ref:
        raise _unsafe(field, ref, f"{field} contains a NUL byte.")
    if ref.startswith("/"):
        return Path(ref)
    parts = urlsplit(ref)
    if parts.netloc not in ("", "localhost"):
        raise _unsafe(field, ref, f"{field} names a file on another host ({parts.netloc}).")
    path = unquote(parts.path)
    if not path.startswith("/") or "\x00" in path:
        raise _unsafe(field, ref, f"{field} must be an absolute file:// URI.")
    return Path(path)


def check_allowed(path: Path, allowed_dirs: list[Path] | tuple[Path, ...], *, field: str) -> Path:
    """``path`` with symlinks resolved, if that lies inside ``MEDIAGATE_ALLOWED_DIRS``."""
    shown = str(path)
    if not allowed_dirs:
        raise MediagateError(
            "unsafe_source_url",
            f"{field} is a local file, and reading local files is disabled "
            "(MEDIAGATE_ALLOWED_DIRS is empty).",
            field=field,
            got=_clip(shown),
            hint="Set MEDIAGATE_ALLOWED_DIRS to the folders mediagate may read inputs from.",
        )
    resolved = Path(os.path.realpath(path))
    for allowed in allowed_dirs:
        root = Path(os.path.realpath(allowed.expanduser()))
        if resolved == root or root in resolved.parents:
            return resolved
    raise MediagateError(
        "unsafe_source_url",
        f"{field} is not inside a folder allowed by MEDIAGATE_ALLOWED_DIRS "
        "(checked after resolving symlinks).",
        field=field,
        got=_clip(shown),
        allowed=[str(p) for p in allowed_dirs],
        hint="Add the folder to MEDIAGATE_ALLOWED_DIRS (comma-separated) to allow it.",
    )


def decode_data_uri(ref: str, *, field: str, max_bytes: int = DATA_URI_MAX_BYTES) -> bytes:
    """The bytes of a ``data:`` URI (base64 or percent-encoded), at most ``max_bytes``."""
    header, sep, payload = ref[5:].partition(",")
    if not sep:
        raise MediagateError(
            "invalid_arguments", f"{field} is a data: URI without a ',' separator.", field=field
        )
    is_base64 = header.lower().endswith(";base64")
    # Refuse by the encoded length first, so a huge URI is never decoded.
    bound = (max_bytes + 2) // 3 * 4 + 4 if is_base64 else max_bytes * 3
    if len(payload) > bound:
        raise _too_large(field, max_bytes)
    try:
        if is_base64:
            data = base64.b64decode("".join(payload.split()), validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise MediagateError(
            "invalid_arguments", f"{field} is a data: URI with invalid base64.", field=field
        ) from None
    if len(data) > max_bytes:
        raise _too_large(field, max_bytes)
    return data


async def materialize(
    ref: str,
    services: InputServices,
    *,
    field: str = "path",
    dest_dir: Path | None = None,
    max_bytes: int = LOCAL_FILE_MAX_BYTES,
) -> Materialized:
    """Make an input available as a local media file.

    ``ref`` is one of this server's media URLs (used in place), an absolute path or
    ``file:`` URI inside ``MEDIAGATE_ALLOWED_DIRS``, or a ``data:`` URI; the last two are
    copied into ``dest_dir`` (default: the store's ``uploads/`` folder) under a random name
    with the sniffed extension. Raises ``unsafe_source_url``, ``source_too_large``,
    ``source_fetch_failed`` or ``invalid_arguments``.
    """
    own = own_media_path(ref, services, field=field)
    if own is not None:
        head, size = await anyio.to_thread.run_sync(_head_and_size, own)
        return Materialized(own, _require_media(head, field, ref), size, copied=False)
    if is_data_uri(ref):
        data = decode_data_uri(ref, field=field, max_bytes=min(max_bytes, DATA_URI_MAX_BYTES))
        sniffed = _require_media(data[:_SNIFF_BYTES], field, "data: URI")
        folder = _dest(services, dest_dir)
        target = folder / f"{secrets.token_hex(12)}.{sniffed.extension}"
        await anyio.to_thread.run_sync(_write_new, target, data)
        return Materialized(target, sniffed, len(data), copied=True)
    if is_local_reference(ref):
        try:
            checked = check_allowed(
                local_path(ref, field=field), services.settings.allowed_dirs, field=field
            )
        except MediagateError as exc:
            # Echo what the agent sent (a file:// URI stays a URI), not our resolved path.
            exc.details["got"] = _clip(ref)
            raise
        folder = _dest(services, dest_dir)
        return await anyio.to_thread.run_sync(_copy_checked, checked, folder, field, ref, max_bytes)
    raise _unsafe(
        field,
        ref,
        f"{field} must be an absolute path, a file:// URI, a data: URI or one of this "
        "server's media URLs.",
    )


def _dest(services: InputServices, dest_dir: Path | None) -> Path:
    if dest_dir is not None:
        dest_dir.mkdir(parents=True, exist_ok=True)
        return dest_dir
    return services.media.folder(UPLOADS_FOLDER)


def _head_and_size(path: Path) -> tuple[bytes, int]:
    with path.open("rb") as file:
        return file.read(_SNIFF_BYTES), os.fstat(file.fileno()).st_size


def _require_media(head: bytes, field: str, ref: str) -> Sniffed:
    found = sniff(head)
    if found is None:
        raise _unsafe(
            field,
            ref,
            f"{field} is not an image, video or audio file (checked by its content).",
        )
    return found


def _write_new(target: Path, data: bytes) -> None:
    part = target.with_name(f".{target.name}.part")
    try:
        with part.open("xb") as file:
            file.write(data)
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _copy_checked(
    checked: Path, folder: Path, field: str, ref: str, max_bytes: int
) -> Materialized:
    """Open the checked path safely, verify it is the same regular file, sniff and copy it."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(checked, flags)
    except FileNotFoundError:
        raise _fetch_failed(field, ref, "not_found", f"{field} does not exist.") from None
    except OSError as exc:
        raise _fetch_failed(
            field, ref, "unreadable", f"{field} cannot be read ({exc.strerror or exc})."
        ) from None
    try:
        info = os.fstat(fd)
        try:
            now = os.stat(checked)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            raise _unsafe(field, ref, f"{field} changed while it was being checked.")
        if not stat.S_ISREG(info.st_mode):
            raise _fetch_failed(field, ref, "not_a_file", f"{field} is not a regular file.")
        if info.st_size > max_bytes:
            raise _too_large(field, max_bytes, declared_bytes=info.st_size)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as source:
        head = source.read(_SNIFF_BYTES)
        sniffed = _require_media(head, field, ref)
        target = folder / f"{secrets.token_hex(12)}.{sniffed.extension}"
        part = target.with_name(f".{target.name}.part")
        size = len(head)
        try:
            with part.open("xb") as out:
                out.write(head)
                while chunk := source.read(_COPY_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(field, max_bytes)
                    out.write(chunk)
            part.replace(target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    return Materialized(target, sniffed, size, copied=True)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REF_IN_DETAILS else text[:_MAX_REF_IN_DETAILS] + "…"


def _unsafe(field: str, ref: str, message: str) -> MediagateError:
    return MediagateError("unsafe_source_url", message, field=field, got=_clip(ref))


def _fetch_failed(field: str, ref: str, reason: str, message: str) -> MediagateError:
    return MediagateError(
        "source_fetch_failed", message, field=field, url=_clip(ref), reason=reason
    )


def _too_large(field: str, limit: int, *, declared_bytes: int | None = None) -> MediagateError:
    return MediagateError(
        "source_too_large",
        f"{field} is larger than the {limit}-byte limit.",
        field=field,
        max_bytes=limit,
        declared_bytes=declared_bytes,
    )
