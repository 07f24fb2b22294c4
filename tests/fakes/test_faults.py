"""Every injected fault is observable as documented, on both fakes, for submit/poll/download."""

from __future__ import annotations

import contextlib
import email.utils
import errno
import io
import itertools
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from PIL import Image, UnidentifiedImageError

from fakes.base import FakeUpstream
from fakes.drive import connect, wait_for


@dataclass
class Api:
    """Enough of one upstream's API to submit, poll and download."""

    fake: Any
    client: httpx2.Client
    submit_path: str
    submit_body: dict[str, Any]
    poll: Callable[[str], str]
    id_field: str
    outputs: Callable[[dict[str, Any]], list[str]]

    def submit(self, **kwargs: Any) -> httpx2.Response:
        return self.client.post(self.submit_path, json=self.submit_body, **kwargs)

    def finished_outputs(self) -> list[str]:
        """Submit, finish at once, poll: the output URLs."""
        job = self.submit().json()[self.id_field]
        self.fake.finish(job)
        return self.outputs(self.client.get(self.poll(job)).json())


def _gateai(fake: Any, client: httpx2.Client) -> Api:
    return Api(
        fake,
        client,
        "/api/generate",
        {"model": "flux-schnell", "params": {"prompt": "a fox", "quantity": 1}},
        lambda job: f"/get/{job}",
        "task_id",
        lambda body: body["result"],
    )


def _kubeez(fake: Any, client: httpx2.Client) -> Api:
    return Api(
        fake,
        client,
        "/v1/generate/media",
        {"model": "Z-image", "prompt": "a fox", "generation_type": "text-to-image"},
        lambda job: f"/v1/generations/{job}",
        "generation_id",
        lambda body: [o["url"] for o in body["outputs"]],
    )


@pytest.fixture(params=["gateai", "kubeez"])
def api(request: pytest.FixtureRequest, start_fake: Callable[..., Any]) -> Iterator[Api]:
    fake = start_fake(request.param, processing_s=0.2)
    with connect(fake) as client:
        yield (_gateai if request.param == "gateai" else _kubeez)(fake, client)


def connect_errno(fake: FakeUpstream) -> int:
    """What a fresh TCP connect to the fake's port gets (0: connected)."""
    assert fake.server is not None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", fake.server.port))


def raw_exchange(fake: FakeUpstream, request: bytes) -> tuple[bytes, BaseException | None]:
    """Send raw HTTP/1.1 bytes; read until EOF or an error. Returns (bytes read, error)."""
    assert fake.server is not None
    data = b""
    with socket.create_connection(("127.0.0.1", fake.server.port), timeout=5) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError as exc:
            return data, exc
    return data, None


