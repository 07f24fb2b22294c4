"""Running the fakes: threads and sockets are released, async and subprocess use work."""

from __future__ import annotations

import errno
import io
import json
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image

from fakes import FakeGateAI, FakeKubeez, media
from fakes.drive import connect, tls, wait_for

SERVE = Path(__file__).with_name("serve.py")


@pytest.fixture
def fake_gateai_options() -> dict[str, Any]:
    return {"processing_s": 0.1, "window_max": 2, "api_keys": ["sk-one", "sk-two"]}


def test_fixture_options_configure_the_fake(fake_gateai: FakeGateAI) -> None:
    assert fake_gateai.window.max_events == 2 and fake_gateai.processing_s == 0.1
    assert fake_gateai.api_key == "sk-one"
    assert fake_gateai.env() == {
        "MEDIAGATE_GATEAI_API_KEY": "sk-one",
        "MEDIAGATE_GATEAI_BASE_URL": fake_gateai.url,
    }


def test_stop_releases_the_thread_and_the_port() -> None:
    fake = FakeKubeez().start()
    assert fake.server is not None
    port, threads = fake.server.port, set(threading.enumerate())
    with connect(fake, None) as client:
        assert client.get("/v1/models").status_code == 401  # served
        fake.stop()
    assert not any(t.name == f"fake-upstream-{port}" for t in threading.enumerate())
    assert set(threading.enumerate()) <= threads
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED
    fake.stop()  # idempotent


def test_stop_during_an_outage_does_not_relisten() -> None:
    with FakeGateAI() as fake:
        fake.inject("models", "refused", refuse_s=0.1)
        assert fake.server is not None
        port = fake.server.port
    time.sleep(0.2)  # past the outage: the cancelled re-listen must stay cancelled
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


async def test_fakes_serve_async_clients(fake_gateai: FakeGateAI) -> None:
    headers = {"Authorization": f"Bearer {fake_gateai.api_key}"}
    async with httpx2.AsyncClient(
        base_url=fake_gateai.url, headers=headers, verify=tls()
    ) as client:
        body = {"model": "flux-schnell", "params": {"prompt": "a fox", "quantity": 1}}
        task = (await client.post("/api/generate", json=body)).json()
        fake_gateai.finish(task["task_id"])
        done = (await client.get(task["url"])).json()
        image = await client.get(done["result"][0])
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.format == "JPEG"


def test_a_fake_runs_as_its_own_process() -> None:
    process = subprocess.Popen(
        [sys.executable, str(SERVE), "gateai", "--port", "0", "--processing-s", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        url = _announced_url(process.stderr)
        models = httpx2.get(url + "/v1/models", timeout=10, verify=tls()).json()
        assert any(m["id"] == "seedance-2.0" for m in models)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def _announced_url(stream: Any, timeout: float = 30.0) -> str:
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    text = b""
    deadline = time.monotonic() + timeout
    try:
        while b"listening at " not in text or not text.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no announcement in {timeout}s: {text!r}"
            if selector.select(remaining):
                chunk = stream.read1(4096)
                assert chunk, f"the fake exited: {text!r}"
                text += chunk
    finally:
        selector.close()
    line = next(x for x in text.decode().splitlines() if "listening at " in x)
    return line.split("listening at ", 1)[1].split()[0]


# --- media --------------------------------------------------------------------------------------


def test_small_dims_keep_the_aspect_with_even_sides() -> None:
    assert media.small_dims(1920, 1080) == (64, 36)
    assert media.small_dims(1080, 1920) == (36, 64)
    assert media.small_dims(None, 0) == (64, 64)
    assert media.aspect_dims("21:9") == (64, 28)
    assert media.aspect_dims("auto") == (64, 64)


def test_glb_is_a_well_formed_gltf_binary() -> None:
    data = media.glb_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_length, json_type = struct.unpack("<I4s", data[12:20])
    assert json_type == b"JSON" and json_length % 4 == 0
    gltf = json.loads(data[20 : 20 + json_length])
    assert gltf["asset"]["version"] == "2.0"
    bin_length, bin_type = struct.unpack("<I4s", data[20 + json_length : 28 + json_length])
    assert bin_type == b"BIN\x00" and bin_length >= gltf["buffers"][0]["byteLength"]


def test_refused_outage_reopens_the_same_port(fake_kubeez: FakeKubeez) -> None:
    assert fake_kubeez.server is not None
    port = fake_kubeez.server.port
    fake_kubeez.inject("models", "refused", refuse_s=0.2)
    wait_for(lambda: not fake_kubeez.refusing)
    assert fake_kubeez.url.endswith(f":{port}")
    with connect(fake_kubeez, None) as client:
        assert client.get("/v1/models").status_code == 401
