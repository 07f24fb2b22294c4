"""The worker sandbox: limits in the child, the wall clock, crashes, and the two-worker cap.

Workers that misbehave on purpose (hang, crash, forge replies, cannot start) are simulated by
replacing the worker command; limits are exercised with the real worker on real files.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_probe import make_video

from mediagate.errors import MediagateError
from mediagate.media.trim import TrimWindow, trim_file
from mediagate.media.worker import MediaWorkers, WorkerLimits, with_output_limit

MIB = 1 << 20
#: A worker that claims an error code workers may not report.
FORGED_CODE = (
    "import json, os\n"
    "reply = {'ok': False, 'error': {'error': 'budget_exceeded', 'message': 'pay up'}}\n"
    "os.write(1, b'+' + json.dumps(reply).encode())"
)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone_soon(pid: int, timeout: float = 5.0) -> bool:
    """Poll (bounded) until ``pid`` has exited; a killed orphan is reaped by init."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def worker_children() -> int:
    """How many worker processes this test process has right now (from /proc)."""
    me, count = str(os.getpid()), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmd:
                cmdline = cmd.read()
        except OSError:
            continue
        if fields[1] == me and b"mediagate.media.worker" in cmdline and fields[0] != "Z":
            count += 1
    return count


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("limits")
    return {
        "small": make_video(folder / "small.mp4", seconds=2),
        "hd": make_video(folder / "hd.mp4", seconds=1, size=(1920, 1080), audio=False),
        "noisy": make_video(
            folder / "noisy.mp4", seconds=3, size=(1280, 720), audio=False, noise=0.5
        ),
    }


async def test_limits_are_set_in_the_child_and_secrets_stay_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIAGATE_GATEAI_API_KEY", "sk-not-for-workers")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "also-not")
    limits = WorkerLimits(
        timeout_s=30, cpu_s=7, memory_bytes=900 * MIB, output_bytes=5 * MIB, open_files=48
    )
    async with MediaWorkers(limits, spares=1) as workers:
        seen = await workers.run("limits", {})
        # A warm spare (started with the pool's limits) lowers them to the job's.
        tighter = await workers.run("limits", {}, limits=with_output_limit(limits, 1000))
    assert seen["limits"] == {
        "RLIMIT_CPU": [7, 12],
        "RLIMIT_AS": [900 * MIB, 900 * MIB],
        "RLIMIT_FSIZE": [5 * MIB, 5 * MIB],
        "RLIMIT_NOFILE": [48, 48],
        "RLIMIT_CORE": [0, 0],
    }
    assert tighter["limits"]["RLIMIT_FSIZE"] == [1000, 1000]
    assert seen["sigxfsz_ignored"] and seen["own_process_group"]
    assert not [name for name in seen["env"] if "KEY" in name or "SECRET" in name]
    assert seen["pid"] != tighter["pid"]  # one process per job


async def test_wall_clock_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    hang = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "os.write(1, b'+')\n"
        "time.sleep(60)\n"
    )
    workers = MediaWorkers(WorkerLimits(timeout_s=2.0), command=[sys.executable, "-c", hang])
    started = time.monotonic()
    with pytest.raises(MediagateError) as caught:
        await workers.run("probe", {"path": "/nothing"})
    assert caught.value.code == "processor_timeout"
    assert caught.value.details["limit_s"] == 2.0
    assert time.monotonic() - started < 10
    worker_pid, grandchild_pid = map(int, pids.read_text().split())
    assert not alive(worker_pid)
    assert gone_soon(grandchild_pid)
    assert workers.stats.alive == 0


async def test_cpu_limit_ends_as_processor_timeout(clips: dict[str, Path], tmp_path: Path) -> None:
    async with MediaWorkers(WorkerLimits(cpu_s=1, timeout_s=60)) as workers:
        with pytest.raises(MediagateError) as caught:
            await trim_file(
                clips["noisy"],
                tmp_path / "out.mp4",
                TrimWindow(0, 3),
                accurate=True,
                workers=workers,
            )
    assert caught.value.code == "processor_timeout"
    assert "CPU" in caught.value.message
    assert not (tmp_path / "out.mp4").exists()


