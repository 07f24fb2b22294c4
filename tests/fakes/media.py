"""Real, tiny media files for the fakes' output URLs.

Every file is a valid member of its format (a PNG decodes, an MP4 has an H.264 stream that
PyAV can probe, a GLB is a well-formed glTF 2.0 binary), but small: outputs keep the aspect ratio
the caller asked for, with a long edge of ``LONG_EDGE`` pixels. Files are built on first use and
cached per shape, so a bench with a thousand generations encodes a handful of files.
"""

from __future__ import annotations

import io
import json
import struct
import threading
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache

LONG_EDGE = 64
VIDEO_FPS = 8

MIME_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "glb": "model/gltf-binary",
}

_lock = threading.Lock()


def small_dims(
    width: int | None, height: int | None, long_edge: int = LONG_EDGE
) -> tuple[int, int]:
    """``(w, h)`` with the aspect of ``width``×``height``, long edge ``long_edge``, both even."""
    if not width or not height or width <= 0 or height <= 0:
        width, height = 1, 1
    scale = long_edge / max(width, height)
    w = max(2, round(width * scale / 2) * 2)
    h = max(2, round(height * scale / 2) * 2)
    return w, h


def aspect_dims(aspect_ratio: str | None, long_edge: int = LONG_EDGE) -> tuple[int, int]:
    """Small dimensions for an ``"16:9"``-style ratio (anything else is square)."""
    try:
        a, b = (float(part) for part in (aspect_ratio or "").split(":"))
    except ValueError:
        a, b = 1.0, 1.0
    if a <= 0 or b <= 0:
        a, b = 1.0, 1.0
    return small_dims(round(a * 1000), round(b * 1000), long_edge)


def _cached(build: Callable[..., bytes]) -> Callable[..., bytes]:
    cached = lru_cache(maxsize=128)(build)

    def get(*args: object) -> bytes:
        # One encoder at a time: concurrent first downloads of a shape build it once.
        with _lock:
            return cached(*args)

    get.__doc__ = build.__doc__
    return get


def _picture(width: int, height: int, colour: tuple[int, int, int]) -> object:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=(250, 250, 250))
    return image


@_cached
def image_bytes(fmt: str, width: int, height: int) -> bytes:
    """A ``width``×``height`` still as ``png``, ``jpeg``/``jpg`` or ``webp``."""
    pil_format = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    buf = io.BytesIO()
    _picture(width, height, (40, 90, 160)).save(buf, format=pil_format)  # type: ignore[attr-defined]
    return buf.getvalue()


@_cached
def video_bytes(width: int, height: int, duration_s: float) -> bytes:
    """An H.264 MP4 of ``duration_s`` seconds (at least one frame) at ``VIDEO_FPS``."""
    import av
    from PIL import Image

    frames = max(1, round(duration_s * VIDEO_FPS))
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, VIDEO_FPS)
        for i in range(frames):
            shade = 40 + (i * 180) // frames
            picture = _picture(width, height, (shade, 60, 200 - shade // 2))
            assert isinstance(picture, Image.Image)
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


@lru_cache(maxsize=1)
def glb_bytes() -> bytes:
    """A glTF 2.0 binary holding one triangle (a valid, minimal 3D model)."""
    positions = struct.pack("<9f", 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    gltf = {
        "asset": {"version": "2.0", "generator": "mediagate test fake"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "buffers": [{"byteLength": len(positions)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(positions)}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 3,
                "type": "VEC3",
                "min": [0.0, 0.0, 0.0],
                "max": [1.0, 1.0, 0.0],
            }
        ],
    }
    json_chunk = json.dumps(gltf, separators=(",", ":")).encode()
    json_chunk += b" " * (-len(json_chunk) % 4)
    bin_chunk = positions + b"\x00" * (-len(positions) % 4)
    body = (
        struct.pack("<I4s", len(json_chunk), b"JSON")
        + json_chunk
        + struct.pack("<I4s", len(bin_chunk), b"BIN\x00")
        + bin_chunk
    )
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def render(fmt: str, width: int, height: int, duration_s: float = 0.0) -> bytes:
    """The bytes of one output file in ``fmt`` (an image format, ``mp4`` or ``glb``)."""
    if fmt == "glb":
        return glb_bytes()
    if fmt == "mp4":
        return video_bytes(width, height, duration_s)
    return image_bytes(fmt, width, height)
