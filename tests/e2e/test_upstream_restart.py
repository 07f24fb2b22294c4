"""An upstream generation outlives ``kill -9`` of the server: never submitted twice.

The server runs as a real ``mediagate serve`` subprocess (streamable HTTP) against a fake
upstream on 127.0.0.1. A generation is started with ``wait_seconds: 0``, the process is
SIGKILLed once the fake holds the job, and a server started on the same data dir finishes it:

* killed after the upstream id was stored: the job is polled by that id and completes;
* killed while the submit's answer was still on its way (the fake withholds it): the id was
  never stored, so GateAI's ``/api/me`` is asked and the job is adopted; Kubeez has no such
  listing, so the generation fails with ``submit_outcome: "unknown"`` rather than risk a
  second charge.

Every case ends with exactly one accepted submit at the fake.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers import (
    TERMINAL,
    assert_video,
    call_ok,
    probe_image,
    probe_video,
    until,
    wait_for_status,
)
from mcp import Client

from fakes import FakeGateAI, FakeKubeez, FakeUpstream

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]
Launch = Callable[..., "McpServer"]

STOP_TIMEOUT_S = 15.0
#: Upstream processing time: long enough to kill the server mid-job, short enough to wait for.
DELAY_S = 3
#: A GateAI video (polled every 5 s at first) and a Kubeez image.
GATEAI_VIDEO = {
    "model": "gateai/seedance-2.0",
    "prompt": f"a slow pan over dunes [delay={DELAY_S}]",
    "duration": 4,
    "aspect_ratio": "16:9",
}
KUBEEZ_IMAGE = {"model": "nano-banana", "prompt": f"a lighthouse at dusk [delay={DELAY_S}]"}


def _env(fake: FakeUpstream) -> dict[str, str]:
    return {
        **fake.env(),
        "MEDIAGATE_ALLOW_PRIVATE_URLS": "true",
        "MEDIAGATE_UPSTREAM_RECONCILE_WINDOW_S": "1",
        "MEDIAGATE_UPSTREAM_RETRY_BASE_S": "0.1",
    }


def _stored_upstream_id(data_dir: Path, generation_id: str) -> str | None:
    """The upstream id the (running) server stored for a generation, read-only."""
    db = data_dir / "jobs.sqlite3"
    if not db.exists():
        return None
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        row = conn.execute(
            "SELECT upstream_id FROM generations WHERE id = ?", (generation_id,)
        ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


async def _start(server: McpServer, connect: Connect, args: dict[str, Any]) -> str:
    async with connect(server) as client:
        started = await call_ok(client, "generate_media", {**args, "wait_seconds": 0})
    assert started["status"] not in TERMINAL, started
    return str(started["generation_id"])


def _kill(server: McpServer) -> None:
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=STOP_TIMEOUT_S)
    assert server.process.returncode == -signal.SIGKILL


async def _finish(server: McpServer, connect: Connect, gid: str) -> dict[str, Any]:
    async with connect(server) as client:
        return await wait_for_status(
            client, gid, lambda r: r["status"] in TERMINAL, wait_seconds=20
        )


async def _kill_after_upstream_id(
    launch: Launch, connect: Connect, fake: FakeUpstream, args: dict[str, Any]
) -> tuple[str, dict[str, Any], Path]:
    """Start, kill -9 once the upstream id is stored, restart, and wait for the end."""
    first = launch("http", env=_env(fake))
    gid = await _start(first, connect, args)

    async def stored() -> bool:
        return fake.accepted_count == 1 and _stored_upstream_id(first.data_dir, gid) is not None

    await until(stored, timeout=20, what="the upstream id to be stored")
    upstream_id = _stored_upstream_id(first.data_dir, gid)
    assert upstream_id == fake.accepted_submits()[0].job_id
    assert fake.status_of(upstream_id) not in ("FINISHED", "FAILED", "completed", "failed")
    _kill(first)

    second = launch("http", env={**_env(fake), "MEDIAGATE_DATA_DIR": str(first.data_dir)})
    done = await _finish(second, connect, gid)
    assert _stored_upstream_id(first.data_dir, gid) == upstream_id
    return gid, done, first.data_dir


def _output_path(done: dict[str, Any], data_dir: Path, gid: str) -> Path:
    [out] = done["outputs"]
    path = Path(out["path"])
    assert path.parent == data_dir / "media" / gid
    assert path.stat().st_size == out["size_bytes"]
    return path


async def test_a_gateai_video_survives_kill_9_and_resumes_by_its_upstream_id(
    mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    gid, done, data_dir = await _kill_after_upstream_id(
        mcp_launch, mcp_connect, fake_gateai, GATEAI_VIDEO
    )
    assert done["status"] == "completed", done
    assert fake_gateai.accepted_count == 1
    assert len(fake_gateai.requests("submit")) == 1
    assert fake_gateai.requests("me") == []  # found by its id, not by reconciling
    info = probe_video(_output_path(done, data_dir, gid))
    assert (info.width, info.height) == (done["outputs"][0]["width"], done["outputs"][0]["height"])
    assert_video(info, width=info.width, height=info.height, duration_s=4.0, audio=False)


async def test_a_kubeez_image_survives_kill_9_and_resumes_by_its_upstream_id(
    mcp_launch: Launch, mcp_connect: Connect, fake_kubeez: FakeKubeez
) -> None:
    gid, done, data_dir = await _kill_after_upstream_id(
        mcp_launch, mcp_connect, fake_kubeez, KUBEEZ_IMAGE
    )
    assert done["status"] == "completed", done
    assert fake_kubeez.accepted_count == 1
    assert len(fake_kubeez.requests("submit")) == 1
    image = probe_image(_output_path(done, data_dir, gid))
    assert (image.format, image.width, image.height) == (
        "PNG",
        done["outputs"][0]["width"],
        done["outputs"][0]["height"],
    )


async def _kill_mid_submit(
    launch: Launch, connect: Connect, fake: FakeUpstream, args: dict[str, Any]
) -> tuple[str, dict[str, Any], Path]:
    """Kill -9 while the fake withholds the accepted submit's answer; restart; wait."""
    fake.inject("submit", "timeout_after_accept", hold_s=120)
    first = launch("http", env=_env(fake))
    gid = await _start(first, connect, args)

    async def accepted() -> bool:
        return fake.accepted_count == 1

    await until(accepted, timeout=20, what="the submit to be accepted")
    _kill(first)
    assert _stored_upstream_id(first.data_dir, gid) is None

    second = launch("http", env={**_env(fake), "MEDIAGATE_DATA_DIR": str(first.data_dir)})
    return gid, await _finish(second, connect, gid), first.data_dir


async def test_a_gateai_submit_cut_off_by_kill_9_is_found_again_not_sent_again(
    mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    gid, done, data_dir = await _kill_mid_submit(mcp_launch, mcp_connect, fake_gateai, GATEAI_VIDEO)
    assert done["status"] == "completed", done
    assert fake_gateai.accepted_count == 1
    assert len(fake_gateai.requests("submit")) == 1
    assert fake_gateai.requests("me"), "the restarted server did not reconcile"
    assert _stored_upstream_id(data_dir, gid) == fake_gateai.accepted_submits()[0].job_id
    probe_video(_output_path(done, data_dir, gid))


async def test_a_kubeez_submit_cut_off_by_kill_9_fails_as_unknown_never_resent(
    mcp_launch: Launch, mcp_connect: Connect, fake_kubeez: FakeKubeez
) -> None:
    _gid, done, _data_dir = await _kill_mid_submit(
        mcp_launch, mcp_connect, fake_kubeez, KUBEEZ_IMAGE
    )
    assert done["status"] == "failed", done
    assert done["error"]["error"] == "upstream_error"
    assert done["error"]["submit_outcome"] == "unknown"
    assert fake_kubeez.accepted_count == 1
    assert len(fake_kubeez.requests("submit")) == 1
