"""Local files, data: URIs and own media URLs as inputs: allowed folders, symlinks, sniffing."""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from mediagate.errors import MediagateError
from mediagate.media.local_inputs import (
    DATA_URI_MAX_BYTES,
    Materialized,
    check_allowed,
    decode_data_uri,
    local_path,
    materialize,
    own_media_path,
    sniff,
)
from mediagate.media.store import MediaStore
from mediagate.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 16


@dataclass
class FakeServices:
    """The parts of ``Services`` input handling uses."""

    settings: Settings
    media: MediaStore
    prefixes: tuple[str, ...] = field(default=())

    def trusted_url_prefixes(self) -> tuple[str, ...]:
        return (self.media.root.resolve().as_uri() + "/", *self.prefixes)


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    return folder


def services_for(tmp_path: Path, *allowed_dirs: Path) -> FakeServices:
    settings = Settings(data_dir=tmp_path / "data", allowed_dirs=list(allowed_dirs))
    media = MediaStore(tmp_path / "data" / "media", base_url="http://127.0.0.1:8000")
    media.ensure()
    return FakeServices(settings, media, ("http://127.0.0.1:8000/media/",))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, ("image", "image/png", "png")),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ("image", "image/jpeg", "jpg")),
        (b"GIF89a\x01\x00\x01\x00", ("image", "image/gif", "gif")),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ("image", "image/webp", "webp")),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", ("audio", "audio/wav", "wav")),
        (MP4, ("video", "video/mp4", "mp4")),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", ("video", "video/quicktime", "mov")),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00", ("audio", "audio/mp4", "m4a")),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", ("image", "image/avif", "avif")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", ("video", "video/webm", "webm")),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x82\x88matroska", ("video", "video/x-matroska", "mkv")),
        (b"OggS\x00\x02", ("audio", "audio/ogg", "ogg")),
        (b"fLaC\x00\x00\x00\x22", ("audio", "audio/flac", "flac")),
        (b"ID3\x04\x00", ("audio", "audio/mpeg", "mp3")),
        (b"\xff\xfb\x90\x64", ("audio", "audio/mpeg", "mp3")),
        (b"\xff\xf1\x50\x80", ("audio", "audio/aac", "aac")),
    ],
)
def test_sniff_recognises_media(head: bytes, expected: tuple[str, str, str]) -> None:
    found = sniff(head)
    assert found is not None
    assert (found.media_type, found.mime_type, found.extension) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"-----BEGIN OPENSSH PRIVATE KEY-----",
        b"\x7fELF\x02\x01\x01",
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n",
        b"ffconcat version 1.0\nfile /etc/passwd\n",
        b"[core]\n\trepositoryformatversion = 0",
        b"RIFF\x00\x00\x00\x00AVI LIST",
    ],
)
def test_sniff_refuses_everything_else(head: bytes) -> None:
    assert sniff(head) is None


def test_local_files_are_refused_unless_allowed_dirs_is_set(tmp_path: Path) -> None:
    with pytest.raises(MediagateError) as caught:
        check_allowed(tmp_path / "a.mp4", [], field="path")
    assert caught.value.code == "unsafe_source_url"
    assert "MEDIAGATE_ALLOWED_DIRS" in caught.value.message
    assert "MEDIAGATE_ALLOWED_DIRS" in caught.value.details["hint"]


def test_allowed_dirs_are_checked_after_resolving_symlinks(tmp_path: Path, allowed: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    (allowed / "clip.png").write_bytes(PNG)
    (allowed / "escape.png").symlink_to(outside / "secret.png")
    (allowed / "dir-escape").symlink_to(outside)
    (outside / "inward.png").symlink_to(allowed / "clip.png")

    assert check_allowed(allowed / "clip.png", [allowed], field="p") == allowed / "clip.png"
    # A link from outside to a file inside names an allowed file.
    assert check_allowed(outside / "inward.png", [allowed], field="p") == allowed / "clip.png"
    for sneaky in (
        allowed / "escape.png",
        allowed / "dir-escape" / "secret.png",
        allowed / ".." / "outside" / "secret.png",
        outside / "secret.png",
    ):
        with pytest.raises(MediagateError) as caught:
            check_allowed(sneaky, [allowed], field="p")
        assert caught.value.code == "unsafe_source_url", sneaky
        assert caught.value.details["allowed"] == [str(allowed)]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("/data/a b.mp4", "/data/a b.mp4"),
        ("file:///data/a%20b.mp4", "/data/a b.mp4"),
        ("FILE:///data/x.mp4", "/data/x.mp4"),
        ("file://localhost/data/x.mp4", "/data/x.mp4"),
    ],
)
def test_local_path_forms(ref: str, expected: str) -> None:
    assert local_path(ref, field="p") == Path(expected)


@pytest.mark.parametrize(
    "ref", ["file://fileserver/share/a.mp4", "file:relative.mp4", "/data/a\x00.mp4"]
)
def test_local_path_refusals(ref: str) -> None:
    with pytest.raises(MediagateError) as caught:
        local_path(ref, field="p")
    assert caught.value.code == "unsafe_source_url"


