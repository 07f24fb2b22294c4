"""1,000 concurrent GateAI generations at GateAI's real limits, on a scaled clock.

Submits N image generations (distinct prompts) at once through the real job runner, job store,
media store and GateAI provider (outputs downloaded and probed into the media store), against
the fake GateAI (``tests/fakes``) run as a separate process, so this process measures only
mediagate. It prints, each beside a baseline measured in the same run:

* completed/failed, and the wall time against the theoretical minimum at GateAI's limits
  (N/5 windows × the window): how close to the limit we run;
* 429s the fake sent, by reason (``in_flight`` and ``window`` must be 0: those are ours), and
  the most generations in flight the fake saw (≤ 5);
* per-job overhead: this process's CPU seconds / N, beside a bare ``httpx2`` client doing the
  same requests (submit, the same poll schedule, download to a file) against a second fake
  without limits; the CPU of the probe workers the rehost starts; and the latency we add per
  job beyond the fake's processing time;
* peak RSS (``ru_maxrss``) against the same process's RSS after imports and set-up, before
  the first job.

GateAI's real limits (seed 004) are 5 generations in flight per key and 5 generate requests
per 30 s sliding window, so 1,000 generations take at least 100 minutes at full scale. The run
is therefore time-scaled: the fake's window (``--window-s``, default 0.3 s) and its processing
time (``--processing-s``, default 0.05 s) are real seconds, and mediagate's upstream driver runs
on a clock sped up by the same factor (30 s / window), through the driver's ``clock``,
``wall`` and ``sleep`` hooks. Its limiter is configured through ``Settings`` with GateAI's real
limits (5 in flight, 5 per 30 s), so in real seconds it keeps 5 per (window + margin), and its
polls, backoffs and deadlines shrink by the same factor. What does not scale: HTTP and
event-loop latency, the SQLite writes, the downloads and the probes. The limiter's margin is
there for latency differences, which do not scale either, so it is given in real seconds
(``--margin-s``, default 0.1 s scaled, the production 0.5 s at full scale) rather than shrunk
with the clock: 0.5 s / 100 = 5 ms is below the event-loop lag of two loaded processes on a
small box (tens of ms) and would fail the run on an artifact of the scaling. Whether the
production margin holds is checked apart: the largest difference in send latency between a
submit and the fifth after it must stay below 0.5 s. ``--window-s 30`` runs at full scale
(real clock).

Needs the repository checkout (it starts ``tests/fakes/serve.py``). Run from the repository
root: ``python bench/bench_upstream.py [--quick] [--n N] [--window-s S] [--processing-s S]``.
Exits 1 if any 429 was caused by us, any generation failed, or the send-latency skew exceeds
the production margin (a full-scale run would then get window 429s).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
SERVE = REPO / "tests" / "fakes" / "serve.py"

#: GateAI's published limits (seed 004), per key.
GATEAI_MAX_IN_FLIGHT = 5
GATEAI_WINDOW_REQUESTS = 5
GATEAI_WINDOW_S = 30.0
#: The limiter's safety margin on the window (``MEDIAGATE_UPSTREAM_WINDOW_MARGIN_S`` default).
WINDOW_MARGIN_S = 0.5
#: The margin a scaled run uses, in real seconds (see the module docstring).
SCALED_MARGIN_S = 0.1
#: A cheap GateAI image model ($0.00, so the fake's $100 daily budget never runs out).
MODEL = "flux-dev"
PROMPT = "A lighthouse on a cliff at dusk, long exposure, variant {i}"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
#: 429 reasons a well-behaved client never causes (``injected`` is a test fault).
OUR_REASONS = ("in_flight", "window")
#: Modules the job path imports lazily (imported before the RSS baseline is taken).
JOB_PATH_MODULES = (
    "mediagate.media.fetch",
    "mediagate.media.probe",
    "mediagate.media.worker",
    "mediagate.providers.gateai.client",
    "mediagate.providers.gateai.mapping",
    "mediagate.providers.upstream.driver",
    "mediagate.providers.upstream.factory",
)


# --- the scaled clock ---------------------------------------------------------------------------


class ScaledClock:
    """Time for mediagate's upstream driver, running ``speed`` times faster than real time."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._mono0 = time.monotonic()
        self._wall0 = time.time()

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed

    def wall(self) -> float:
        return self._wall0 + (time.time() - self._wall0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def driver_options(self) -> dict[str, Any]:
        """``clock``/``wall``/``sleep`` for ``build_gateai_provider`` (none at full scale)."""
        if self.speed == 1.0:
            return {}
        return {"clock": self.monotonic, "wall": self.wall, "sleep": self.sleep}


# --- the fake, in its own process ---------------------------------------------------------------


@dataclass
class Fake:
    url: str
    key: str
    process: subprocess.Popen[bytes]
    stats_file: Path

    def cpu_s(self) -> float:
        """CPU seconds the fake has used so far (user + system, all threads)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return math.nan
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fake_gateai(
    tmp: Path, name: str, *, processing_s: float, window_s: float, limited: bool
) -> Iterator[Fake]:
    """``tests/fakes/serve.py gateai`` in a subprocess; its counters are read after it stops."""
    stats = tmp / f"{name}.stats.json"
    limit = "5" if limited else "0"  # 0: no limit
    argv = [
        sys.executable,
        str(SERVE),
        "gateai",
        "--processing-s",
        str(processing_s),
        "--window-s",
        str(window_s),
        "--max-in-flight",
        limit,
        "--window-max",
        limit,
        "--stats-file",
        str(stats),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAGATE_")}
    errlog = (tmp / f"{name}.stderr").open("w+b")
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=errlog, env=env, cwd=tmp)
    try:
        url, key = _announced(process, errlog)
        yield Fake(url, key, process, stats)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        errlog.close()


def _announced(process: subprocess.Popen[bytes], errlog: IO[bytes]) -> tuple[str, str]:
    """The URL and key the fake prints once it listens."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        errlog.seek(0)
        text = errlog.read().decode(errors="replace")
        for line in text.splitlines():
            if "listening at " in line and line.endswith(")"):
                rest = line.split("listening at ", 1)[1]
                return rest.split()[0], rest.split("(key ", 1)[1].rstrip(")")
        if process.poll() is not None:
            raise RuntimeError(f"the fake exited ({process.returncode}):\n{text}")
        time.sleep(0.02)
    raise RuntimeError("the fake did not start in time")


def read_stats(fake: Fake) -> dict[str, Any]:
    """The fake's counters (call after the ``fake_gateai`` block has stopped it)."""
    if not fake.stats_file.exists():
        errlog = fake.stats_file.with_suffix("").with_suffix(".stderr")
        tail = errlog.read_text(errors="replace")[-3000:] if errlog.exists() else ""
        raise RuntimeError(f"the fake wrote no counters (exit {fake.process.returncode}):\n{tail}")
    return json.loads(fake.stats_file.read_text())  # type: ignore[no-any-return]


# --- resources of this process ------------------------------------------------------------------


def cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def current_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- the run through mediagate ------------------------------------------------------------------


@dataclass
class Run:
    speed: float
    wall_s: float
    submit_s: float
    cpu_s: float
    children_cpu_s: float
    fake_cpu_s: float
    baseline_rss_kib: int
    peak_rss_kib: int
    end_rss_kib: int
    statuses: collections.Counter[str]
    errors: list[str]
    #: upstream id -> time.monotonic() our generation completed.
    done_at: dict[str, float]
    probes: int
    probe_workers: int
    poll_plan: Any
    #: The JSON our adapter sent for the first generations (the bare baseline sends the same).
    bodies: list[Any]
    #: time.monotonic() our limiter let each generate request through, in order.
    stamps: list[float]


async def run_mediagate(args: argparse.Namespace, fake: Fake, tmp: Path) -> Run:
    from mediagate.catalog import load_catalog, validate_generate
    from mediagate.jobs.model import GenerationStatus, canonical_hash
    from mediagate.jobs.runner import JobRunner
    from mediagate.jobs.store import JobStore
    from mediagate.media.store import MediaStore
    from mediagate.media.worker import default_workers
    from mediagate.providers.gateai import build_gateai_provider
    from mediagate.settings import Settings

    # What the job path imports on first use, so the RSS baseline holds the code, not the jobs.
    for module in JOB_PATH_MODULES:
        importlib.import_module(module)

    clock = ScaledClock(GATEAI_WINDOW_S / args.window_s)
    settings = Settings(
        _env_file=None,
        data_dir=tmp / "data",
        allow_private_urls=True,  # the fake's output URLs are on 127.0.0.1
        gateai_api_key=fake.key,
        gateai_base_url=fake.url,
        gateai_max_in_flight=GATEAI_MAX_IN_FLIGHT,
        gateai_window_requests=GATEAI_WINDOW_REQUESTS,
        gateai_window_s=GATEAI_WINDOW_S,
        gateai_polls_count=False,
        upstream_window_margin_s=args.margin_s * clock.speed,  # real seconds → driver clock
    )
    catalog = load_catalog()
    media = MediaStore(settings.data_dir / "media")
    media.ensure()
    store = await JobStore(settings.data_dir / "jobs.sqlite3").open()
    limiter = stamped_limiter(settings, clock)
    provider = build_gateai_provider(settings, limiter=limiter, **clock.driver_options())
    runner = JobRunner(store=store, providers={"gateai": provider}, media=media, catalog=catalog)
    await runner.start()
    done_mono: dict[str, float] = {}

    def on_change(gen: Any) -> None:
        if gen.is_terminal and gen.id not in done_mono:
            done_mono[gen.id] = time.monotonic()

    runner.add_listener(on_change)
    workers = default_workers()  # the pool rehost probes run in
    calls = [
        {"prompt": PROMPT.format(i=i), "model": MODEL, "provider": "gateai"} for i in range(args.n)
    ]
    baseline_rss = peak_rss_kib()

    async def submit(call: dict[str, Any]) -> str:
        request = validate_generate(call, catalog, allow_private_urls=True)
        gen, _ = await runner.submit(
            request=request, provider="gateai", request_hash=canonical_hash(call)
        )
        return gen.id

    budget_s = 10 * theoretical_min_s(args.n, args.window_s) + 120.0
    try:
        cpu0, children0, fake0 = cpu(), cpu(resource.RUSAGE_CHILDREN), fake.cpu_s()
        t0 = time.monotonic()
        ids = await asyncio.gather(*(submit(c) for c in calls))
        submitted = time.monotonic()
        finals = await asyncio.gather(*(runner.wait(i, budget_s) for i in ids))
        wall = time.monotonic() - t0
        cpu1, children1, fake1 = cpu(), cpu(resource.RUSAGE_CHILDREN), fake.cpu_s()
        peak, end_rss = peak_rss_kib(), current_rss_kib()
    finally:
        await runner.aclose()
        await provider.aclose()
        await workers.aclose()
        await store.close()

    statuses = collections.Counter(g.status.value for g in finals)
    errors = [
        f"{g.id}: {g.status.value} {json.dumps(g.error) if g.error else g.status_message}"
        for g in finals
        if g.status != GenerationStatus.COMPLETED
    ]
    done_at = {
        g.upstream_id: done_mono[g.id]
        for g in finals
        if g.upstream_id is not None and g.id in done_mono
    }
    from mediagate.providers.gateai.mapping import GateAIAdapter

    adapter = GateAIAdapter()
    bare = [
        validate_generate({**calls[0], "prompt": PROMPT.format(i=i)}, catalog)
        for i in range(min(args.n, args.bare_jobs) + 1)
    ]
    bodies = [adapter.submit_call(r, catalog.entry_of(r), []).json for r in bare]
    return Run(
        speed=clock.speed,
        wall_s=wall,
        submit_s=submitted - t0,
        cpu_s=cpu1 - cpu0,
        children_cpu_s=children1 - children0,
        fake_cpu_s=fake1 - fake0,
        baseline_rss_kib=baseline_rss,
        peak_rss_kib=peak,
        end_rss_kib=end_rss,
        statuses=statuses,
        errors=errors,
        done_at=done_at,
        probes=workers.stats.jobs,
        probe_workers=workers.stats.spawned,
        poll_plan=adapter.poll_plan(bare[0]),
        bodies=bodies,
        stamps=list(limiter.stamps),
    )


def stamped_limiter(settings: Any, clock: ScaledClock) -> Any:
    """GateAI's limiter exactly as the provider factory builds it from ``settings``, which
    also notes the real time it lets each generate request through (``stamps``): the
    window is counted from there, the fake counts from the request's arrival."""
    from mediagate.providers.gateai.mapping import GateAIAdapter
    from mediagate.providers.upstream.factory import limits_for
    from mediagate.providers.upstream.limits import KeyLimiter, RequestKind

    class StampedLimiter(KeyLimiter):
        stamps: list[float]

        async def acquire_request(self, kind: RequestKind) -> None:
            await super().acquire_request(kind)
            if kind == "generate":
                self.stamps.append(time.monotonic())

    scaled = clock.speed != 1.0
    limiter = StampedLimiter(
        limits_for(GateAIAdapter(), settings),
        margin_s=settings.upstream_window_margin_s,
        max_slowdown=settings.upstream_poll_slowdown_max,
        clock=clock.monotonic if scaled else time.monotonic,
        sleep=clock.sleep if scaled else asyncio.sleep,
    )
    limiter.stamps = []
    return limiter


def theoretical_min_s(n: int, window_s: float) -> float:
    """N/5 windows × the window: the fastest any client may submit N at GateAI's limits."""
    return math.ceil(n / GATEAI_WINDOW_REQUESTS) * window_s


# --- the bare baseline --------------------------------------------------------------------------


async def run_bare(fake: Fake, run: Run, jobs: int, polls_per_job: float, tmp: Path) -> float:
    """CPU seconds per job of a bare ``httpx2`` client doing the same HTTP conversation:
    submit, poll on the same schedule (at least as many polls as ours made on average),
    download each output to a file. 5 at a time, against a fake without limits."""
    import httpx2

    out = tmp / "bare"
    out.mkdir()
    min_polls = math.floor(polls_per_job)
    plan, speed = run.poll_plan, run.speed
    headers = {"Authorization": f"Bearer {fake.key}"}
    async with httpx2.AsyncClient(base_url=fake.url, headers=headers, timeout=30) as client:
        slots = asyncio.Semaphore(GATEAI_MAX_IN_FLIGHT)

        async def one(i: int) -> None:
            async with slots:
                answer = await client.post("/api/generate", json=run.bodies[i])
                answer.raise_for_status()
                task = answer.json()["task_id"]
                interval, polls = plan.first_s, 0
                while True:
                    await asyncio.sleep(interval / speed)
                    interval = min(interval * plan.factor, plan.max_s)
                    status = (await client.get(f"/get/{task}")).json()
                    polls += 1
                    if status["status"] == "FINISHED" and polls >= min_polls:
                        break
                for n, url in enumerate(status["result"]):
                    data = (await client.get(url)).content
                    (out / f"{i}-{n}.png").write_bytes(data)

        await one(jobs)  # warm-up: the connection, first-use imports
        cpu0 = cpu()
        await asyncio.gather(*(one(i) for i in range(jobs)))
        return (cpu() - cpu0) / jobs


# --- figures ------------------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    ours: str
    base: str = ""
    ratio: str = ""
    target: str = ""


def print_table(title: str, rows: list[Row]) -> None:
    headers = Row("metric", "mediagate", "baseline", "ratio", "target")
    fields = ("metric", "ours", "base", "ratio", "target")
    widths = [max(len(getattr(r, f)) for r in [headers, *rows]) for f in fields]
    print(f"\n== {title}")
    for i, r in enumerate([headers, *rows]):
        cells = [getattr(r, f) for f in fields]
        line = "  ".join(
            c.ljust(w) if j in (0, 4) else c.rjust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        print("  " + line.rstrip())
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def verdict(ok: bool) -> str:
    return "OK" if ok else "OVER TARGET"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def spread(samples: list[float]) -> str:
    """median / p95 / max, in ms."""
    if not samples:
        return "n/a"
    p95 = statistics.quantiles(samples, n=100, method="inclusive")[94] if len(samples) > 1 else 0
    return (
        f"{statistics.median(samples) * 1000:.1f} / {p95 * 1000:.1f} / {max(samples) * 1000:.1f} ms"
    )


def job_latencies(
    run: Run, stats: dict[str, Any], processing_s: float
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per job, in seconds: added (completion − accept − processing), detect (download
    request − the job's end at the fake), rehost (completion − download request) and held
    (completion − accept: about how long the job kept one of our in-flight slots)."""
    accepted = {a["job_id"]: a["at"] for a in stats["accepted"]}
    downloads: dict[str, float] = {}
    for r in stats["requests"]:
        if r["kind"] == "download":
            task = r["path"].removeprefix("/files/").split("/", 1)[0]
            downloads.setdefault(task, r["at"])
    added, detect, rehost, held = [], [], [], []
    for task, done in run.done_at.items():
        if task not in accepted:
            continue
        ends = accepted[task] + processing_s
        added.append(done - ends)
        held.append(done - accepted[task])
        if task in downloads:
            detect.append(downloads[task] - ends)
            rehost.append(done - downloads[task])
    return added, detect, rehost, held


def send_latencies(run: Run, stats: dict[str, Any]) -> tuple[list[float], float | None]:
    """Limiter stamp → arrival at the fake for each submit (both sorted, paired in order),
    and the largest ``lat[k] − lat[k + 5]``: how much later than the fifth request after it a
    submit may arrive before the fake counts them inside one window (our margin must
    cover it). Empty when the counts differ."""
    arrivals = sorted(r["at"] for r in stats["requests"] if r["kind"] == "submit")
    if len(arrivals) != len(run.stamps):
        return [], None
    lat = [a - s for a, s in zip(arrivals, run.stamps, strict=True)]
    k = GATEAI_WINDOW_REQUESTS
    return lat, max((lat[i] - lat[i + k] for i in range(len(lat) - k)), default=None)


def report(
    args: argparse.Namespace,
    run: Run,
    stats: dict[str, Any],
    bare_cpu_s: float,
    bare_jobs: int,
) -> bool:
    """Print the tables; True when every target is met."""
    n = args.n
    floor = theoretical_min_s(n, args.window_s)
    margin_real = args.margin_s
    limiter_floor = math.ceil(n / GATEAI_WINDOW_REQUESTS) * (args.window_s + margin_real)
    completed = run.statuses.get("completed", 0)
    failed = n - completed
    reasons = collections.Counter(e["reason"] for e in stats["rate_limited"])
    ours_429 = sum(reasons[r] for r in OUR_REASONS)
    observed = max(stats["max_in_flight_observed"].values(), default=0)
    kinds = collections.Counter(r["kind"] for r in stats["requests"])
    per_job_cpu = run.cpu_s / n
    added, detect, rehost, held = job_latencies(run, stats, args.processing_s)
    slot_floor = n / GATEAI_MAX_IN_FLIGHT * statistics.fmean(held) if held else math.nan
    rss_growth = run.peak_rss_kib - run.baseline_rss_kib
    lat, skew = send_latencies(run, stats)
    skew_ok = skew is None or skew <= WINDOW_MARGIN_S

    print_table(
        f"1. {n} GateAI generations ({MODEL}) at 5 in flight / 5 per window",
        [
            Row(
                "completed / failed",
                f"{completed} / {failed}",
                target=f"all completed  [{verdict(failed == 0)}]",
            ),
            Row(
                "wall time (first submit → last completion)",
                f"{run.wall_s:.1f} s",
                f"{floor:.1f} s",
                f"{run.wall_s / floor:.3f}×",
                "baseline: N/5 windows × window (none stated)",
            ),
            Row(
                "  our limiter's floor: N/5 × (window + margin)",
                f"{limiter_floor:.1f} s",
                f"{floor:.1f} s",
                f"{limiter_floor / floor:.3f}×",
            ),
            Row(
                "  in-flight floor: N/5 × mean(accepted → done)",
                f"{slot_floor:.1f} s",
                f"{floor:.1f} s",
                f"{slot_floor / floor:.3f}×",
                "done includes saving the output (its slot is freed before)",
            ),
            Row("  all N submitted to the job store within", f"{run.submit_s:.2f} s"),
            Row(
                "429s caused by us (in_flight + window)",
                str(ours_429),
                target=f"0  [{verdict(ours_429 == 0)}]",
            ),
            Row(
                "  by reason: in_flight / window / injected",
                f"{reasons['in_flight']} / {reasons['window']} / {reasons['injected']}",
            ),
            Row(
                "  limiter stamp → arrival at the fake",
                spread(lat),
                target="median / p95 / max",
            ),
            Row(
                "  largest lat[k] − lat[k+5] (window 429 if > margin)",
                ms(skew) if skew is not None else "n/a",
                ms(WINDOW_MARGIN_S),
                f"{skew / WINDOW_MARGIN_S:.2f}×" if skew is not None else "",
                f"≤ production margin  [{verdict(skew_ok)}]",
            ),
            Row(
                "max in flight seen by the fake",
                str(observed),
                str(GATEAI_MAX_IN_FLIGHT),
                target=f"≤ {GATEAI_MAX_IN_FLIGHT}  [{verdict(observed <= GATEAI_MAX_IN_FLIGHT)}]",
            ),
            Row("jobs accepted by the fake", str(len(stats["accepted"])), str(n)),
            Row(
                "requests per job: submit / poll / download",
                " / ".join(f"{kinds[k] / n:.2f}" for k in ("submit", "poll", "download")),
            ),
        ],
    )
    print_table(
        "2. per-job overhead (this process only; the fake runs in its own)",
        [
            Row(
                "CPU per job, mediagate process (all threads)",
                ms(per_job_cpu),
                ms(bare_cpu_s),
                f"{per_job_cpu / bare_cpu_s:.1f}×",
                f"baseline: bare httpx2, same requests ({bare_jobs} jobs)",
            ),
            Row(
                "  + probe workers (child processes), per job",
                ms(run.children_cpu_s / n),
                target=f"{run.probes} probes in {run.probe_workers} fresh worker processes",
            ),
            Row("  the fake's own CPU per job (for scale)", ms(run.fake_cpu_s / n)),
            Row(
                "latency added per job: done − (accepted + processing)",
                spread(added),
                target="median / p95 / max",
            ),
            Row(
                "  detect: download request − job end at the fake",
                spread(detect),
                target=f"polls at {run.poll_plan.first_s:g} s ×{run.poll_plan.factor:g} "
                f"(≤ {run.poll_plan.max_s:g} s) GateAI time",
            ),
            Row("  rehost: completion − download request", spread(rehost)),
        ],
    )
    print_table(
        "3. memory of this process",
        [
            Row(
                "peak RSS (ru_maxrss)",
                mib(run.peak_rss_kib),
                mib(run.baseline_rss_kib),
                f"{run.peak_rss_kib / run.baseline_rss_kib:.2f}×",
                "baseline: after imports and set-up, before the first job",
            ),
            Row("  growth per job", f"{rss_growth / n:.1f} KiB"),
            Row("  RSS after all jobs finished (VmRSS)", mib(run.end_rss_kib)),
        ],
    )
    if run.errors:
        print(f"\n{len(run.errors)} generation(s) did not complete; first few:")
        for line in run.errors[:5]:
            print("  " + line[:400])
    if stats["rate_limited"]:
        first = stats["rate_limited"][:5]
        print(f"\nfirst 429s: {first}")
    return failed == 0 and ours_429 == 0 and observed <= GATEAI_MAX_IN_FLIGHT and skew_ok


async def amain(args: argparse.Namespace) -> int:
    speed = GATEAI_WINDOW_S / args.window_s
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} (other work on the box skews absolute figures)\n"
        f"time scale 1:{speed:g}: GateAI's {GATEAI_WINDOW_S:g} s window runs as "
        f"{args.window_s:g} s and a job's processing as {args.processing_s:g} s "
        f"({args.processing_s * speed:g} s at full scale); mediagate's upstream driver "
        f"runs on a clock {speed:g}× faster, its limiter set to GateAI's real limits "
        f"({GATEAI_MAX_IN_FLIGHT} in flight, {GATEAI_WINDOW_REQUESTS} per "
        f"{GATEAI_WINDOW_S:g} s) with a margin of {args.margin_s * 1000:g} ms real "
        f"({args.margin_s * speed:g} s on its clock; production: {WINDOW_MARGIN_S:g} s). "
        "HTTP, SQLite, downloads and probes run at real speed."
    )
    with tempfile.TemporaryDirectory(prefix="mediagate-bench-upstream-") as name:
        tmp = Path(name)
        with fake_gateai(
            tmp, "limited", processing_s=args.processing_s, window_s=args.window_s, limited=True
        ) as fake:
            run = await run_mediagate(args, fake, tmp)
        stats = read_stats(fake)
        polls = sum(1 for r in stats["requests"] if r["kind"] == "poll") / args.n
        bare_jobs = min(args.n, args.bare_jobs)
        with fake_gateai(
            tmp, "bare", processing_s=args.processing_s, window_s=args.window_s, limited=False
        ) as bare_fake:
            bare_cpu = await run_bare(bare_fake, run, bare_jobs, polls, tmp)
    ok = report(args, run, stats, bare_cpu, bare_jobs)
    print(f"\nverdict: {verdict(ok)}")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=None, help="generations (default 1000)")
    parser.add_argument("--quick", action="store_true", help="100 generations")
    parser.add_argument(
        "--window-s",
        type=float,
        default=0.3,
        help="the fake's request window in real seconds (GateAI: 30; default 0.3 = 1:100)",
    )
    parser.add_argument(
        "--processing-s",
        type=float,
        default=0.05,
        help="the fake's processing time per job in real seconds (default 0.05)",
    )
    parser.add_argument(
        "--margin-s",
        type=float,
        default=None,
        help="the limiter's window margin in real seconds (default 0.1; 0.5 at full scale)",
    )
    parser.add_argument(
        "--bare-jobs", type=int, default=200, help="jobs in the bare httpx2 baseline"
    )
    args = parser.parse_args()
    if args.n is None:
        args.n = 100 if args.quick else 1000
    if args.margin_s is None:
        args.margin_s = WINDOW_MARGIN_S if args.window_s == GATEAI_WINDOW_S else SCALED_MARGIN_S
    if args.n < 1 or args.window_s <= 0 or args.processing_s < 0 or args.margin_s < 0:
        parser.error("--n must be ≥ 1, --window-s > 0, --processing-s and --margin-s ≥ 0")
    # Settings come from the bench alone, not from whatever MEDIAGATE_* this shell exports.
    for name in [k for k in os.environ if k.startswith("MEDIAGATE_")]:
        del os.environ[name]
    sys.exit(asyncio.run(amain(args)))


if __name__ == "__main__":
    main()
