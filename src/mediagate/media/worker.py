"""Untrusted media is parsed out of process: one short-lived, resource-limited worker per job.

Probing and trimming hand attacker-controlled bytes to FFmpeg's demuxers and decoders, a large
C attack surface. None of that runs in the server process. Each job gets a fresh interpreter
(``python -m mediagate.media.worker LIMITS``) that:

1. lowers its own limits with ``setrlimit`` first (CPU seconds, address space, size of any
   file it writes, open files, no core dumps) and ignores ``SIGXFSZ`` so an oversized output
   becomes a write error instead of a kill,
2. moves fd 1 aside for the reply and points fd 1 at stderr, so nothing FFmpeg prints can
   forge a reply,
3. imports PyAV and the operation code, then blocks reading one JSON request from stdin
   (written by us, so trusted), lowers its limits again to the request's, and writes a start
   mark,
4. runs the operation, whose PyAV opens only local files (``protocol_whitelist=file``) with a
   demuxer from :data:`ALLOWED_FORMATS` (``format_whitelist``): playlists (HLS, DASH),
   ``ffconcat`` and ``image2`` patterns, which could read other files or URLs, never open,
5. writes one JSON reply and exits. It never serves a second job.

Steps 1-3 take ~0.1 s (mostly ``import av``), so the parent (:class:`MediaWorkers`) may keep
``spares`` workers started ahead, idle at step 3, within the same process budget: at most
``concurrency`` worker processes exist at any time, running or idle; further jobs wait on a
semaphore. Each worker has its own process group and a scrubbed environment (no API keys
reach a process that parses hostile data). The parent enforces the wall-clock deadline by
killing the group, reads at most :data:`MAX_REPLY_BYTES` of reply, and treats the reply as
untrusted (it is validated again by the caller). An idle spare exits when its stdin closes
(the server went away) or after :data:`IDLE_EXIT_S`.

Why a fresh ``python -m`` process per job rather than a ``multiprocessing`` pool: limits are
per process and must be in place before the first byte is parsed; a reused pool worker would
carry one job's CPU time, heap or (after an exploit) state into the next; killing one task of
a ``ProcessPoolExecutor`` breaks the whole pool; and ``spawn`` re-imports the server's
``__main__``.

Outcomes: a reply with an error becomes that :class:`MediagateError` (``ffmpeg_failed`` for a
rejected or corrupt file); a worker killed on the wall clock or by ``SIGXCPU`` gives
``processor_timeout``; one that cannot be started (or cannot import PyAV) gives
``processor_unavailable``; any other death (a crash, a garbled reply) gives ``ffmpeg_failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from mediagate.errors import MediagateError

if TYPE_CHECKING:
    from mediagate.settings import Settings

#: Demuxers a worker may open (matched against FFmpeg's format names). Deliberately absent:
#: ``hls``, ``dash``, ``concat``, ``image2`` (patterns/globs), ``tee``, devices, data formats.
ALLOWED_FORMATS: tuple[str, ...] = (
    "mov",  # mov,mp4,m4a,3gp,3g2,mj2
    "matroska",  # matroska,webm
    "mp3",
    "wav",
    "ogg",
    "aac",
    "flac",
    "png_pipe",
    "jpeg_pipe",
    "webp_pipe",
    "gif",
)

#: Options for every ``av.open`` of an untrusted input.
INPUT_OPTIONS: dict[str, str] = {
    "protocol_whitelist": "file",
    "format_whitelist": ",".join(ALLOWED_FORMATS),
    # Bound how much of a file the format probe reads, and how long stream analysis runs.
    "probesize": str(8 << 20),
    "analyzeduration": str(10_000_000),
}

#: First byte of every reply: the worker took the job under the job's limits.
STARTED_MARK = b"+"
#: A reply larger than this is a worker gone wrong.
MAX_REPLY_BYTES = 1 << 20
#: How much of a worker's stderr we keep (the tail) for error details.
STDERR_TAIL_BYTES = 4096
#: An idle spare worker exits after this long without a job.
IDLE_EXIT_S = 600.0

_MAX_REQUEST_BYTES = 1 << 20
_REAP_TIMEOUT_S = 5.0
_MAX_MESSAGE_CHARS = 500
_MIB = 1 << 20

log = logging.getLogger(__name__)

#: Error codes a worker may report; anything else from it is treated as a crash.
_WORKER_CODES = frozenset({"ffmpeg_failed", "invalid_trim_range", "processor_unavailable"})

#: Environment variables a worker inherits (interpreter and library lookup only).
_ENV_KEEP = ("PATH", "PYTHONPATH", "PYTHONHOME", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "TMPDIR")

#: Worker operations: name → "module:function" taking the request params, returning JSON.
_OPERATIONS: dict[str, str] = {
    "probe": "mediagate.media.probe:probe_in_worker",
    "trim": "mediagate.media.trim:trim_in_worker",
    "limits": "mediagate.media.worker:limits_in_worker",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerLimits:
    """Per-worker resource limits: seconds and bytes."""

    timeout_s: float = 300.0
    cpu_s: int = 600
    memory_bytes: int = 2048 * _MIB
    output_bytes: int = 2048 * _MIB
    open_files: int = 64

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.cpu_s <= 0:
            raise ValueError("worker time limits must be positive")
        if min(self.memory_bytes, self.output_bytes, self.open_files) <= 0:
            raise ValueError("worker size limits must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerLimits:
        """The limits configured by ``MEDIAGATE_MEDIA_WORKER_*``."""
        return cls(
            timeout_s=settings.media_worker_timeout_s,
            cpu_s=settings.media_worker_cpu_s,
            memory_bytes=settings.media_worker_memory_mb * _MIB,
            output_bytes=settings.media_worker_output_mb * _MIB,
        )


def with_output_limit(limits: WorkerLimits, output_bytes: int) -> WorkerLimits:
    """``limits`` with a tighter output-size cap (never a looser one)."""
    return replace(limits, output_bytes=min(limits.output_bytes, max(1, output_bytes)))


def worker_command() -> list[str]:
    """The argv that starts one worker (its limits are appended as JSON)."""
    return [sys.executable, "-m", "mediagate.media.worker"]


@dataclass(slots=True)
class WorkerStats:
    """Live counters: jobs and worker processes (running or idle) now, and the most seen."""

    running: int = 0
    alive: int = 0
    peak_running: int = 0
    peak_alive: int = 0
    spawned: int = 0
    jobs: int = 0


class MediaWorkers:
    """Runs worker jobs under :class:`WorkerLimits`, at most ``concurrency`` processes at once.

    ``spares`` workers (at most ``concurrency``) are kept started ahead of need, idle, so a job
    does not wait for Python and PyAV to load; the first spare starts after the first job.
    ``command`` replaces the worker's argv (tests simulate workers that fail to start or
    hang). Use one instance per event loop; ``aclose()`` stops idle spares.
    """

    def __init__(
        self,
        limits: WorkerLimits | None = None,
        *,
        concurrency: int = 2,
        spares: int = 0,
        command: Sequence[str] | None = None,
    ) -> None:
        if concurrency < 1 or spares < 0:
            raise ValueError("concurrency must be at least 1 and spares not negative")
        self.limits = limits if limits is not None else WorkerLimits()
        self.concurrency = concurrency
        self.spares = min(spares, concurrency)
        self._command = list(command) if command is not None else worker_command()
        self._slots = asyncio.Semaphore(concurrency)
        self._idle: list[asyncio.subprocess.Process] = []
        self._refills: set[asyncio.Task[None]] = set()
        self._closed = False
        self.stats = WorkerStats()

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaWorkers:
        """Workers as ``MEDIAGATE_MEDIA_WORKERS``, ``..._SPARES`` and ``..._WORKER_*`` say."""
        return cls(
            WorkerLimits.from_settings(settings),
            concurrency=settings.media_workers,
            spares=settings.media_worker_spares,
        )

    async def run(
        self, op: str, params: Mapping[str, Any], *, limits: WorkerLimits | None = None
    ) -> dict[str, Any]:
        """Run ``op`` in a fresh worker and return its result object (untrusted JSON).

        Waits for a free slot first. Raises :class:`MediagateError`: the worker's own error,
        ``processor_timeout``, ``processor_unavailable`` or ``ffmpeg_failed``.
        """
        if op not in _OPERATIONS:
            raise ValueError(f"unknown worker operation {op!r}")
        if self._closed:
            raise RuntimeError("MediaWorkers is closed")
        chosen = limits if limits is not None else self.limits
        request = json.dumps({"op": op, "params": dict(params), "limits": asdict(chosen)})
        stats = self.stats
        await self._slots.acquire()
        started = time.monotonic()
        stats.jobs += 1
        stats.running += 1
        stats.peak_running = max(stats.peak_running, stats.running)
        try:
            process, warm = await self._take()
            reply = await self._exchange(process, request.encode(), chosen, op)
            if warm and not reply.stdout.startswith(STARTED_MARK):
                # The spare died while idle (or was killed); one cold retry.
                reply = await self._exchange(await self._spawn(), request.encode(), chosen, op)
        finally:
            stats.running -= 1
            self._release_slot()
        log.debug("worker %s finished in %.3f s", op, time.monotonic() - started)
        return _unpack(reply, op)

    @property
    def idle_pids(self) -> list[int]:
        """Process ids of the idle spare workers (diagnostics)."""
        return [process.pid for process in self._idle]

    async def warm(self) -> None:
        """Start the spare workers now instead of after the first job."""
        await self._refill()

    async def aclose(self) -> None:
        """Stop idle spares; running jobs finish (or time out) on their own."""
        self._closed = True
        await asyncio.gather(*self._refills, return_exceptions=True)
        idle, self._idle = self._idle, []
        for process in idle:
            await self._reap(process)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _release_slot(self) -> None:
        """Free the job's slot; first start a spare in it, off the caller's path.

        The slot is held until the spare is spawned, so running plus idle workers never
        exceed ``concurrency`` while the caller already has its answer.
        """
        if self._closed or len(self._idle) >= self.spares:
            self._slots.release()
            return

        async def refill_then_release() -> None:
            try:
                await self._refill()
            finally:
                self._slots.release()

        task = asyncio.create_task(refill_then_release())
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)

    async def _take(self) -> tuple[asyncio.subprocess.Process, bool]:
        while self._idle:
            process = self._idle.pop()
            if process.returncode is None:
                return process, True
            await self._reap(process)
        return await self._spawn(), False

    async def _refill(self) -> None:
        while len(self._idle) < self.spares and self.stats.alive < self.concurrency:
            try:
                self._idle.append(await self._spawn())
            except MediagateError:
                return

    async def _spawn(self) -> asyncio.subprocess.Process:
        stats = self.stats
        stats.alive += 1  # counted before the await, so concurrent spawns see it
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command,
                json.dumps(asdict(self.limits)),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_worker_env(),
                start_new_session=True,
            )
        except OSError as exc:
            stats.alive -= 1
            raise MediagateError(
                "processor_unavailable",
                f"The media processor could not be started ({exc.strerror or exc}).",
                hint="Retry later; if it persists the server's Python/PyAV install is broken.",
            ) from None
        stats.spawned += 1
        stats.peak_alive = max(stats.peak_alive, stats.alive)
        return process

    async def _reap(self, process: asyncio.subprocess.Process) -> None:
        """Kill (if needed) and wait for ``process``, even while being cancelled."""
        if process.returncode is None:
            _kill_group(process.pid)
        try:
            await asyncio.wait_for(asyncio.shield(_drain_and_wait(process)), _REAP_TIMEOUT_S)
        except TimeoutError:
            # Only a process that escaped the group (a compromised worker that forked and
            # called setsid) can keep the pipes open; stop waiting for it.
            log.warning("media worker %d: pipes still open after it ended", process.pid)
        finally:
            self.stats.alive -= 1

    async def _exchange(
        self, process: asyncio.subprocess.Process, request: bytes, limits: WorkerLimits, op: str
    ) -> _Reply:
        deadline = asyncio.get_running_loop().time() + limits.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                stdout, stderr = await asyncio.gather(
                    _feed_and_read(process, request, MAX_REPLY_BYTES),
                    _tail(process.stderr, STDERR_TAIL_BYTES),
                )
                returncode = await process.wait()
        except TimeoutError:
            raise MediagateError(
                "processor_timeout",
                f"Processing ({op}) did not finish within {limits.timeout_s:g} s.",
                limit_s=limits.timeout_s,
            ) from None
        finally:
            await self._reap(process)
        return _Reply(returncode, stdout, stderr, limits)


@dataclass(frozen=True, slots=True)
class _Reply:
    returncode: int
    stdout: bytes
    stderr: bytes
    limits: WorkerLimits


async def _drain_and_wait(process: asyncio.subprocess.Process) -> None:
    # Closing stdin and draining the pipes lets asyncio close the transport cleanly.
    if process.stdin is not None and not process.stdin.is_closing():
        process.stdin.close()
    await asyncio.gather(_tail(process.stdout, 0), _tail(process.stderr, 0), return_exceptions=True)
    await process.wait()


async def _feed_and_read(process: asyncio.subprocess.Process, request: bytes, limit: int) -> bytes:
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(request)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it died before reading; its exit status tells why
    data = bytearray()
    while chunk := await process.stdout.read(64 * 1024):
        if len(data) <= limit:
            data += chunk[: limit + 1 - len(data)]
    return bytes(data)


async def _tail(stream: asyncio.StreamReader | None, keep: int) -> bytes:
    if stream is None:
        return b""
    tail = b""
    while chunk := await stream.read(64 * 1024):
        tail = (tail + chunk)[-keep:] if keep else b""
    return tail


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _worker_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[:_MAX_MESSAGE_CHARS] + "…"


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _unpack(reply: _Reply, op: str) -> dict[str, Any]:
    """The worker's result, or the right :class:`MediagateError` for how it ended."""
    code = reply.returncode
    if code == -signal.SIGXCPU:
        raise MediagateError(
            "processor_timeout",
            f"Processing ({op}) used up its {reply.limits.cpu_s} s CPU budget.",
            limit_cpu_s=reply.limits.cpu_s,
        )
    tail = _clip(reply.stderr.decode("utf-8", "replace")[-300:]) or None
    if not reply.stdout.startswith(STARTED_MARK):
        raise MediagateError(
            "processor_unavailable",
            f"The media processor did not start (exit status {code}).",
            detail=tail,
            hint="Retry later; if it persists the server's Python/PyAV install is broken.",
        )
    if code < 0:
        raise MediagateError(
            "ffmpeg_failed",
            f"The media processor crashed on this file ({_signal_name(-code)}).",
            hint="The file is probably corrupt or hostile; re-encode it with a standard tool.",
        )
    try:
        parsed = json.loads(reply.stdout[len(STARTED_MARK) :])
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise MediagateError(
            "ffmpeg_failed",
            f"The media processor ended without an answer (exit status {code}).",
            detail=tail,
        )
    if parsed.get("ok") is True and isinstance(parsed.get("result"), dict):
        result: dict[str, Any] = parsed["result"]
        return result
    error = parsed.get("error")
    if not isinstance(error, dict) or error.get("error") not in _WORKER_CODES:
        raise MediagateError("ffmpeg_failed", "The media processor sent an unreadable answer.")
    details = {
        k: _clip(v) if isinstance(v, str) else v
        for k, v in error.items()
        if k not in ("error", "message") and isinstance(v, (str, int, float, bool))
    }
    message = _clip(str(error.get("message", ""))) or "The media processor rejected the file."
    raise MediagateError(str(error["error"]), message, **details)


