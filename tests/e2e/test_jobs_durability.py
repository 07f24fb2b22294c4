"""Generations outlive the server process: killed (SIGKILL) or stopped (SIGTERM) mid-job, a
server restarted on the same data dir resumes the job and completes it exactly once.

The first server runs the local provider at delay scale 1.0, where ``SLOW_VIDEO`` would take
~144 s, so the job is certainly still processing when the process dies. The restarted server
runs at a small scale, so the resumed job finishes in about a second.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers import (
    SLOW_VIDEO,
    assert_video,
    call_ok,
    probe_video,
    until,
    wait_for_status,
    wait_until_completed,
)
from mcp import Client

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]
Launch = Callable[..., "McpServer"]

SLOW = {"MEDIAGATE_LOCAL_DELAY_SCALE": "1.0"}
RESUME = {"MEDIAGATE_LOCAL_DELAY_SCALE": "0.01"}
STOP_TIMEOUT_S = 15.0


HAS_PROC = Path("/proc/self/stat").exists()


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    return fields[0], int(fields[1])


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (Linux; empty elsewhere)."""
    if not HAS_PROC:
        return set()
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def is_running(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


async def _start_slow_job(server: McpServer, connect: Connect, key: str) -> str:
    """Submit SLOW_VIDEO with ``key`` (no wait) and return its id once it is processing."""
    async with connect(server) as client:
        started = await call_ok(
            client, "generate_media", {**SLOW_VIDEO, "idempotency_key": key, "wait_seconds": 0}
        )
        gid = str(started["generation_id"])
        running = await wait_for_status(
            client, gid, lambda r: r["status"] == "processing", timeout=30
        )
    assert running["outputs"] == []
    return gid


async def _render_workers(server: McpServer) -> set[int]:
    """The server's render worker processes, once the job has started them (Linux)."""
    assert server.process is not None
    pid = server.process.pid
    if not HAS_PROC:
        return set()

    async def started() -> bool:
        return bool(descendants(pid))

    await until(started, timeout=20, what="the render worker to start")
    return descendants(pid)


def _restart(launch: Launch, first: McpServer) -> McpServer:
    return launch("http", env={**RESUME, "MEDIAGATE_DATA_DIR": str(first.data_dir)})


async def _check_completed_once(
    server: McpServer, connect: Connect, data_dir: Path, gid: str, key: str
) -> dict[str, Any]:
    """The resumed job completes; there is one generation, and the key still maps to it."""
    async with connect(server) as client:
        done = await wait_until_completed(client, gid)
        listed = await call_ok(client, "list_generations", {})
        retry = await call_ok(
            client, "generate_media", {**SLOW_VIDEO, "idempotency_key": key, "wait_seconds": 0}
        )
        relisted = await call_ok(client, "list_generations", {})

    assert [g["generation_id"] for g in listed["generations"]] == [gid]
    assert retry["generation_id"] == gid
    assert retry["status"] == "completed"
    assert [g["generation_id"] for g in relisted["generations"]] == [gid]

    [out] = done["outputs"]
    path = Path(out["path"])
    assert path.parent == data_dir / "media" / gid
    assert out["size_bytes"] == path.stat().st_size
    # kling-3-0-std defaults: 1:1 at 720p, no sound.
    assert_video(probe_video(path), width=720, height=720, duration_s=3.0, audio=False)
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".part")]
    assert leftovers == []
    return done


async def test_a_generation_survives_kill_9_and_completes_exactly_once_after_restart(
    mcp_launch: Launch, mcp_connect: Connect
) -> None:
    first = mcp_launch("http", env=SLOW)
    gid = await _start_slow_job(first, mcp_connect, "durable-kill")
    workers = await _render_workers(first)

    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=STOP_TIMEOUT_S)
    assert first.process.returncode == -signal.SIGKILL

    second = _restart(mcp_launch, first)
    await _check_completed_once(second, mcp_connect, first.data_dir, gid, "durable-kill")

    # The killed server could not stop its render workers; they must notice and exit.
    async def orphans_gone() -> bool:
        return not any(is_running(pid) for pid in workers)

    await until(orphans_gone, timeout=10, what=f"the killed server's workers {workers} to exit")


async def test_a_generation_in_flight_at_a_clean_shutdown_resumes_after_restart(
    mcp_launch: Launch, mcp_connect: Connect
) -> None:
    first = mcp_launch("http", env=SLOW)
    gid = await _start_slow_job(first, mcp_connect, "durable-term")
    workers = await _render_workers(first)

    assert first.process is not None
    first.process.send_signal(signal.SIGTERM)
    first.process.wait(timeout=STOP_TIMEOUT_S)
    # uvicorn re-raises the signal after its graceful shutdown, so either code is clean.
    assert first.process.returncode in (0, -signal.SIGTERM), first.stderr()

    second = _restart(mcp_launch, first)
    await _check_completed_once(second, mcp_connect, first.data_dir, gid, "durable-term")

    async def workers_gone() -> bool:
        return not any(is_running(pid) for pid in workers)

    await until(workers_gone, timeout=10, what="the stopped server's workers to exit")


async def test_finished_generations_and_their_files_survive_a_restart(
    mcp_launch: Launch, mcp_connect: Connect
) -> None:
    fast = {"MEDIAGATE_LOCAL_DELAY_SCALE": "0"}
    first = mcp_launch("http", env=fast)
    async with mcp_connect(first) as client:
        done = await call_ok(
            client,
            "generate_media",
            {
                "model": "nano-banana",
                "prompt": "a barn",
                "idempotency_key": "kept",
                "wait_seconds": 50,
            },
        )
    assert done["status"] == "completed"
    assert first.process is not None
    first.process.send_signal(signal.SIGTERM)
    first.process.wait(timeout=STOP_TIMEOUT_S)

    second = mcp_launch("http", env={**fast, "MEDIAGATE_DATA_DIR": str(first.data_dir)})
    async with mcp_connect(second) as client:
        again = await call_ok(
            client, "get_generation_status", {"generation_id": done["generation_id"]}
        )
        retry = await call_ok(
            client,
            "generate_media",
            {"model": "nano-banana", "prompt": "a barn", "idempotency_key": "kept"},
        )

    assert retry["generation_id"] == done["generation_id"]
    # Same record; only the URLs follow the new server's address.
    [before], [after] = done["outputs"], again["outputs"]
    assert {k: v for k, v in after.items() if not k.endswith("url")} == {
        k: v for k, v in before.items() if not k.endswith("url")
    }
    assert after["url"].startswith(f"{second.base_url}/media/")
    assert Path(after["path"]).is_file()
