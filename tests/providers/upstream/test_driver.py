"""The shared driver end to end against a scripted upstream (MockTransport, virtual time).

Outputs are served by a real loopback file server, since rehosting goes through the guarded
fetcher (``allow_private_urls`` is on, as in every local test setup).
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from mediagate.catalog.request import SourceMedia
from mediagate.errors import MediagateError
from mediagate.jobs.model import GenerationStatus
from mediagate.media.store import MediaStore
from mediagate.providers.upstream.adapter import UpstreamLimits

from .helpers import FakeTime, FakeUpstream, FileServer, TinyAdapter, image_request, make_ctx
from .helpers import make_provider as _provider


async def test_submits_once_polls_to_completion_and_rehosts(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], polls_to_finish=3)
    clock = FakeTime()
    provider = _provider(fake, clock)
    ctx, rec = make_ctx(media, image_request())
    stored = await provider.run(ctx)
    await provider.aclose()

    assert fake.submits == 1
    assert fake.count("GET", "/v1/jobs/job-1") == 3
    kinds = rec.kinds()
    # The attempt is durable before the submit, the id before the first poll.
    assert kinds.index("attempt") < kinds.index("upstream_id")
    assert ("upstream_id", "job-1") in rec.events
    assert any(e[0] == "report" and e[1] == GenerationStatus.PROCESSING for e in rec.events)
    [out] = stored
    assert out.source_url == files.url("out.png")
    assert out.media_type == "image" and out.mime_type == "image/png"
    path = media.resolve(out.relpath)
    assert path is not None and path.read_bytes() == (files.root / "out.png").read_bytes()
    assert out.size_bytes == path.stat().st_size
    assert out.relpath.startswith(ctx.generation.id + "/")
    assert provider.limiter.in_flight == 0


async def test_polls_back_off_adaptively(media: MediaStore, files: FileServer) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], polls_to_finish=6)
    clock = FakeTime()
    provider = _provider(fake, clock, adapter=TinyAdapter(first_poll_s=1.0))
    ctx, _ = make_ctx(media, image_request())
    await provider.run(ctx)
    # 1 s first, ×2 each poll, capped at 4 s (the adapter's plan).
    assert clock.sleeps[:6] == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


async def test_submit_429_waits_for_retry_after_then_succeeds(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], submit_faults=[429], retry_after="7")
    clock = FakeTime()
    provider = _provider(fake, clock)
    ctx, rec = make_ctx(media, image_request())
    await provider.run(ctx)
    assert fake.submits == 2
    assert len(fake.jobs) == 1
    assert rec.kinds().count("attempt") == 2
    assert clock.now - 1000.0 >= 7.0  # the Retry-After was honoured
    assert any(7.0 <= s <= 7.7 for s in clock.sleeps)


async def test_submit_429_beyond_the_attempts_is_rate_limited(media: MediaStore) -> None:
    fake = FakeUpstream(submit_faults=[429] * 10, retry_after="3")
    provider = _provider(fake, FakeTime(), settings={"upstream_retry_max_attempts": 3})
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    assert caught.value.code == "rate_limited"
    assert caught.value.details["retry_after_s"] == 3.0
    assert fake.submits == 3


async def test_refused_connect_is_retried(media: MediaStore, files: FileServer) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], submit_faults=["refuse", "refuse"])
    provider = _provider(fake, FakeTime())
    ctx, rec = make_ctx(media, image_request())
    await provider.run(ctx)
    assert fake.submits == 3
    assert len(fake.jobs) == 1
    assert rec.kinds().count("attempt") == 3
    assert fake.count("GET", "/v1/jobs") == 0  # never needed to reconcile


async def test_ambiguous_submit_is_reconciled_not_resubmitted(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], submit_faults=["lost"])
    provider = _provider(fake, FakeTime())
    ctx, rec = make_ctx(media, image_request())
    stored = await provider.run(ctx)
    assert fake.submits == 1
    assert len(fake.jobs) == 1
    assert fake.count("GET", "/v1/jobs") >= 1
    assert ("upstream_id", "job-1") in rec.events
    assert stored[0].source_url == files.url("out.png")


async def test_unreadable_2xx_submit_is_reconciled(media: MediaStore, files: FileServer) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], submit_faults=["garbled"])
    provider = _provider(fake, FakeTime())
    ctx, rec = make_ctx(media, image_request())
    await provider.run(ctx)
    assert fake.submits == 1 and ("upstream_id", "job-1") in rec.events


async def test_5xx_submit_is_reconciled(media: MediaStore, files: FileServer) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], submit_faults=[502])
    provider = _provider(fake, FakeTime())
    ctx, _ = make_ctx(media, image_request())
    await provider.run(ctx)
    # The 502 created nothing: the listing proved it absent after the window, then one
    # more submit went out.
    assert fake.submits == 2
    assert len(fake.jobs) == 1


async def test_ambiguous_submit_proven_absent_is_submitted_again_after_the_window(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], submit_faults=["timeout"])
    clock = FakeTime()
    provider = _provider(fake, clock, settings={"upstream_reconcile_window_s": 20.0})
    ctx, _ = make_ctx(media, image_request())
    await provider.run(ctx)
    assert fake.submits == 2
    assert len(fake.jobs) == 1
    # "absent" only counted once the listing had 20 s to show a late job.
    assert fake.count("GET", "/v1/jobs") >= 2
    assert clock.now - 1000.0 >= 20.0


async def test_ambiguous_submit_without_reconcile_fails_as_unknown(media: MediaStore) -> None:
    fake = FakeUpstream(submit_faults=["lost"])
    provider = _provider(fake, FakeTime(), adapter=TinyAdapter(reconcile=False))
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    error = caught.value
    assert error.code == "upstream_error"
    assert error.details["submit_outcome"] == "unknown"
    assert "charged" in error.details["hint"]
    assert fake.submits == 1
    assert provider.limiter.in_flight == 0


async def test_unreadable_listings_leave_the_outcome_unknown(media: MediaStore) -> None:
    fake = FakeUpstream(submit_faults=["timeout"], list_faults=[500] * 100)
    provider = _provider(fake, FakeTime())
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    assert caught.value.details["submit_outcome"] == "unknown"
    assert fake.submits == 1


async def test_resume_with_upstream_id_only_polls(media: MediaStore, files: FileServer) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")])
    job_id = fake.create("a red kite over dunes")
    provider = _provider(fake, FakeTime())
    ctx, rec = make_ctx(media, image_request(), upstream_id=job_id, attempts=1)
    stored = await provider.run(ctx)
    assert fake.submits == 0
    assert fake.count("GET", "/v1/jobs") == 0  # no reconcile either: the id is known
    assert "attempt" not in rec.kinds()
    assert stored[0].source_url == files.url("out.png")


async def test_resume_after_crash_mid_submit_adopts_the_job(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")])
    job_id = fake.create("a red kite over dunes")
    provider = _provider(fake, FakeTime())
    ctx, rec = make_ctx(media, image_request(), attempts=1)
    await provider.run(ctx)
    assert fake.submits == 0
    assert ("upstream_id", job_id) in rec.events


async def test_resume_after_crash_before_the_submit_left_submits_once(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")])
    provider = _provider(fake, FakeTime())
    # Created long ago: the listing is already conclusive on its first read.
    ctx, _ = make_ctx(media, image_request(), attempts=1, created_at=FakeTime().wall() - 3600)
    await provider.run(ctx)
    assert fake.submits == 1
    assert fake.count("GET", "/v1/jobs") == 1


async def test_reconcile_never_adopts_another_generations_job(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")])
    taken = fake.create("a red kite over dunes")

    async def owner(upstream_id: str) -> str | None:
        return "gen_OTHER" if upstream_id == taken else None

    provider = _provider(fake, FakeTime())
    ctx, rec = make_ctx(
        media, image_request(), attempts=1, created_at=FakeTime().wall() - 3600, owner=owner
    )
    await provider.run(ctx)
    # The only match belonged to someone else, so ours was never made: submitted anew.
    assert fake.submits == 1
    assert ("upstream_id", taken) not in rec.events
    assert ("upstream_id", "job-2") in rec.events


async def test_poll_faults_are_retried_until_completion(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(
        outputs=[files.url("out.png")], poll_faults=["reset", "timeout", 502, 500, 404]
    )
    provider = _provider(fake, FakeTime())
    ctx, _ = make_ctx(media, image_request())
    stored = await provider.run(ctx)
    assert len(stored) == 1 and fake.submits == 1


async def test_an_open_breaker_pauses_polling_instead_of_failing(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], poll_faults=["reset"] * 4)
    clock = FakeTime()
    provider = _provider(
        fake,
        clock,
        settings={"upstream_breaker_threshold": 3, "upstream_breaker_cooldown_s": 60.0},
    )
    ctx, _ = make_ctx(media, image_request())
    stored = await provider.run(ctx)
    assert len(stored) == 1
    # Three resets opened the breaker; polling waited out the cooldown, then probed on.
    # (Without the breaker these polls would take ~20 s of backoff.)
    assert clock.now - 1000.0 >= 60.0
    assert provider.http.breaker.state == "closed"


async def test_poll_429_slows_polling_instead_of_failing(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], poll_faults=[429, 429], retry_after="9")
    clock = FakeTime()
    provider = _provider(fake, clock)
    ctx, _ = make_ctx(media, image_request())
    await provider.run(ctx)
    assert provider.limiter.slowdown > 1.0
    assert any(s >= 9.0 for s in clock.sleeps)  # the poll pause honoured Retry-After


async def test_persistent_poll_rejection_fails_the_job(media: MediaStore) -> None:
    fake = FakeUpstream(poll_faults=[404] * 10)
    provider = _provider(fake, FakeTime())
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    assert caught.value.code == "upstream_rejected"
    assert caught.value.details["upstream_id"] == "job-1"


async def test_upstream_failure_ends_with_its_error(media: MediaStore) -> None:
    fake = FakeUpstream(final_state="failed")
    provider = _provider(fake, FakeTime())
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    assert caught.value.code == "content_filtered"
    assert caught.value.details["upstream_id"] == "job-1"


async def test_a_job_that_never_finishes_times_out(media: MediaStore) -> None:
    fake = FakeUpstream(polls_to_finish=10**9)
    clock = FakeTime()
    provider = _provider(
        fake, clock, settings={"upstream_max_job_s": 100.0, "upstream_job_grace_s": 10.0}
    )
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    assert caught.value.details["reason"] == "job_timeout"
    assert 110.0 <= clock.now - 1000.0 <= 120.0


async def test_rejected_submit_fails_and_frees_the_slot(media: MediaStore) -> None:
    fake = FakeUpstream(submit_faults=[422])
    provider = _provider(
        fake, FakeTime(), adapter=TinyAdapter(limits=UpstreamLimits(max_in_flight=1))
    )
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    assert caught.value.code == "upstream_rejected"
    assert fake.submits == 1
    assert provider.limiter.in_flight == 0


async def test_breaker_opens_fails_fast_and_recovers(media: MediaStore, files: FileServer) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], submit_faults=["refuse"] * 3)
    clock = FakeTime()
    provider = _provider(
        fake,
        clock,
        settings={"upstream_breaker_threshold": 3, "upstream_breaker_cooldown_s": 30.0},
    )
    ctx, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx)
    assert caught.value.code == "upstream_unavailable"
    assert caught.value.details["retry_after_s"] > 0
    assert fake.submits == 3

    ctx2, _ = make_ctx(media, image_request())
    with pytest.raises(MediagateError) as caught:
        await provider.run(ctx2)
    assert caught.value.code == "upstream_unavailable"
    assert fake.submits == 3  # failed fast: nothing was sent

    clock.now += 30.0  # cooldown over: the next call is the half-open probe
    ctx3, _ = make_ctx(media, image_request())
    stored = await provider.run(ctx3)
    assert len(stored) == 1 and fake.submits == 4
    assert provider.http.breaker.state == "closed"


async def test_in_flight_limit_queues_the_second_generation(
    media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], polls_to_finish=3)
    provider = _provider(
        fake, FakeTime(), adapter=TinyAdapter(limits=UpstreamLimits(max_in_flight=1))
    )
    ctx1, _ = make_ctx(media, image_request("first"))
    ctx2, _ = make_ctx(media, image_request("second"))
    await asyncio.gather(provider.run(ctx1), provider.run(ctx2))
    # The second submit only left once the first generation had finished polling.
    paths = [(r.method, r.url.path) for r in fake.requests if r.url.path.startswith("/v1/jobs")]
    second_submit = [i for i, p in enumerate(paths) if p == ("POST", "/v1/jobs")][1]
    first_job_polls = [i for i, p in enumerate(paths) if p == ("GET", "/v1/jobs/job-1")]
    assert max(first_job_polls) < second_submit


async def test_own_media_inputs_are_uploaded(media: MediaStore, files: FileServer) -> None:
    stored_input = media.folder("uploads") / "src.png"
    stored_input.write_bytes((files.root / "out.png").read_bytes())
    request = image_request()._replace(sources=[SourceMedia(stored_input.as_uri(), "image")])
    fake = FakeUpstream(outputs=[files.url("out.png")])
    provider = _provider(fake, FakeTime())
    ctx, _ = make_ctx(media, request)
    await provider.run(ctx)
    [upload] = fake.uploads
    [sent] = [r for r in fake.requests if r.url.path == "/v1/uploads"]
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(sent.headers["content-length"]) == len(upload)
    assert b'name="file"; filename="src.png"' in upload
    assert stored_input.read_bytes() in upload
    assert fake.jobs["job-1"]["inputs"] == ["https://cdn.tiny.test/u1"]


async def test_own_media_inputs_are_inlined_as_data_uris(
    media: MediaStore, files: FileServer, tmp_path: Path
) -> None:
    stored_input = media.folder("uploads") / "src.png"
    stored_input.write_bytes((files.root / "out.png").read_bytes())
    public = "https://example.com/ref.png"
    request = image_request()._replace(
        sources=[SourceMedia(stored_input.as_uri(), "image"), SourceMedia(public, "image")]
    )
    fake = FakeUpstream(outputs=[files.url("out.png")])
    provider = _provider(fake, FakeTime(), adapter=TinyAdapter(local_inputs="data_uri"))
    ctx, _ = make_ctx(media, request)
    await provider.run(ctx)
    inline, passed = fake.jobs["job-1"]["inputs"]
    assert inline.startswith("data:image/png;base64,")
    assert base64.b64decode(inline.split(",", 1)[1]) == stored_input.read_bytes()
    assert passed == public
    assert fake.uploads == []


async def test_cancel_calls_the_upstream_and_frees_the_slot(media: MediaStore) -> None:
    fake = FakeUpstream(polls_to_finish=10**9)
    provider = _provider(
        fake, None, adapter=TinyAdapter(limits=UpstreamLimits(max_in_flight=1), first_poll_s=0.01)
    )
    ctx, rec = make_ctx(media, image_request())
    task = asyncio.create_task(provider.run(ctx))
    for _ in range(500):
        if ("upstream_id", "job-1") in rec.events:
            break
        await asyncio.sleep(0.01)
    assert provider.limiter.in_flight == 1
    await provider.cancel(ctx.generation.model_copy(update={"upstream_id": "job-1"}))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.canceled == ["job-1"]
    assert provider.limiter.in_flight == 0
    await provider.aclose()


async def test_missing_key_is_provider_not_configured() -> None:
    from mediagate.providers.upstream.factory import build_upstream_provider
    from mediagate.settings import Settings

    with pytest.raises(MediagateError) as caught:
        build_upstream_provider(
            TinyAdapter(), api_key=None, base_url="https://x.test", settings=Settings()
        )
    assert caught.value.code == "provider_not_configured"
