"""The fault matrix (issue #4): every fault × every target × both upstreams, end to end.

Each case runs one generation through the real pieces — ``JobRunner``, ``JobStore`` (SQLite
in a temp dir), ``MediaStore`` and the provider ``build_gateai_provider`` /
``build_kubeez_provider`` make from ``Settings`` — against the fake upstream over real HTTP
on 127.0.0.1, with one fault armed on one endpoint kind. The rules under test:

* reads (polls, output downloads) are retried freely, so a fault there never loses the job;
* a submit is sent again only when it provably never arrived (connection refused) or was
  explicitly refused (429, after its ``Retry-After``);
* any other submit failure is ambiguous: GateAI looks the job up in ``/api/me`` (adopting it,
  or submitting again once the listing proves it absent); Kubeez has no listing, so the
  generation fails with ``upstream_error`` and ``submit_outcome: "unknown"`` — never a
  second submit, never a second charge.

Timeouts, backoff and the reconcile window are set small (:data:`SETTINGS`) and polling is
fast (:func:`fast_poll`), so the whole matrix takes about a minute.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fakes import FAULTS, FakeUpstream
from fakes.faults import FaultName, RequestRecord
from mediagate.catalog import load_catalog, validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest
from mediagate.jobs.model import Generation, canonical_hash
from mediagate.jobs.runner import JobRunner
from mediagate.jobs.store import JobStore
from mediagate.media.store import MediaStore
from mediagate.providers.base import Provider
from mediagate.providers.gateai import build_gateai_provider
from mediagate.providers.kubeez import build_kubeez_provider
from mediagate.providers.upstream.adapter import PollPlan
from mediagate.providers.upstream.driver import UpstreamProvider
from mediagate.settings import Settings

CATALOG: Catalog = load_catalog()
PROVIDERS = ("gateai", "kubeez")
TARGETS = ("submit", "poll", "download")
#: ``gpt-image-2`` exists at both providers: GateAI's must be routed to its own entry.
MODELS = {"gateai": "gateai/gpt-image-2", "kubeez": "nano-banana"}
PROCESSING_S = 0.2
JOB_TIMEOUT_S = 20.0
#: How long a ``refused`` outage lasts on a read target: longer than the next poll or the
#: first download retry is due, much shorter than the retries' total backoff.
REFUSE_S = 0.25

SETTINGS: dict[str, Any] = {
    "allow_private_urls": True,
    "upstream_connect_timeout_s": 2.0,
    # timeout_after_accept withholds the answer: the read timeout is what ends the wait.
    "upstream_read_timeout_s": 0.5,
    "upstream_write_timeout_s": 2.0,
    "upstream_total_timeout_s": 5.0,
    "upstream_output_timeout_s": 5.0,
    "upstream_retry_max_attempts": 8,
    "upstream_retry_base_s": 0.1,
    "upstream_retry_cap_s": 0.5,
    "upstream_retry_max_wait_s": 10.0,
    # The matrix is about single faults; the breaker has its own test below.
    "upstream_breaker_threshold": 50,
    "upstream_breaker_cooldown_s": 0.5,
    "upstream_reconcile_window_s": 0.6,
    "upstream_job_grace_s": 5.0,
}


def fast_poll(request: GenerationRequest) -> PollPlan:
    return PollPlan(first_s=0.05, max_s=0.2, factor=1.5)


@dataclass(frozen=True)
class Outcome:
    """How a case must end: status, error code, ``submit_outcome``, and what the fake saw."""

    status: str
    code: str | None = None
    submit_outcome: str | None = None
    #: Submit requests that reached the fake (refused connects never do).
    submits: int = 1
    #: Submits that created a job (and were charged).
    accepted: int = 1
    #: Submit attempts recorded in the job store, at least.
    min_attempts: int = 1
    #: Whether the job listing (GateAI's /api/me) was read to settle an ambiguous submit.
    reconciled: bool = False


DONE = Outcome("completed")
#: 429: sent again after the Retry-After.
RESENT = Outcome("completed", submits=2, min_attempts=2)
#: Connection refused: provably never sent, so sent again.
RECONNECTED = Outcome("completed", submits=1, min_attempts=2)
#: 5xx on a GateAI submit: /api/me proves no job was made, so it is submitted again.
RESUBMITTED = Outcome("completed", submits=2, min_attempts=2, reconciled=True)
#: The job was made but its answer lost: found in GateAI's /api/me and adopted.
ADOPTED = Outcome("completed", submits=1, reconciled=True)
#: Kubeez cannot look the job up: fail, never submit again (here no job was made)...
UNKNOWN_NOT_MADE = Outcome("failed", "upstream_error", "unknown", submits=1, accepted=0)
#: ...and here one was made (and charged) but its answer lost.
UNKNOWN_MADE = Outcome("failed", "upstream_error", "unknown", submits=1, accepted=1)

# Reads are retried freely: a fault on a poll or an output download never loses the job.
_READS: dict[FaultName, Outcome] = dict.fromkeys(FAULTS, DONE)

EXPECTED: dict[tuple[str, str], dict[FaultName, Outcome]] = {
    ("gateai", "submit"): {
        500: RESUBMITTED,
        502: RESUBMITTED,
        503: RESUBMITTED,
        504: RESUBMITTED,
        "429_seconds": RESENT,
        "429_date": RESENT,
        "refused": RECONNECTED,
        "timeout_after_accept": ADOPTED,
        "reset_mid_body": ADOPTED,
        "malformed_json": ADOPTED,
    },
    ("kubeez", "submit"): {
        500: UNKNOWN_NOT_MADE,
        502: UNKNOWN_NOT_MADE,
        503: UNKNOWN_NOT_MADE,
        504: UNKNOWN_NOT_MADE,
        "429_seconds": RESENT,
        "429_date": RESENT,
        "refused": RECONNECTED,
        "timeout_after_accept": UNKNOWN_MADE,
        "reset_mid_body": UNKNOWN_MADE,
        "malformed_json": UNKNOWN_MADE,
    },
    ("gateai", "poll"): _READS,
    ("kubeez", "poll"): _READS,
    ("gateai", "download"): _READS,
    ("kubeez", "download"): _READS,
}


# --- the rig --------------------------------------------------------------------------------


@dataclass
class Rig:
    """One server's worth of job machinery around one provider."""

    name: str
    provider: Any
    runner: JobRunner
    store: JobStore
    media: MediaStore

    @property
    def upstream(self) -> UpstreamProvider:
        upstream: UpstreamProvider = self.provider.upstream
        return upstream

    async def submit(self, prompt: str) -> Generation:
        request = validate_generate({"model": MODELS[self.name], "prompt": prompt}, CATALOG)
        gen, created = await self.runner.submit(
            request=request,
            provider=self.name,
            request_hash=canonical_hash({"prompt": prompt, "at": time.monotonic()}),
        )
        assert created
        return gen

    async def finish(self, gen: Generation) -> Generation:
        done = await self.runner.wait(gen.id, JOB_TIMEOUT_S)
        assert done.is_terminal, f"{gen.id} still {done.status}: {done.status_message}"
        return done


