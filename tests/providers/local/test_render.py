import itertools
import os
import pickle
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from fractions import Fraction
from io import BytesIO
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from mediagate.providers.local.render import ImageFormat, render_image, render_video

MAGIC = {"png": (b"\x89PNG\r\n\x1a\n", "PNG"), "jpeg": (b"\xff\xd8\xff", "JPEG")}


def decode(data: bytes) -> Image.Image:
    return Image.open(BytesIO(data)).convert("RGB")


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def channel_means(image: Image.Image) -> list[float]:
    return ImageStat.Stat(image.convert("RGB")).mean


def solid_png(color: tuple[int, int, int], size: tuple[int, int] = (200, 200)) -> bytes:
    buf = BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Probe:
    codec: str
    pix_fmt: str | None
    size: tuple[int, int]
    rate: Fraction | None
    video_duration: float
    frames: list[Image.Image]
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None
    audio_duration: float | None = None


def seconds(stream: av.stream.Stream) -> float:
    assert stream.duration is not None and stream.time_base is not None
    return float(stream.duration * stream.time_base)


def probe(path: Path) -> Probe:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        found = Probe(
            codec=video.codec_context.name,
            pix_fmt=video.codec_context.pix_fmt,
            size=(video.codec_context.width, video.codec_context.height),
            rate=video.average_rate,
            video_duration=seconds(video),
            frames=[frame.to_image() for frame in container.decode(video=0)],  # type: ignore[no-untyped-call]
        )
        if container.streams.audio:
            audio = container.streams.audio[0]
            found.audio_codec = audio.codec_context.name
            found.audio_rate = audio.rate
            found.audio_channels = audio.layout.nb_channels
            found.audio_duration = seconds(audio)
        return found


@pytest.mark.parametrize(
    ("width", "height"), [(1024, 1024), (1280, 720), (720, 1280), (1344, 576), (16, 16)]
)
def test_image_has_exactly_the_requested_size(width: int, height: int) -> None:
    data = render_image(prompt="a lighthouse on a cliff", seed=1, width=width, height=height)
    assert Image.open(BytesIO(data)).size == (width, height)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_image_is_encoded_in_the_requested_format(fmt: ImageFormat) -> None:
    data = render_image(prompt="a cat", seed=3, width=320, height=240, fmt=fmt)
    if fmt == "webp":
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        pillow_format = "WEBP"
    else:
        magic, pillow_format = MAGIC[fmt]
        assert data.startswith(magic)
    with Image.open(BytesIO(data)) as image:
        assert image.format == pillow_format
        assert image.size == (320, 240)


def test_same_arguments_give_identical_png_bytes() -> None:
    first = render_image(prompt="a quiet harbour at dusk", seed=42, width=400, height=300)
    again = render_image(prompt="a quiet harbour at dusk", seed=42, width=400, height=300)
    assert first == again


def test_different_prompts_give_visibly_different_images() -> None:
    a = decode(render_image(prompt="a cat", seed=1, width=256, height=256))
    b = decode(render_image(prompt="a dog", seed=1, width=256, height=256))
    assert mean_abs_diff(a, b) > 15


def test_different_seeds_give_visibly_different_images() -> None:
    a = decode(render_image(prompt="a cat", seed=1, width=256, height=256))
    b = decode(render_image(prompt="a cat", seed=2, width=256, height=256))
    assert mean_abs_diff(a, b) > 15


def test_colour_named_in_prompt_steers_the_palette() -> None:
    reds = channel_means(decode(render_image(prompt="red", seed=7, width=128, height=128)))
    blues = channel_means(decode(render_image(prompt="blue", seed=7, width=128, height=128)))
    assert reds[0] > reds[2] and blues[2] > blues[0]


def test_image_to_image_starts_from_the_source_and_differs_from_text_to_image() -> None:
    red = solid_png((220, 20, 20))
    for seed in range(4):
        t2i = decode(render_image(prompt="anything blue", seed=seed, width=256, height=256))
        i2i = decode(
            render_image(prompt="anything blue", seed=seed, width=256, height=256, source=red)
        )
        r, g, b = channel_means(i2i)
        assert r - max(g, b) > 40, (seed, r, g, b)
        assert mean_abs_diff(i2i, t2i) > 15


def test_image_to_image_treats_the_source_visibly() -> None:
    grey = (128, 128, 128)
    out = decode(render_image(prompt="neon", seed=5, width=256, height=256, source=solid_png(grey)))
    assert mean_abs_diff(out, Image.new("RGB", (256, 256), grey)) > 10


