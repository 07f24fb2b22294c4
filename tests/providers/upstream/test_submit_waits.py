"""A 5xx submit proven absent is sent again, but not before the ``Retry-After`` it carried."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2

from mediagate.media.store import MediaStore

from .helpers import FakeTime, FakeUpstream, FileServer, image_request, make_ctx
from .helpers import make_provider as _provider


@dataclass
class SaysWhen(FakeUpstream):
    """Its 503s carry ``Retry-After``; it notes the (virtual) time of every submit."""

    clock: FakeTime = field(default_factory=FakeTime)
    submitted_at: list[float] = field(default_factory=list)

    async def _submit(self, request: httpx2.Request) -> httpx2.Response:
        self.submitted_at.append(self.clock.now)
        return await super()._submit(request)

    def _fault(self, request: httpx2.Request, fault: str | int) -> httpx2.Response:
        if fault == 503:
            return httpx2.Response(503, headers={"Retry-After": self.retry_after})
        return super()._fault(request, fault)


async def test_a_503_submit_proven_absent_waits_its_retry_after(
    media: MediaStore, files: FileServer
) -> None:
    fake = SaysWhen(outputs=[files.url("out.png")], submit_faults=[503], retry_after="40")
    provider = _provider(fake, fake.clock, settings={"upstream_reconcile_window_s": 5.0})
    ctx, _ = make_ctx(media, image_request())
    await provider.run(ctx)
    await provider.aclose()
    assert len(fake.jobs) == 1
    first, second = fake.submitted_at
    assert fake.count("GET", "/v1/jobs") >= 2  # reconciled before sending again
    assert second - first >= 40.0


async def test_a_503_retry_after_shorter_than_the_reconcile_adds_no_wait(
    media: MediaStore, files: FileServer
) -> None:
    fake = SaysWhen(outputs=[files.url("out.png")], submit_faults=[503], retry_after="2")
    provider = _provider(fake, fake.clock, settings={"upstream_reconcile_window_s": 5.0})
    ctx, _ = make_ctx(media, image_request())
    await provider.run(ctx)
    await provider.aclose()
    first, second = fake.submitted_at
    assert 5.0 <= second - first < 6.0
