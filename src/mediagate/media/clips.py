"""Trimmed clips in the media store: the ``trim_video`` flow and the expiry of clips and uploads.

:func:`trim_to_store` checks the call, gets the source as a local file (this server's own
media read in place; an allowed local file or ``data:`` URI copied; anything else through the
guarded fetcher with the 500 MB cap enforced while downloading), cuts it in a worker
(:mod:`mediagate.media.trim`) and keeps the clip as ``trims/<random>.mp4``. Scratch files live
under ``<data_dir>/work/`` (outside the served store) and are removed when the call ends.

Clips and uploads are ephemeral, like the seed's weekly cleanup: :func:`start_media_upkeep`
(started by ``Services.running``) deletes those older than ``MEDIAGATE_TRIM_RETENTION_DAYS``
at start-up and then every hour, and at shutdown stops the idle spare media workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mediagate.errors import MediagateError
from mediagate.media.local_inputs import (
    UPLOADS_FOLDER,
    InputServices,
    is_data_uri,
    is_local_reference,
    materialize,
    own_media_path,
)
from mediagate.media.store import StoredFile
from mediagate.media.trim import TrimWindow, parse_window, trim_file

if TYPE_CHECKING:
    from mediagate.media.fetch import GuardedFetcher
    from mediagate.media.worker import MediaWorkers

log = logging.getLogger(__name__)

#: Largest source accepted (enforced while downloading).
MAX_SOURCE_BYTES = 500_000_000
#: How long downloading a source may take in all (``processor_timeout`` past it). The
#: fetcher's own deadline should be longer, so running out of budget is reported as such.
DOWNLOAD_BUDGET_S = 300.0
#: The store folder trimmed clips go to.
TRIMS_FOLDER = "trims"
#: Store folders whose files expire after the retention period.
EXPIRING_FOLDERS = (TRIMS_FOLDER, UPLOADS_FOLDER)
#: Scratch folders under the data dir older than this are crash leftovers.
WORK_MAX_AGE_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class TrimmedClip:
    """A stored clip and how it was cut."""

    stored: StoredFile
    window: TrimWindow
    actual_start_s: float
    accurate: bool
    elapsed_s: float


async def trim_to_store(
    source_url: str | None,
    start_s: object,
    end_s: object,
    *,
    accurate: bool,
    services: InputServices,
    fetcher: GuardedFetcher,
    workers: MediaWorkers,
) -> TrimmedClip:
    """Fetch (or find) the source, cut the window and keep the clip under ``trims/``.

    The source is one of this server's media URLs (read in place), an allowed local file or
    ``data:`` URI, or an http(s) URL fetched through the guarded fetcher into a scratch
    folder (removed afterwards) with :data:`MAX_SOURCE_BYTES` enforced while downloading.
    """
    started = time.monotonic()
    if source_url is None or not source_url.strip():
        raise MediagateError(
            "missing_source_url",
            "source_url is required: the URL of the video to trim.",
            field="source_url",
        )
    url = source_url.strip()
    window = parse_window(start_s, end_s)
    token = secrets.token_hex(12)
    workdir = services.settings.data_dir / "work" / f"trim-{token}"
    trims = services.media.folder(TRIMS_FOLDER)
    name = f"{token}.mp4"
    part = trims / f".{name}.part"
    try:
        source = await source_file(url, services, fetcher, workdir)
        outcome = await trim_file(source, part, window, accurate=accurate, workers=workers)
        final = trims / name
        await asyncio.to_thread(part.replace, final)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
        await asyncio.to_thread(part.unlink, missing_ok=True)
    output = outcome.output
    stored = StoredFile(
        relpath=f"{TRIMS_FOLDER}/{name}",
        media_type="video",
        mime_type="video/mp4",
        size_bytes=outcome.size_bytes,
        width=output.width,
        height=output.height,
        duration_s=output.duration_s,
        has_audio=output.has_audio,
        source_url=url if url[:4].lower() == "http" else None,
    )
    return TrimmedClip(
        stored=stored,
        window=window,
        actual_start_s=outcome.actual_start_s,
        accurate=accurate,
        elapsed_s=round(time.monotonic() - started, 3),
    )


async def source_file(
    url: str,
    services: InputServices,
    fetcher: GuardedFetcher,
    workdir: Path,
    *,
    field: str = "source_url",
) -> Path:
    """A local file for ``url``: our own stored file, a materialized local/data input, or a
    guarded download into ``workdir``."""
    own = own_media_path(url, services, field=field)
    if own is not None:
        return own
    if is_local_reference(url) or is_data_uri(url):
        found = await materialize(
            url, services, field=field, dest_dir=workdir, max_bytes=MAX_SOURCE_BYTES
        )
        return found.path
    # Everything else (http, https, and every scheme the fetcher refuses) goes through the
    # guarded fetcher; the file name is ours, so it cannot steer demuxer detection.
    try:
        async with asyncio.timeout(DOWNLOAD_BUDGET_S):
            result = await fetcher.fetch_to_file(url, workdir / "source", field=field)
    except TimeoutError:
        raise MediagateError(
            "processor_timeout",
            f"Downloading {field} took longer than the {DOWNLOAD_BUDGET_S:g} s budget.",
            field=field,
            limit_s=DOWNLOAD_BUDGET_S,
        ) from None
    assert result.path is not None
    return result.path


# --- retention ---------------------------------------------------------------------------------


def sweep_expired(
    media_root: Path, work_root: Path, max_age_s: float, *, now: float | None = None
) -> int:
    """Delete files in :data:`EXPIRING_FOLDERS` older than ``max_age_s`` (by mtime), and
    scratch folders older than :data:`WORK_MAX_AGE_S`; returns how many entries went."""
    now = time.time() if now is None else now
    removed = 0
    for folder in EXPIRING_FOLDERS:
        directory = media_root / folder
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            with contextlib.suppress(OSError):
                if entry.is_file() and now - entry.lstat().st_mtime > max_age_s:
                    entry.unlink()
                    removed += 1
    if work_root.is_dir():
        for entry in work_root.iterdir():
            with contextlib.suppress(OSError):
                if now - entry.lstat().st_mtime > WORK_MAX_AGE_S:
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink()
                    removed += 1
    return removed


def retention_interval(max_age_s: float) -> float:
    """How often to sweep: hourly, or more often for short retention periods."""
    return min(3600.0, max(1.0, max_age_s / 4))


async def run_retention(media_root: Path, work_root: Path, retention_days: float) -> None:
    """Sweep now, then every :func:`retention_interval` seconds, until cancelled."""
    max_age = retention_days * 86400.0
    while True:
        try:
            removed = await asyncio.to_thread(sweep_expired, media_root, work_root, max_age)
            if removed:
                log.info("removed %d expired trimmed clips/uploads", removed)
        except OSError as exc:
            log.warning("retention sweep failed: %s", exc)
        await asyncio.sleep(retention_interval(max_age))


_workers: weakref.WeakKeyDictionary[InputServices, MediaWorkers] = weakref.WeakKeyDictionary()


def media_workers(services: InputServices) -> MediaWorkers:
    """The sandboxed media workers of ``services`` (created on first use, from its settings)."""
    from mediagate.media.worker import MediaWorkers

    workers = _workers.get(services)
    if workers is None:
        workers = _workers[services] = MediaWorkers.from_settings(services.settings)
    return workers


async def media_upkeep(services: InputServices) -> None:
    """While the server runs: expire clips and uploads (:func:`run_retention`); when
    cancelled at shutdown, stop the idle spare workers of :func:`media_workers`."""
    settings = services.settings
    try:
        await run_retention(
            services.media.root, settings.data_dir / "work", settings.trim_retention_days
        )
    finally:
        workers = _workers.pop(services, None)
        if workers is not None:
            await asyncio.shield(workers.aclose())


def start_media_upkeep(services: InputServices) -> asyncio.Task[None]:
    """Start :func:`media_upkeep` as a task (the caller cancels and awaits it on exit)."""
    return asyncio.create_task(media_upkeep(services), name="mediagate-media-upkeep")