def test_image_to_image_cover_crops_the_source() -> None:
    # A 3:1 source in blue | red | green thirds: cover-cropping to a square keeps the red middle.
    source = Image.new("RGB", (300, 100), (20, 20, 220))
    source.paste((220, 20, 20), (100, 0, 200, 100))
    source.paste((20, 220, 20), (200, 0, 300, 100))
    buf = BytesIO()
    source.save(buf, "JPEG")
    out = decode(render_image(prompt="p", seed=1, width=256, height=256, source=buf.getvalue()))
    r, g, b = channel_means(out)
    assert r - max(g, b) > 40


def test_undecodable_source_falls_back_to_text_to_image() -> None:
    plain = render_image(prompt="a kite", seed=9, width=200, height=120)
    fallback = render_image(prompt="a kite", seed=9, width=200, height=120, source=b"not an image")
    assert fallback == plain


def png_header_only(width: int, height: int) -> bytes:
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


@pytest.mark.parametrize("side", [12_000, 30_000])  # Pillow warns above 89 MP, refuses above 178
def test_decompression_bomb_source_falls_back_to_text_to_image(side: int) -> None:
    plain = render_image(prompt="a kite", seed=9, width=200, height=120)
    bomb = png_header_only(side, side)
    assert render_image(prompt="a kite", seed=9, width=200, height=120, source=bomb) == plain


@pytest.mark.parametrize(
    "prompt", ["", "   ", "x" * 3000, "supercalifragilistic" * 20, "emoji 🎨 and 漢字 text"]
)
def test_awkward_prompts_still_render(prompt: str) -> None:
    for width, height in [(64, 64), (300, 80)]:
        data = render_image(prompt=prompt, seed=0, width=width, height=height)
        assert Image.open(BytesIO(data)).size == (width, height)


@pytest.mark.parametrize(("width", "height"), [(15, 100), (100, 15), (8193, 100), (0, 0)])
def test_image_rejects_out_of_range_sizes(width: int, height: int) -> None:
    with pytest.raises(ValueError, match=r"16\.\.8192"):
        render_image(prompt="p", seed=1, width=width, height=height)


def test_image_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="fmt"):
        render_image(prompt="p", seed=1, width=64, height=64, fmt="gif")  # type: ignore[arg-type]


