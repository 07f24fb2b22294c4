"""The embedded local provider: real files rendered offline, with an upstream-like lifecycle.

Rendering runs in a small process pool (CPU-bound; never on the event loop). Alongside it a
simulated timeline — the model's typical upstream time × ``MEDIAGATE_LOCAL_DELAY_SCALE`` —
drives ``queued → processing (n%) → completed`` so agents see what a real provider does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from mediagate.errors import MediagateError
from mediagate.media.store import MediaStore, StoredFile

if TYPE_CHECKING:
    from mediagate.catalog.request import GenerationRequest
    from mediagate.jobs.model import Generation
    from mediagate.media.fetch import GuardedFetcher
    from mediagate.providers.base import RunContext

_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_EXT = {"png": "png", "jpeg": "jpg", "webp": "webp"}
_THUMB_MAX = 512
_PARENT_CHECK_S = 0.5


def _render_in_worker(job: dict[str, Any]) -> dict[str, Any]:
    """Runs in a worker process: render, write the files, return what was written."""
    from mediagate.providers.local import render

    folder = Path(job["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    if job["media_type"] == "video":
        path = folder / "video.mp4"
        info = render.render_video(
            path=str(path),
            prompt=job["prompt"],
            seed=job["seed"],
            width=job["width"],
            height=job["height"],
            duration_s=job["duration_s"],
            audio=job["audio"],
            source=job["source"],
        )
        return {"path": str(path), **info}
    fmt = job["fmt"]
    data = render.render_image(
        prompt=job["prompt"],
        seed=job["seed"],
        width=job["width"],
        height=job["height"],
        fmt=fmt,
        source=job["source"],
    )
    path = folder / f"image.{_EXT[fmt]}"
    _write_atomic(path, data)
    thumb = _thumbnail(path, folder / "thumbnail.jpg")
    if job["media_type"] == "3d":
        # The model itself, with the rendered image as its preview (as 3D upstreams answer).
        from mediagate.providers.local.mesh import render_glb

        glb, _half = render_glb(prompt=job["prompt"], seed=job["seed"])
        model = folder / "model.glb"
        _write_atomic(model, glb)
        path.unlink()
        return {
            "path": str(model),
            "width": None,
            "height": None,
            "size_bytes": len(glb),
            "mime_type": "model/gltf-binary",
            "poster_path": str(thumb),
        }
    return {
        "path": str(path),
        "width": job["width"],
        "height": job["height"],
        "size_bytes": len(data),
        "mime_type": _MIME[fmt],
        "poster_path": str(thumb),
    }


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker once the server process is gone.

    A server killed with SIGKILL cannot shut its pool down, and an idle worker never sees EOF
    on the call queue (it holds a write end itself), so without this every ``kill -9`` left
    the render workers (and their resource tracker) running forever.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="mediagate-parent-watch", daemon=True).start()


def _fit_to_source(request: GenerationRequest, source: bytes) -> tuple[int, int]:
    """Output size for ``auto``/``adaptive``: the source image's shape at the request's tier.

    Validation cannot see the source, so it sized ``auto`` with a default shape; here the
    long edge (images) or short edge (videos) of that size is kept and the ratio follows
    the source.
    """
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(source)) as im:
            src_w, src_h = im.size
    except Exception:
        return request.width, request.height
    if src_w <= 0 or src_h <= 0:
        return request.width, request.height
    ratio = src_w / src_h
    if request.media_type == "video":
        short = min(request.width, request.height)
        w, h = (short * ratio, short) if ratio >= 1 else (short, short / ratio)
    else:
        long = max(request.width, request.height)
        w, h = (long, long / ratio) if ratio >= 1 else (long * ratio, long)
    # Even sizes (H.264 yuv420p needs them), within the renderer's limits.
    cap = 4096 if request.media_type == "video" else 8192
    return (min(cap, max(16, 2 * round(w / 2))), min(cap, max(16, 2 * round(h / 2))))


def _thumbnail(src: Path, dst: Path) -> Path:
    from PIL import Image

    with Image.open(src) as im:
        im.thumbnail((_THUMB_MAX, _THUMB_MAX))
        im.convert("RGB").save(dst, "JPEG", quality=85)
    return dst


def _seed_for(request: GenerationRequest, generation: Generation) -> int:
    # Without an explicit seed, derive one from the id so a resumed job renders the same file.
    if request.seed is not None:
        return request.seed % (2**63)
    return int.from_bytes(hashlib.sha256(generation.id.encode()).digest()[:6], "big")


class LocalProvider:
    """Renders every catalog model offline (images and videos), no key, no network."""

    name = "local"

    def __init__(
        self,
        *,
        delay_scale: float = 0.1,
        workers: int = 2,
        fetcher: GuardedFetcher | Callable[[], GuardedFetcher] | None = None,
    ) -> None:
        self.delay_scale = delay_scale
        self.workers = workers
        #: Fetches remote source images (SSRF-guarded); without one, only own files are used.
        #: A factory is called on first use (the HTTP stack is not needed at start-up).
        self._fetcher = fetcher
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # spawn: the server process has threads (SQLite writer, event loop); fork is unsafe.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def run(self, ctx: RunContext) -> list[StoredFile]:
        """Render the request's file and walk the lifecycle while it renders."""
        from mediagate.catalog.estimate import estimate_time
        from mediagate.jobs.model import GenerationStatus

        request = ctx.request
        entry = ctx.catalog.entry_of(request)
        loop = asyncio.get_running_loop()
        await ctx.report(GenerationStatus.QUEUED, 0.0, "queued on the local renderer")
        source, note = await self._source_bytes(request, ctx.media)
        if note:
            await ctx.warn(note)
        width, height = request.width, request.height
        if source is not None and request.aspect_ratio in ("auto", "adaptive"):
            width, height = await asyncio.to_thread(_fit_to_source, request, source)
        job = {
            "folder": str(ctx.folder),
            "media_type": request.media_type,
            "prompt": request.prompt,
            "seed": _seed_for(request, ctx.generation),
            "width": width,
            "height": height,
            "duration_s": float(request.duration_s or 5),
            "audio": request.has_audio,
            "fmt": request.output_format,
            "source": source,
        }
        simulated = estimate_time(entry, request) * self.delay_scale
        started = time.monotonic()
        await ctx.report(GenerationStatus.PROCESSING, 0.0, "rendering 0%")
        future = loop.run_in_executor(self._executor(), _render_in_worker, job)
        tick = min(1.0, max(0.05, simulated / 50))
        try:
            while True:
                elapsed = time.monotonic() - started
                if future.done() and elapsed >= simulated:
                    break
                if simulated <= 0:
                    # Nothing to simulate: just wait for the render (no progress ticks).
                    await asyncio.wait([future])
                    continue
                fraction = min(elapsed / simulated, 0.99)
                pct = round(fraction * 100, 1)
                await ctx.report(GenerationStatus.PROCESSING, pct, f"rendering {int(pct)}%")
                if future.done():
                    # The file is ready but the simulated upstream time is not over: sleep
                    # (waiting on a done future returns at once and would spin the loop).
                    await asyncio.sleep(min(tick, simulated - elapsed))
                else:
                    await asyncio.wait([future], timeout=tick)
            info = future.result()
        except asyncio.CancelledError:
            future.add_done_callback(lambda _f: _remove_outputs(ctx.folder))
            raise
        except (ValueError, OSError) as exc:
            raise MediagateError(
                "upstream_error", f"The local renderer could not make this file: {exc}"
            ) from exc
        return [_stored(info, request, ctx.media)]

    async def _source_bytes(
        self, request: GenerationRequest, media: MediaStore
    ) -> tuple[bytes | None, str | None]:
        """The first source image (own file or guarded fetch) and a note when it is unusable.

        A source that cannot be fetched does not fail the job: the renderer then works from
        the prompt alone, and the status message says so.
        """
        first = next((s for s in request.sources if s.kind == "image"), None)
        if first is None:
            return None, None
        own = _own_file(first.url, media)
        if own is not None:
            return await asyncio.to_thread(own.read_bytes), None
        fetcher = self.fetcher
        if fetcher is None:
            return None, "source image not fetched (no fetcher); rendering from the prompt"
        try:
            result = await fetcher.fetch_bytes(first.url, field="source_media_urls[0]")
        except MediagateError as exc:
            return None, f"source image not usable ({exc.code}); rendering from the prompt"
        return result.data, None

    async def cancel(self, generation: Generation) -> None:
        """Nothing upstream to cancel: the runner stops the task."""

    @property
    def fetcher(self) -> GuardedFetcher | None:
        """The source fetcher (built from its factory on first use)."""
        if callable(self._fetcher):
            self._fetcher = self._fetcher()
        return self._fetcher

    async def aclose(self) -> None:
        if self._fetcher is not None and not callable(self._fetcher):
            await self._fetcher.aclose()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _stored(info: dict[str, Any], request: GenerationRequest, media: MediaStore) -> StoredFile:
    path = Path(info["path"])
    poster = info.get("poster_path")
    return StoredFile(
        relpath=media.relpath(path),
        # 3D outputs are files of kind "model" (a .glb), as upstream 3D outputs are.
        media_type="model" if request.media_type == "3d" else request.media_type,
        mime_type=info["mime_type"],
        size_bytes=path.stat().st_size,
        width=info["width"],
        height=info["height"],
        duration_s=info.get("duration_s"),
        thumbnail_relpath=media.relpath(Path(poster)) if poster else None,
        has_audio=info.get("has_audio") if request.media_type == "video" else None,
    )


def _remove_outputs(folder: Path) -> None:
    for child in folder.glob("*"):
        if child.is_file():
            child.unlink(missing_ok=True)


def _own_file(url: str, media: MediaStore) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        candidate = Path(unquote(parts.path)).resolve()
        try:
            rel = candidate.relative_to(media.root.resolve()).as_posix()
        except ValueError:
            return None
        return media.resolve(rel)
    if media.base_url is not None and url.startswith(media.base_url + "/media/"):
        return media.resolve(unquote(url[len(media.base_url) + len("/media/") :]))
    return None