_default_workers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MediaWorkers] = (
    weakref.WeakKeyDictionary()
)


def default_workers() -> MediaWorkers:
    """A :class:`MediaWorkers` (default limits, no spares) for the running event loop."""
    loop = asyncio.get_running_loop()
    workers = _default_workers.get(loop)
    if workers is None:
        workers = _default_workers[loop] = MediaWorkers()
    return workers


# --- the worker side -------------------------------------------------------------------------


def apply_limits(limits: WorkerLimits) -> None:
    """Lower this process's resource limits (a hard limit is never raised)."""
    import resource

    def lower(which: int, soft: int, hard: int) -> None:
        cur_soft, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
        if cur_soft != resource.RLIM_INFINITY:
            soft = min(soft, cur_soft)
        resource.setrlimit(which, (min(soft, hard), hard))

    global _memory_limit
    # SIGXCPU at the soft limit (reported as processor_timeout); SIGKILL at the hard one.
    lower(resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + 5)
    lower(resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes)
    _memory_limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    lower(resource.RLIMIT_FSIZE, limits.output_bytes, limits.output_bytes)
    lower(resource.RLIMIT_NOFILE, limits.open_files, limits.open_files)
    lower(resource.RLIMIT_CORE, 0, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def limits_in_worker(params: Mapping[str, Any]) -> dict[str, Any]:
    """Report the limits as the worker sees them (diagnostics and tests)."""
    import resource

    names = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")
    return {
        "limits": {name: list(resource.getrlimit(getattr(resource, name))) for name in names},
        "sigxfsz_ignored": signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN,
        "env": sorted(os.environ),
        "own_process_group": os.getpgid(0) == os.getpid(),
        "pid": os.getpid(),
    }


_MEMORY_MESSAGE = "Processing this file needs more memory than the worker may use."
#: Set by :func:`apply_limits`: the address-space limit in force, for error messages.
_memory_limit = 0


def _near_memory_limit() -> bool:
    """Whether this process's peak address space came close to its limit (so a failure
    from deep inside FFmpeg, e.g. a thread or buffer it could not allocate, was memory)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("VmPeak:"):
            peak = int(line.split()[1]) * 1024
            return _memory_limit > 0 and peak + (64 << 20) >= _memory_limit
    return False


def describe_av_error(exc: BaseException) -> str:
    """One sentence for an exception raised while parsing or writing media."""
    import errno

    err = getattr(exc, "errno", None)
    if err == errno.EFBIG:
        return "The output grew past the worker's file-size limit."
    if err == errno.EMFILE:
        return "The file made the processor open too many files."
    if err == errno.ENOMEM or _near_memory_limit():
        return _MEMORY_MESSAGE
    text = str(getattr(exc, "strerror", None) or exc) or type(exc).__name__
    return f"FFmpeg could not process the file: {_clip(text)}."


def _error_reply(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"error": code, "message": message}}


def _load_operations() -> dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] | str:
    """Import PyAV and every operation (under the limits); a string says why it failed."""
    try:
        import av  # noqa: F401

        found = {}
        for op, target in _OPERATIONS.items():
            module_name, _, func_name = target.partition(":")
            found[op] = getattr(importlib.import_module(module_name), func_name)
    except ImportError as exc:
        return f"PyAV is not usable here: {exc}."
    except MemoryError:
        return "The worker memory limit is too low to load PyAV."
    return found


def _dispatch(
    request: Mapping[str, Any],
    operations: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] | str,
) -> dict[str, Any]:
    if isinstance(operations, str):
        return _error_reply("processor_unavailable", operations)
    func = operations.get(str(request.get("op")))
    if func is None:
        return _error_reply("processor_unavailable", "Unknown worker operation.")
    try:
        return {"ok": True, "result": func(request.get("params") or {})}
    except MediagateError as exc:
        return {"ok": False, "error": exc.payload}
    except MemoryError:
        return _error_reply("ffmpeg_failed", _MEMORY_MESSAGE)
    except Exception as exc:
        return _error_reply("ffmpeg_failed", describe_av_error(exc))


def _read_request() -> bytes:
    """The request, once it arrives; ``b""`` when stdin closes or the idle time runs out."""
    import select

    ready, _, _ = select.select([0], [], [], IDLE_EXIT_S)
    return sys.stdin.buffer.read(_MAX_REQUEST_BYTES) if ready else b""


def main(argv: Sequence[str] | None = None) -> int:
    """Worker entry point: limits from argv, one request on stdin, one reply on fd 1."""
    args = sys.argv[1:] if argv is None else list(argv)
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # libav and stray prints now land on stderr, never in the reply
    try:
        apply_limits(WorkerLimits(**json.loads(args[0])))
    except (IndexError, ValueError, TypeError):
        return 2  # no start mark: the parent reports processor_unavailable
    operations = _load_operations()
    raw = _read_request()
    if not raw:
        return 0  # the pool let this spare go
    try:
        request = json.loads(raw)
        apply_limits(WorkerLimits(**request["limits"]))
    except (ValueError, KeyError, TypeError):
        return 2
    _write_all(reply_fd, STARTED_MARK)
    _write_all(reply_fd, json.dumps(_dispatch(request, operations)).encode())
    os.close(reply_fd)
    return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    # Everything that matters is written and closed; skipping interpreter teardown (module
    # finalisers, unloading the FFmpeg libraries) hands the parent its answer ~20 ms sooner.
    os._exit(status)