def http_request(api: Api, method: str, path: str, body: dict[str, Any] | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    headers = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {api.fake.api_key}",
        "Connection: close",
        f"Content-Length: {len(payload)}",
        "Content-Type: application/json",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + payload


def split_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


# --- answered instead of the endpoint -----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_on_submit_create_nothing(api: Api, status: Any) -> None:
    api.fake.inject("submit", status)
    answer = api.submit()
    assert answer.status_code == status
    assert api.fake.accepted_count == 0
    assert api.fake.requests("submit")[-1].fault == status
    assert api.submit().status_code == 200  # one use only
    assert api.fake.accepted_count == 1


def test_429_with_retry_after_in_seconds(api: Api) -> None:
    api.fake.inject("submit", "429_seconds", retry_after=3)
    answer = api.submit()
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3"
    assert answer.json()["error"] in ("RATE_LIMITED", "rate_limited")
    (event,) = api.fake.rate_limited
    assert (event.kind, event.reason, event.retry_after) == ("submit", "injected", "3")
    assert api.fake.retry_after_sent == ["3"]
    assert api.fake.accepted_count == 0


def test_429_with_retry_after_as_an_http_date(api: Api) -> None:
    api.fake.inject("poll", "429_date", retry_after=2)
    job = api.submit().json()[api.id_field]
    answer = api.client.get(api.poll(job))
    assert answer.status_code == 429
    when = email.utils.parsedate_to_datetime(answer.headers["Retry-After"])
    assert when.tzinfo is not None
    assert 2 <= when.timestamp() - time.time() <= 4
    assert api.client.get(api.poll(job)).status_code == 200


def test_faults_apply_times_times_then_stop(api: Api) -> None:
    job = api.submit().json()[api.id_field]
    api.fake.inject("poll", 502, times=2)
    codes = [api.client.get(api.poll(job)).status_code for _ in range(3)]
    assert codes == [502, 502, 200]
    assert api.fake.pending_faults() == []


# --- refused ------------------------------------------------------------------------------------


def test_refused_submit_is_a_real_connection_refusal(api: Api) -> None:
    assert api.client.get(api.poll("warm-up")).status_code == 404  # a pooled keep-alive conn
    api.fake.inject("submit", "refused", refuse_s=30)
    assert api.fake.refusing
    assert connect_errno(api.fake) == errno.ECONNREFUSED
    with pytest.raises(httpx2.ConnectError):
        api.submit()
    assert api.fake.accepted_count == 0
    api.fake.end_outage()
    assert not api.fake.refusing
    assert api.submit().status_code == 200
    assert api.fake.accepted_count == 1
    (outage,) = api.fake.outages
    assert outage.target == "submit" and outage.end - outage.start == pytest.approx(30)


def test_refused_poll_starts_right_after_the_accepted_submit(api: Api) -> None:
    api.fake.inject("poll", "refused", refuse_s=30)
    assert not api.fake.refusing and connect_errno(api.fake) == 0
    job = api.submit().json()[api.id_field]
    assert api.fake.refusing
    with pytest.raises(httpx2.ConnectError):
        api.client.get(api.poll(job))
    api.fake.end_outage()
    assert api.client.get(api.poll(job)).status_code == 200
    assert api.fake.accepted_count == 1


def test_refused_download_starts_when_outputs_are_reported(api: Api) -> None:
    api.fake.inject("download", "refused", refuse_s=30)
    (url,) = api.finished_outputs()
    assert api.fake.refusing
    with pytest.raises(httpx2.ConnectError):
        api.client.get(url)
    api.fake.end_outage()
    assert api.client.get(url).status_code == 200


def test_refused_validates_its_arguments(api: Api) -> None:
    with pytest.raises(ValueError, match="times=1"):
        api.fake.inject("submit", "refused", times=2)
    with pytest.raises(ValueError, match="unknown fault"):
        api.fake.inject("submit", 418)
    with pytest.raises(ValueError, match="unknown target"):
        api.fake.inject("polls", 500)


# --- the endpoint runs, the answer is spoiled ---------------------------------------------------


def test_timeout_after_accept_creates_the_job_and_withholds_the_answer(api: Api) -> None:
    api.fake.inject("submit", "timeout_after_accept", hold_s=30)
    with pytest.raises(httpx2.ReadTimeout):
        api.submit(timeout=httpx2.Timeout(5, read=0.3))
    assert api.fake.accepted_count == 1
    job = api.fake.accepted_submits()[0].job_id
    assert api.client.get(api.poll(job)).status_code == 200
    # The client gave up: the held request ends instead of waiting out hold_s.
    wait_for(lambda: api.fake.requests("submit")[0].done_at is not None)


def test_timeout_after_accept_answers_late_if_the_client_waits(api: Api) -> None:
    job = api.submit().json()[api.id_field]
    api.fake.inject("poll", "timeout_after_accept", hold_s=0.3)
    started = time.monotonic()
    answer = api.client.get(api.poll(job))
    assert answer.status_code == 200 and time.monotonic() - started >= 0.3


def test_reset_mid_body_sends_headers_and_half_the_body_then_a_tcp_reset(api: Api) -> None:
    api.fake.inject("submit", "reset_mid_body")
    data, error = raw_exchange(
        api.fake, http_request(api, "POST", api.submit_path, api.submit_body)
    )
    assert isinstance(error, ConnectionResetError)
    status, headers, body = split_response(data)
    assert status == 200
    assert 0 < len(body) < int(headers["content-length"])
    assert api.fake.accepted_count == 1


def test_reset_mid_body_is_a_transport_error_for_an_http_client(api: Api) -> None:
    api.fake.inject("submit", "reset_mid_body")
    with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
        api.submit()
    assert api.fake.accepted_count == 1
    assert api.submit().status_code == 200  # the client recovers on a new connection


def test_malformed_json_creates_the_job_and_answers_200_with_a_broken_body(api: Api) -> None:
    api.fake.inject("submit", "malformed_json")
    answer = api.submit()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert int(answer.headers["content-length"]) == len(answer.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)
    assert api.fake.accepted_count == 1


@pytest.mark.parametrize("fault", ["reset_mid_body", "malformed_json", 503])
def test_poll_faults_leave_the_job_alone(api: Api, fault: Any) -> None:
    job = api.submit().json()[api.id_field]
    api.fake.inject("poll", fault)
    with contextlib.suppress(httpx2.TransportError):
        api.client.get(api.poll(job))
    api.fake.finish(job)
    assert api.outputs(api.client.get(api.poll(job)).json())
    assert api.fake.accepted_count == 1


def test_download_faults_spoil_the_file(api: Api) -> None:
    (url,) = api.finished_outputs()
    good = api.client.get(url).content

    api.fake.inject("download", "malformed_json")
    corrupt = api.client.get(url)
    assert corrupt.status_code == 200 and corrupt.content == good[: len(good) // 2]
    with pytest.raises((UnidentifiedImageError, OSError)):
        Image.open(io.BytesIO(corrupt.content)).load()

    api.fake.inject("download", "reset_mid_body")
    with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
        api.client.get(url)

    api.fake.inject("download", 504)
    assert api.client.get(url).status_code == 504
    assert api.client.get(url).content == good


def test_stopping_ends_a_held_answer_at_once(start_fake: Callable[..., Any]) -> None:
    fake = start_fake("gateai")
    fake.inject("submit", "timeout_after_accept", hold_s=120)
    sock = socket.create_connection(("127.0.0.1", fake.server.port), timeout=5)
    with sock:
        api = _gateai(fake, connect(fake))
        sock.sendall(http_request(api, "POST", "/api/generate", api.submit_body))
        wait_for(lambda: fake.accepted_count == 1)
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 5  # not the 120 s hold
        api.client.close()


# --- the request log ----------------------------------------------------------------------------


def test_request_log_records_kinds_keys_statuses_and_faults(api: Api) -> None:
    api.fake.inject("poll", "429_seconds", retry_after=1)
    job = api.submit().json()[api.id_field]
    api.client.get(api.poll(job))
    api.fake.finish(job)
    (url,) = api.outputs(api.client.get(api.poll(job)).json())
    api.client.get(url)
    log = api.fake.requests()
    assert [(r.kind, r.status, r.fault) for r in log] == [
        ("submit", 200, None),
        ("poll", 429, "429_seconds"),
        ("poll", 200, None),
        ("download", 200, None),
    ]
    assert all(r.key == api.fake.api_key for r in log[:3])
    assert log[1].retry_after == "1"
    assert all(a.at <= b.at for a, b in itertools.pairwise(log))
    wait_for(lambda: api.fake.requests()[-1].done_at is not None)  # set after the answer
    assert all(r.done_at is not None and r.done_at >= r.at for r in api.fake.requests())
    assert [r.kind for r in api.fake.requests("poll")] == ["poll", "poll"]