def settings_for(name: str, fake: FakeUpstream, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        **{f"{name}_api_key": fake.api_key, f"{name}_base_url": fake.url},
        **{**SETTINGS, **overrides},
    )


@asynccontextmanager
async def rig(
    name: str, fake: FakeUpstream, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Rig]:
    settings = settings_for(name, fake, tmp_path, **overrides)
    build = build_gateai_provider if name == "gateai" else build_kubeez_provider
    provider = build(settings, poll_plan=fast_poll)
    media = MediaStore(tmp_path / "media")
    media.ensure()
    store = await JobStore(tmp_path / "jobs.sqlite3").open()
    providers: dict[str, Provider] = {name: provider}
    runner = JobRunner(store=store, providers=providers, media=media, catalog=CATALOG)
    try:
        yield Rig(name, provider, runner, store, media)
    finally:
        await runner.aclose()
        await provider.aclose()
        await store.close()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


# --- checks ---------------------------------------------------------------------------------


def assert_outputs(gen: Generation, media: MediaStore, fake: FakeUpstream) -> None:
    """Every output is on disk, is the image it claims, and keeps the provider URL."""
    assert gen.outputs
    for out in gen.outputs:
        path = media.resolve(out["relpath"])
        assert path is not None and path.is_file(), out
        assert path.stat().st_size == out["size_bytes"]
        with Image.open(path) as image:
            image.load()  # decodes every byte: a truncated file fails here
            assert image.size == (out["width"], out["height"])
        assert out["media_type"] == "image"
        assert str(out["source_url"]).startswith(f"{fake.url}/files/"), out
        if out.get("thumbnail_relpath"):
            thumb = media.resolve(out["thumbnail_relpath"])
            assert thumb is not None
            with Image.open(thumb) as image:
                image.load()


def retry_after_gap(records: list[RequestRecord]) -> tuple[RequestRecord, RequestRecord]:
    """The injected 429 among ``records`` and the request of that kind after it."""
    for i, record in enumerate(records):
        if record.fault in ("429_seconds", "429_date"):
            assert i + 1 < len(records), "nothing was sent after the 429"
            return record, records[i + 1]
    raise AssertionError("no injected 429 was answered")


