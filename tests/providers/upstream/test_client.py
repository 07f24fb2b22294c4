"""The provider's HTTP sender: answers, failure classification, deadline, breaker accounting."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx2
import pytest

from mediagate.providers.upstream.adapter import HttpCall
from mediagate.providers.upstream.breaker import BreakerOpen, CircuitBreaker
from mediagate.providers.upstream.client import Timeouts, TransportFailure, UpstreamHttp
from mediagate.providers.upstream.retry import RetryPolicy

from .helpers import FakeTime


def _http(
    handler: Any,
    *,
    threshold: int = 5,
    total_s: float = 5.0,
    base: str = "https://api.x.test/v2",
    max_answer_bytes: int = 1 << 20,
) -> UpstreamHttp:
    return UpstreamHttp(
        name="tiny",
        base_url=base,
        headers={"Authorization": "Bearer k"},
        timeouts=Timeouts(total_s=total_s),
        breaker=CircuitBreaker("tiny", threshold=threshold, cooldown_s=60),
        transport=httpx2.MockTransport(handler) if handler is not None else None,
        max_answer_bytes=max_answer_bytes,
    )


async def test_answer_carries_parsed_json_and_retry_after() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(429, json={"error": "slow"}, headers={"Retry-After": "3"})

    http = _http(handler)
    answer = await http.send(HttpCall("POST", "/jobs", json={"a": 1}, params={"q": "x"}))
    await http.aclose()
    assert answer.status_code == 429 and not answer.ok
    assert answer.body == {"error": "slow"}
    assert answer.retry_after_s == 3.0
    request = seen[0]
    assert str(request.url) == "https://api.x.test/v2/jobs?q=x"
    assert request.headers["authorization"] == "Bearer k"
    assert request.content == b'{"a":1}'


async def test_non_json_bodies_arrive_as_text_and_empty_as_none() -> None:
    bodies = iter([httpx2.Response(200, text="<html>hi</html>"), httpx2.Response(204)])
    http = _http(lambda r: next(bodies))
    assert (await http.send(HttpCall("GET", "/a"))).body == "<html>hi</html>"
    assert (await http.send(HttpCall("GET", "/a"))).body is None
    await http.aclose()


async def test_the_client_ignores_proxy_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    http = _http(None)
    assert http.client.trust_env is False
    await http.aclose()


async def test_refused_connect_is_not_sent_and_counts_against_the_breaker() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    http = _http(handler, threshold=2)
    for _ in range(2):
        with pytest.raises(TransportFailure) as caught:
            await http.send(HttpCall("POST", "/jobs", creates=True))
        assert caught.value.delivery == "not_sent"
    with pytest.raises(BreakerOpen):
        await http.send(HttpCall("POST", "/jobs", creates=True))


async def test_a_real_refused_connection_is_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = _http(None, base=f"http://127.0.0.1:{port}")
    with pytest.raises(TransportFailure) as caught:
        await http.send(HttpCall("POST", "/jobs", creates=True))
    await http.aclose()
    assert caught.value.delivery == "not_sent"


async def test_a_server_that_takes_the_request_and_never_answers_is_ambiguous() -> None:
    got_request = asyncio.Event()
    release = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await reader.readuntil(b"\r\n\r\n")
            got_request.set()
            await release.wait()
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    http = _http(None, base=f"http://127.0.0.1:{port}", total_s=0.3)
    try:
        with pytest.raises(TransportFailure) as caught:
            await http.send(HttpCall("POST", "/jobs", json={}, creates=True))
    finally:
        await http.aclose()
        release.set()
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), 5)
        server.close()
        await server.wait_closed()
    assert got_request.is_set()
    assert caught.value.delivery == "ambiguous"


async def test_read_timeout_and_reset_are_ambiguous() -> None:
    for exc_type in (httpx2.ReadTimeout, httpx2.ReadError):

        def handler(request: httpx2.Request, exc_type: Any = exc_type) -> httpx2.Response:
            raise exc_type("gone", request=request)

        http = _http(handler)
        with pytest.raises(TransportFailure) as caught:
            await http.send(HttpCall("POST", "/jobs"))
        assert caught.value.delivery == "ambiguous"


async def test_the_overall_deadline_ends_a_hanging_call() -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(30)
        return httpx2.Response(200)

    http = _http(handler, total_s=0.05)
    with pytest.raises(TransportFailure) as caught:
        await asyncio.wait_for(http.send(HttpCall("GET", "/slow")), 5)
    assert caught.value.delivery == "ambiguous"
    assert isinstance(caught.value.cause, TimeoutError)


async def test_an_oversized_answer_is_refused_as_unreadable() -> None:
    http = _http(lambda r: httpx2.Response(200, content=b"x" * 5000), max_answer_bytes=1000)
    with pytest.raises(TransportFailure) as caught:
        await http.send(HttpCall("GET", "/big"))
    assert caught.value.delivery == "ambiguous"


async def test_5xx_answers_open_the_breaker_but_4xx_do_not() -> None:
    statuses = iter([400, 404, 429, 503, 503])
    http = _http(lambda r: httpx2.Response(next(statuses)), threshold=2)
    for _ in range(3):
        await http.send(HttpCall("GET", "/x"))
    assert http.breaker.state == "closed"
    await http.send(HttpCall("GET", "/x"))
    await http.send(HttpCall("GET", "/x"))
    assert http.breaker.state == "open"


async def test_read_retries_transient_answers_honouring_retry_after() -> None:
    answers = iter(
        [
            httpx2.Response(503, headers={"Retry-After": "4"}),
            httpx2.Response(500),
            httpx2.Response(200, json={"ok": True}),
        ]
    )
    clock = FakeTime()
    http = _http(lambda r: next(answers))
    answer = await http.read(
        HttpCall("GET", "/x"), retry=RetryPolicy(base_s=0.1), attempts=5, sleep=clock.sleep
    )
    assert answer is not None and answer.body == {"ok": True}
    assert clock.sleeps[0] >= 4.0


async def test_read_gives_up_after_its_attempts() -> None:
    clock = FakeTime()
    http = _http(lambda r: httpx2.Response(502))
    answer = await http.read(
        HttpCall("GET", "/x"), retry=RetryPolicy(base_s=0.1), attempts=3, sleep=clock.sleep
    )
    assert answer is None
    assert len(clock.sleeps) == 2