async def test_materialize_copies_an_allowed_file_into_uploads(
    tmp_path: Path, allowed: Path
) -> None:
    services = services_for(tmp_path, allowed)
    source = allowed / "holiday clip.mp4"
    source.write_bytes(MP4 + os.urandom(3 * 1024 * 1024))
    found = await materialize("file://" + quote(str(source)), services)
    assert isinstance(found, Materialized) and found.copied
    assert found.path.parent == services.media.root / "uploads"
    assert found.path.suffix == ".mp4" and found.sniffed.media_type == "video"
    assert found.path.read_bytes() == source.read_bytes()
    assert found.size_bytes == source.stat().st_size
    assert not list(found.path.parent.glob(".*.part"))


async def test_materialize_refuses_non_media_and_special_files(
    tmp_path: Path, allowed: Path
) -> None:
    services = services_for(tmp_path, allowed)
    (allowed / "id_rsa").write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (allowed / "notes.mp4").write_bytes(b"just text named like a video")
    os.mkfifo(allowed / "pipe.mp4")
    (allowed / "folder.mp4").mkdir()
    (allowed / "big.png").write_bytes(PNG + bytes(2000))
    cases = {
        "id_rsa": "unsafe_source_url",
        "notes.mp4": "unsafe_source_url",
        "pipe.mp4": "source_fetch_failed",  # opened without blocking, refused as not a file
        "folder.mp4": "source_fetch_failed",
        "missing.mp4": "source_fetch_failed",
    }
    for name, code in cases.items():
        with pytest.raises(MediagateError) as caught:
            await materialize(str(allowed / name), services)
        assert caught.value.code == code, name
    with pytest.raises(MediagateError) as caught:
        await materialize(str(allowed / "big.png"), services, max_bytes=1000)
    assert caught.value.code == "source_too_large"
    assert not list((services.media.root / "uploads").iterdir())


async def test_materialize_data_uris(tmp_path: Path) -> None:
    services = services_for(tmp_path)  # no allowed dirs needed for data: URIs
    encoded = base64.b64encode(PNG).decode()
    found = await materialize(f"data:image/png;base64,{encoded}", services)
    assert found.path.read_bytes() == PNG and found.path.suffix == ".png"
    # The declared type does not matter; the content does.
    found = await materialize(f"data:text/plain;base64,{encoded}", services)
    assert found.sniffed.mime_type == "image/png"
    percent = "data:," + quote(PNG)
    assert (await materialize(percent, services)).path.read_bytes() == PNG
    bad = {
        "data:image/png;base64,@@@@": "invalid_arguments",
        "data:image/png;base64" + encoded: "invalid_arguments",
        "data:text/plain;base64," + base64.b64encode(b"hello world").decode(): "unsafe_source_url",
    }
    for ref, code in bad.items():
        with pytest.raises(MediagateError) as caught:
            await materialize(ref, services)
        assert caught.value.code == code, ref
        assert len(str(caught.value.payload)) < 2000  # a huge URI is never echoed back


def test_data_uris_are_capped_before_decoding() -> None:
    huge = "data:image/png;base64," + "A" * (DATA_URI_MAX_BYTES // 3 * 4 + 400)
    with pytest.raises(MediagateError) as caught:
        decode_data_uri(huge, field="path")
    assert caught.value.code == "source_too_large"
    assert caught.value.details["max_bytes"] == DATA_URI_MAX_BYTES
    exactly = base64.b64encode(PNG + bytes(1000)).decode()
    assert len(decode_data_uri(f"data:;base64,{exactly}", field="p", max_bytes=1048)) == 1048
    with pytest.raises(MediagateError):
        decode_data_uri(f"data:;base64,{exactly}", field="p", max_bytes=1047)


async def test_own_media_urls_resolve_in_place(tmp_path: Path) -> None:
    services = services_for(tmp_path)
    folder = services.media.folder("gen_1")
    (folder / "video.mp4").write_bytes(MP4)
    for url in (
        (folder / "video.mp4").as_uri(),
        "http://127.0.0.1:8000/media/gen_1/video.mp4",
        "http://127.0.0.1:8000/media/gen_1/video.mp4?download=1",
    ):
        assert own_media_path(url, services, field="u") == folder / "video.mp4"
        found = await materialize(url, services)
        assert not found.copied and found.path == folder / "video.mp4"
    assert own_media_path("https://example.com/media/gen_1/video.mp4", services, field="u") is None
    for gone in (
        "http://127.0.0.1:8000/media/gen_1/missing.mp4",
        "http://127.0.0.1:8000/media/../jobs.sqlite3",
    ):
        with pytest.raises(MediagateError) as caught:
            own_media_path(gone, services, field="u")
        assert caught.value.code == "source_fetch_failed"


async def test_materialize_refuses_remote_urls_and_other_schemes(tmp_path: Path) -> None:
    services = services_for(tmp_path, tmp_path)
    for ref in ("https://example.com/a.png", "ftp://example.com/a.png", "relative/a.png"):
        with pytest.raises(MediagateError) as caught:
            await materialize(ref, services)
        assert caught.value.code == "unsafe_source_url"


def test_mp4_fixture_is_a_real_ftyp_box() -> None:
    size, kind = struct.unpack(">I4s", MP4[:8])
    assert kind == b"ftyp" and size == 32