def assert_retry_after_honoured(fake: FakeUpstream, target: str) -> None:
    limited, following = retry_after_gap(fake.requests(target))
    assert limited.retry_after is not None
    gap = following.at - limited.at
    if limited.fault == "429_seconds":
        assert gap >= float(limited.retry_after), (gap, limited.retry_after)
    else:
        # An HTTP-date has whole seconds; nothing may arrive before it (minus clock jitter).
        date = parsedate_to_datetime(limited.retry_after).timestamp()
        assert following.wall >= date - 0.05, (following.wall, date)
        assert gap >= 1.0


def assert_fault_fired(fake: FakeUpstream, target: str, fault: FaultName) -> None:
    assert fake.pending_faults() == []
    if fault == "refused":
        assert [o.target for o in fake.outages] == [target]
    else:
        assert any(r.fault == fault for r in fake.requests(target)), fake.requests(target)


# --- the matrix -----------------------------------------------------------------------------


def _arm(fake: FakeUpstream, target: str, fault: FaultName) -> None:
    if fault == "refused" and target == "submit":
        # The outage starts now and is ended by the test once a submit was refused.
        fake.inject(target, fault, refuse_s=30.0)
    else:
        fake.inject(target, fault, refuse_s=REFUSE_S)


@pytest.mark.parametrize("fault", FAULTS, ids=str)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_fault_ends_the_generation_as_the_table_says(
    provider: str,
    target: str,
    fault: FaultName,
    start_fake: Callable[..., Any],
    tmp_path: Path,
) -> None:
    expected = EXPECTED[provider, target][fault]
    fake: FakeUpstream = start_fake(provider, processing_s=PROCESSING_S)
    _arm(fake, target, fault)
    async with rig(provider, fake, tmp_path) as r:
        gen = await r.submit(f"a red kite over dunes ({target} {fault})")
        if fault == "refused" and target == "submit":

            async def refused_once() -> bool:
                return (await r.store.get(gen.id)).attempts >= 2

            await until(refused_once, "a refused submit attempt")
            fake.end_outage()
        done = await r.finish(gen)

    assert_fault_fired(fake, target, fault)
    error = done.error or {}
    assert (done.status, error.get("error"), error.get("submit_outcome")) == (
        expected.status,
        expected.code,
        expected.submit_outcome,
    ), done.error
    assert len(fake.requests("submit")) == expected.submits
    assert fake.accepted_count == expected.accepted
    assert done.attempts >= expected.min_attempts
    assert bool(fake.requests("me")) == expected.reconciled
    if done.status == "completed":
        assert fake.accepted_count == 1
        [accepted] = fake.accepted_submits()
        assert done.upstream_id == accepted.job_id
        assert_outputs(done, r.media, fake)
    if fault in ("429_seconds", "429_date"):
        assert_retry_after_honoured(fake, target)


# --- the circuit breaker --------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_burst_of_5xx_opens_the_breaker_and_a_probe_closes_it(
    provider: str, start_fake: Callable[..., Any], tmp_path: Path
) -> None:
    threshold, cooldown = 3, 1.5
    fake: FakeUpstream = start_fake(provider, processing_s=PROCESSING_S)
    fake.inject("poll", 503, times=threshold)
    async with rig(
        provider,
        fake,
        tmp_path,
        upstream_breaker_threshold=threshold,
        upstream_breaker_cooldown_s=cooldown,
    ) as r:
        breaker = r.upstream.http.breaker
        first = await r.submit("a kite in a storm")

        async def opened() -> bool:
            return breaker.state == "open"

        await until(opened, "the breaker to open")
        # A new generation fails fast while the upstream is failing: nothing is sent.
        refused = await r.finish(await r.submit("a second kite"))
        assert refused.status == "failed"
        assert refused.error is not None
        assert refused.error["error"] == "upstream_unavailable"
        assert 0 < refused.error["retry_after_s"] <= cooldown
        assert fake.accepted_count == 1

        # The first generation's next poll is the half-open probe; it succeeds and closes it.
        done = await r.finish(first)
        assert done.status == "completed", done.error
        assert breaker.state == "closed"
        polls = fake.requests("poll")
        failed = [p for p in polls if p.status == 503]
        assert len(failed) == threshold
        probe = polls[polls.index(failed[-1]) + 1]
        assert probe.at - failed[-1].at >= cooldown - 0.05
        assert probe.status == 200

        again = await r.finish(await r.submit("a third kite, after the storm"))
        assert again.status == "completed", again.error
    assert fake.accepted_count == 2
