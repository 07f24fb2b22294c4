"""Contract-faithful fake upstreams (GateAI, Kubeez) served over real HTTP on 127.0.0.1.

Start one with the ``fake_gateai`` / ``fake_kubeez`` fixtures (``tests/conftest.py``; options
through ``fake_gateai_options`` / ``fake_kubeez_options``, more fakes through ``start_fake``), or
directly::

    with FakeGateAI(processing_s=0.2, window_s=30, max_in_flight=5) as fake:
        fake.url, fake.api_key, fake.env()   # base URL, a valid key, MEDIAGATE_<P>_* variables

Each fake runs uvicorn on its own thread and loop, so async tests in this process and server
subprocesses can both reach it. Test-facing controls, common to both:

* ``inject(target, fault, times=1, *, retry_after=1, hold_s=300, refuse_s=1)``: see ``faults``;
  ``target`` is an endpoint kind (``fake.kinds``: ``submit``, ``poll``, ``download``, ...).
* ``accepted_submits()`` / ``accepted_count``: jobs created (time, key, job id, model, request
  body, cost, GateAI adjustments). ``rate_limited``: every 429 with reason (``in_flight``,
  ``window``, ``injected``) and ``Retry-After``. ``max_in_flight_observed``: per key.
  ``requests(kind=None)``: the request log (``time.monotonic()`` arrival/finish, kind, key,
  status, ``Retry-After``, fault). ``retry_after_sent``, ``outages``, ``refusing``.
* ``clock.advance(seconds)`` moves the fake's time (jobs, slots, windows, refunds, budget day);
  ``finish(job_id)`` / ``fail(job_id, ...)`` / ``status_of(job_id)`` decide and read jobs.
* Prompt markers: ``[fail]``, ``[content_policy]``, ``[timeout]``, ``[hang]``, ``[delay=S]``
  (and ``[blocked]`` for Kubeez's synchronous 422).

GateAI only: ``set_budget(key, used=, daily_limit=)``, ``remaining(key)``, ``in_flight(key)``.
Kubeez only: ``set_credits(credits, key)``, ``credits_of(key)``. See ``gateai`` and ``kubeez``
for each API's endpoints, errors and the choices made where the seeds are silent.
"""

from fakes.base import AcceptedSubmit, Clock, FakeUpstream, OutputFile
from fakes.faults import FAULTS, Fault, Outage, RateLimitEvent, RequestRecord
from fakes.gateai import FakeGateAI
from fakes.kubeez import FakeKubeez

__all__ = [
    "FAULTS",
    "AcceptedSubmit",
    "Clock",
    "FakeGateAI",
    "FakeKubeez",
    "FakeUpstream",
    "Fault",
    "Outage",
    "OutputFile",
    "RateLimitEvent",
    "RequestRecord",
]