async def test_memory_limit_is_a_clean_error(clips: dict[str, Path], tmp_path: Path) -> None:
    async with MediaWorkers(WorkerLimits(memory_bytes=300 * MIB)) as workers:
        with pytest.raises(MediagateError) as caught:
            await trim_file(
                clips["hd"], tmp_path / "out.mp4", TrimWindow(0, 1), accurate=True, workers=workers
            )
        assert caught.value.code == "ffmpeg_failed"
        assert "memory" in caught.value.message
        # The same limit is plenty for a stream copy, which decodes nothing.
        copied = await trim_file(
            clips["hd"], tmp_path / "copy.mp4", TrimWindow(0, 1), workers=workers
        )
        assert copied.output.width == 1920


async def test_output_size_limit_is_a_clean_error(clips: dict[str, Path], tmp_path: Path) -> None:
    async with MediaWorkers(WorkerLimits(output_bytes=50_000)) as workers:
        for accurate in (False, True):
            dest = tmp_path / f"out-{accurate}.mp4"
            with pytest.raises(MediagateError) as caught:
                await trim_file(
                    clips["noisy"], dest, TrimWindow(0, 3), accurate=accurate, workers=workers
                )
            assert caught.value.code == "ffmpeg_failed"
            assert "file-size limit" in caught.value.message
            assert not dest.exists()


@pytest.mark.parametrize(
    ("command", "code", "words"),
    [
        (["/nonexistent/mediagate-worker"], "processor_unavailable", "could not be started"),
        ([sys.executable, "-c", "import sys; sys.exit(3)"], "processor_unavailable", "not start"),
        (
            [sys.executable, "-c", "import os, signal; os.write(1, b'+'); os.abort()"],
            "ffmpeg_failed",
            "crashed",
        ),
        (
            [sys.executable, "-c", "import os; os.write(1, b'+{not json')"],
            "ffmpeg_failed",
            "answer",
        ),
        (
            [sys.executable, "-c", "import os\nfor _ in range(64): os.write(1, b'+' * 65536)"],
            "ffmpeg_failed",
            "answer",
        ),
        ([sys.executable, "-c", FORGED_CODE], "ffmpeg_failed", "unreadable"),
    ],
)
async def test_misbehaving_workers_become_clean_errors(
    command: list[str], code: str, words: str
) -> None:
    workers = MediaWorkers(command=command)
    with pytest.raises(MediagateError) as caught:
        await workers.run("probe", {"path": "/nothing"})
    assert caught.value.code == code
    assert words in caught.value.message
    assert workers.stats.alive == 0


async def test_a_cancelled_job_kills_its_worker(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    hang = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    workers = MediaWorkers(command=[sys.executable, "-c", hang])
    job = asyncio.create_task(workers.run("probe", {"path": "/nothing"}))
    deadline = time.monotonic() + 10
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline, "worker never started"
        await asyncio.sleep(0.01)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert not alive(int(marker.read_text()))
    assert workers.stats.alive == 0 and workers.stats.running == 0


@pytest.fixture
def sampler() -> Iterator[list[int]]:
    """Counts this process's worker children every few milliseconds while a test runs."""
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(worker_children())
            stop.wait(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(timeout=5)


async def test_twenty_simultaneous_trims_run_at_most_two_workers(
    clips: dict[str, Path], tmp_path: Path, sampler: list[int]
) -> None:
    async with MediaWorkers(concurrency=2, spares=1) as workers:
        results = await asyncio.gather(
            *(
                trim_file(
                    clips["small"],
                    tmp_path / f"clip-{n}.mp4",
                    TrimWindow(0.5, 1.5),
                    accurate=n % 4 == 0,
                    workers=workers,
                )
                for n in range(20)
            )
        )
        assert workers.stats.jobs == 20
        assert workers.stats.peak_running == 2
        assert workers.stats.peak_alive <= 2
    assert all(r.size_bytes > 0 for r in results)
    assert len(sampler) > 10
    assert max(sampler) <= 2
    assert max(sampler) >= 1
    assert workers.stats.alive == 0


def test_spare_workers_exit_when_the_server_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "spare"
    server = (
        "import asyncio, os, signal\n"
        "from mediagate.media.worker import MediaWorkers\n"
        "async def main():\n"
        "    workers = MediaWorkers(spares=1)\n"
        "    await workers.warm()\n"
        "    await workers.run('limits', {})\n"  # the next spare starts after this
        "    while not workers.idle_pids:\n"
        "        await asyncio.sleep(0.01)\n"
        f"    open({str(pid_file)!r}, 'w').write(str(workers.idle_pids[0]))\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run([sys.executable, "-c", server], capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr
    # Its stdin closed with the server, so the idle spare ends itself.
    assert gone_soon(int(pid_file.read_text()), timeout=10)
