"""Helpers for the fakes' own tests: clients, a bounded wait and one-line submits."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import httpx2

from fakes.base import FakeUpstream

T = TypeVar("T")
DEADLINE_S = 10.0
_FAKE_KEY = "<the fake's key>"


@cache
def tls() -> ssl.SSLContext:
    """One TLS context for every client: building one per client costs ~50 ms."""
    return ssl.create_default_context()


def connect(fake: FakeUpstream, key: str | None = _FAKE_KEY, **kwargs: Any) -> httpx2.Client:
    """A client for ``fake`` sending ``Bearer <key>`` (the fake's own key; None: no header)."""
    key = fake.api_key if key == _FAKE_KEY else key
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    kwargs.setdefault("timeout", 10)
    return httpx2.Client(base_url=fake.url, headers=headers, verify=tls(), **kwargs)


def wait_for(probe: Callable[[], T | None], timeout: float = DEADLINE_S) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.01)


def gateai_submit(client: httpx2.Client, model: str = "flux-schnell", **params: Any) -> Any:
    """POST /api/generate with a prompt (unless given) and return the response."""
    params.setdefault("prompt", "a lighthouse at dusk")
    return client.post("/api/generate", json={"model": model, "params": params})


def kubeez_submit(client: httpx2.Client, model: str = "Z-image", **fields: Any) -> Any:
    """POST /v1/generate/media with a prompt (unless given) and return the response."""
    fields.setdefault("prompt", "a lighthouse at dusk")
    return client.post("/v1/generate/media", json={"model": model, **fields})
