"""Fixtures for the upstream driver tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from mediagate.media.store import MediaStore

from .helpers import FileServer, file_server


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    store = MediaStore(tmp_path / "media")
    store.ensure()
    return store


@pytest.fixture
def files(tmp_path: Path) -> Iterator[FileServer]:
    """A loopback server with ``out.png`` (64×48), ``model.glb`` and ``big.bin`` (200 kB)."""
    root = tmp_path / "served"
    root.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(root / "out.png")
    (root / "model.glb").write_bytes(b"glTF" + b"\x02\x00\x00\x00" + b"\x00" * 200)
    (root / "big.bin").write_bytes(b"\x00" * 200_000)
    with file_server(root) as server:
        yield server