def test_video_is_h264_yuv420p_at_the_requested_rate_and_length(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    info = render_video(
        path=str(path), prompt="a comet", seed=1, width=320, height=180, duration_s=2
    )
    found = probe(path)
    assert found.codec == "h264"
    assert found.pix_fmt == "yuv420p"
    assert found.size == (320, 180)
    assert found.rate == Fraction(24)
    assert abs(len(found.frames) - 48) <= 1
    assert abs(found.video_duration - 2.0) <= 1 / 24
    assert found.audio_codec is None
    assert info["has_audio"] is False
    assert info["width"] == 320 and info["height"] == 180
    assert info["fps"] == 24 and info["duration_s"] == 2.0
    assert info["mime_type"] == "video/mp4"
    assert info["size_bytes"] == path.stat().st_size > 0


def test_video_honours_a_custom_frame_rate(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    info = render_video(
        path=str(path), prompt="p", seed=2, width=160, height=90, duration_s=1, fps=30
    )
    found = probe(path)
    assert found.rate == Fraction(30)
    assert len(found.frames) == 30
    assert info["fps"] == 30


def test_video_reports_the_duration_it_actually_has(tmp_path: Path) -> None:
    # 1.01 s at 24 fps rounds to 24 frames, so the file (and the report) is exactly 1 s long.
    path = tmp_path / "clip.mp4"
    info = render_video(path=str(path), prompt="p", seed=3, width=160, height=90, duration_s=1.01)
    assert info["duration_s"] == 1.0
    assert len(probe(path).frames) == 24


def test_video_has_aac_stereo_48k_audio_of_the_same_duration_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    info = render_video(
        path=str(path), prompt="p", seed=4, width=320, height=180, duration_s=2.5, audio=True
    )
    found = probe(path)
    assert info["has_audio"] is True
    assert found.audio_codec == "aac"
    assert found.audio_rate == 48_000
    assert found.audio_channels == 2
    assert found.audio_duration is not None and abs(found.audio_duration - 2.5) <= 0.1
    assert abs(len(found.frames) - 60) <= 1


def test_video_audio_is_audible_but_quiet(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    render_video(path=str(path), prompt="p", seed=5, width=160, height=90, duration_s=1, audio=True)
    peak = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for plane in frame.planes:  # fltp: one float32 plane per channel
                view = memoryview(plane).cast("f")
                peak = max(peak, max(abs(v) for v in view[: frame.samples]))
    assert 0.01 < peak < 0.5


def test_video_frames_move_and_depend_on_the_prompt(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    render_video(path=str(a), prompt="a comet", seed=1, width=320, height=180, duration_s=2)
    render_video(path=str(b), prompt="a whale", seed=1, width=320, height=180, duration_s=2)
    frames_a = probe(a).frames
    frames_b = probe(b).frames
    assert mean_abs_diff(frames_a[0], frames_a[-1]) > 1  # the orb, timecode and bar moved
    assert mean_abs_diff(frames_a[0], frames_b[0]) > 15


def test_video_from_a_source_image_starts_from_it(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    red = solid_png((220, 20, 20), (640, 360))
    render_video(
        path=str(path), prompt="p", seed=6, width=320, height=180, duration_s=1, source=red
    )
    frames = probe(path).frames
    r, g, b = channel_means(frames[0])
    assert r - max(g, b) > 40


@pytest.mark.parametrize(
    ("width", "height", "poster"), [(320, 180, (320, 180)), (1280, 720, (640, 360))]
)
def test_video_poster_is_a_jpeg_with_the_video_aspect(
    tmp_path: Path, width: int, height: int, poster: tuple[int, int]
) -> None:
    path = tmp_path / "clip.mp4"
    info = render_video(
        path=str(path), prompt="a comet", seed=1, width=width, height=height, duration_s=2
    )
    assert info["poster_path"] == str(tmp_path / "clip.jpg")
    data = Path(info["poster_path"]).read_bytes()
    assert data.startswith(b"\xff\xd8\xff")
    with Image.open(BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == poster == (info["poster_width"], info["poster_height"])


def test_portrait_video_poster_keeps_the_long_side_at_640(tmp_path: Path) -> None:
    path = tmp_path / "tall.mp4"
    info = render_video(path=str(path), prompt="p", seed=1, width=720, height=1280, duration_s=0.25)
    assert (info["poster_width"], info["poster_height"]) == (360, 640)


def test_video_progress_rises_monotonically_to_one(tmp_path: Path) -> None:
    seen: list[float] = []
    render_video(
        path=str(tmp_path / "clip.mp4"),
        prompt="p",
        seed=1,
        width=160,
        height=90,
        duration_s=2,
        progress=seen.append,
    )
    assert seen[-1] == 1.0
    assert all(0 <= v <= 1 for v in seen)
    assert all(a < b for a, b in itertools.pairwise(seen))
    assert 10 <= len(seen) <= 25


def test_video_aborted_by_progress_leaves_no_files(tmp_path: Path) -> None:
    def cancel(fraction: float) -> None:
        if fraction > 0.3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_video(
            path=str(tmp_path / "clip.mp4"),
            prompt="p",
            seed=1,
            width=160,
            height=90,
            duration_s=2,
            audio=True,
            progress=cancel,
        )
    assert os.listdir(tmp_path) == []


def test_video_info_pickles(tmp_path: Path) -> None:
    info = render_video(
        path=str(tmp_path / "c.mp4"), prompt="p", seed=1, width=64, height=64, duration_s=0.5
    )
    assert pickle.loads(pickle.dumps(info)) == info


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"width": 321}, "even"),
        ({"height": 181}, "even"),
        ({"width": 14}, r"16\.\.4096"),
        ({"width": 4098}, r"16\.\.4096"),
        ({"height": 4098}, r"16\.\.4096"),
        ({"duration_s": 0}, "duration_s"),
        ({"duration_s": -1}, "duration_s"),
        ({"duration_s": 60.5}, "duration_s"),
        ({"duration_s": float("nan")}, "duration_s"),
        ({"fps": 0}, "fps"),
        ({"path": "clip.mov"}, r"\.mp4"),
    ],
)
def test_video_rejects_bad_arguments(
    tmp_path: Path, overrides: dict[str, object], match: str
) -> None:
    args: dict[str, object] = {
        "path": str(tmp_path / "clip.mp4"),
        "prompt": "p",
        "seed": 1,
        "width": 320,
        "height": 180,
        "duration_s": 1.0,
    }
    args.update(overrides)
    with pytest.raises(ValueError, match=match):
        render_video(**args)  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_importing_the_renderer_does_not_load_pillow_or_pyav() -> None:
    code = (
        "import sys, mediagate.providers.local.render; "
        "assert 'PIL' not in sys.modules and 'av' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
