"""The media store: every output file lives under ``<data_dir>/media/<generation_id>/``.

Files are addressed by a path relative to the store root. Over HTTP they are served at
``/media/<relative path>``; over stdio the URL is a ``file://`` URI the user can open.
"""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(slots=True, frozen=True)
class StoredFile:
    """One output file in the store, with what an agent needs to use it."""

    relpath: str
    media_type: str
    mime_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    thumbnail_relpath: str | None = None
    has_audio: bool | None = None
    source_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Stored form (kept in the job row); URLs are derived at read time."""
        return {
            "relpath": self.relpath,
            "media_type": self.media_type,
            "mime_type": self.mime_type,
            "size_bytes": self.size_bytes,
            "width": self.width,
            "height": self.height,
            "duration_s": self.duration_s,
            "thumbnail_relpath": self.thumbnail_relpath,
            "has_audio": self.has_audio,
            "source_url": self.source_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredFile:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class MediaStore:
    """Directory-backed store of generated files, one folder per generation."""

    def __init__(self, root: Path, *, base_url: str | None = None) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/") if base_url else None

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def folder(self, generation_id: str, *, create: bool = True) -> Path:
        """The folder for one generation's files (created unless ``create`` is false).

        The job runner passes ``create=False``: the writer (a render worker, a download)
        creates it, so no directory syscall runs on the event loop per generation.
        """
        if not _SAFE_NAME.match(generation_id):
            raise ValueError(f"unsafe generation id {generation_id!r}")
        path = self.root / generation_id
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path

    def relpath(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def resolve(self, relpath: str) -> Path | None:
        """The absolute path of a stored file, or None if ``relpath`` escapes the store."""
        parts = relpath.split("/")
        if not parts or any(not _SAFE_NAME.match(p) for p in parts):
            return None
        path = (self.root / Path(*parts)).resolve()
        root = self.root.resolve()
        if root not in path.parents or not path.is_file():
            return None
        return path

    def url_for(self, relpath: str) -> str:
        """Browser-openable URL: ``/media/...`` over HTTP, else a ``file://`` URI."""
        if self.base_url is not None:
            return f"{self.base_url}/media/{relpath}"
        return (self.root / relpath).resolve().as_uri()

    def describe(self, stored: StoredFile) -> dict[str, Any]:
        """The output object agents receive (GUIDE §3 fields)."""
        out: dict[str, Any] = {
            "url": self.url_for(stored.relpath),
            "path": str((self.root / stored.relpath).resolve()),
            "media_type": stored.media_type,
            "mime_type": stored.mime_type,
            "width": stored.width,
            "height": stored.height,
            "duration_s": stored.duration_s,
            "size_bytes": stored.size_bytes,
            "thumbnail_url": (
                self.url_for(stored.thumbnail_relpath) if stored.thumbnail_relpath else None
            ),
        }
        if stored.has_audio is not None:
            out["has_audio"] = stored.has_audio
        if stored.source_url is not None:
            out["source_url"] = stored.source_url
        return out

    def describe_output(self, data: dict[str, Any]) -> dict[str, Any]:
        """``describe`` for an output as kept in the job row (with delivery notes)."""
        out = self.describe(StoredFile.from_json(data))
        for key in ("copied_to", "copy_error"):
            if key in data:
                out[key] = data[key]
        return out

    def copy_out(self, stored: StoredFile, folder: Path) -> Path:
        """Copy a stored file into ``folder`` (already checked as allowed); no overwrite."""
        src = self.root / stored.relpath
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / src.name
        stem, suffix, n = target.stem, target.suffix, 1
        while target.exists():
            target = folder / f"{stem}-{n}{suffix}"
            n += 1
        shutil.copy2(src, target)
        return target


def guess_mime(path: Path) -> str:
    mime, _ = mimetypes.guess_type(path.name)
    return mime or "application/octet-stream"


def file_size(path: Path) -> int:
    return os.stat(path).st_size
