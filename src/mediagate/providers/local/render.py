"""Render real media files offline for the local provider.

`render_image` makes PNG/JPEG/WebP stills and `render_video` makes H.264 MP4 clips whose look
is derived deterministically from the prompt and seed, so the whole agent workflow can be tried
without an API key. Both are plain synchronous functions taking and returning only picklable
values, because the provider runs them in a worker process. Pillow and PyAV are imported inside
the functions so that importing this module (and starting the server) stays cheap.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import os
import random
import re
import warnings
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal, TypedDict, TypeVar

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.video.frame import VideoFrame
    from av.video.reformatter import VideoReformatter
    from PIL import Image, ImageFont

ImageFormat = Literal["png", "jpeg", "webp"]
RGB = tuple[int, int, int]
_T = TypeVar("_T")

IMAGE_MIN_SIDE = 16
IMAGE_MAX_SIDE = 8192
VIDEO_MIN_SIDE = 16
VIDEO_MAX_SIDE = 4096
VIDEO_MAX_DURATION_S = 60.0
VIDEO_MAX_FPS = 120
AUDIO_SAMPLE_RATE = 48_000
POSTER_MAX_SIDE = 640

# The art is composed at most this large and then upscaled: soft gradients and shapes survive
# upscaling, while drawing them at 8K would cost seconds and hundreds of MB for nothing visible.
_WORK_SIDE = 1024
# Enough text to fill the caption box; longer prompts are cut before the costly wrapping.
_CAPTION_MAX_CHARS = 400
# Extra pixels converted around each changing video region so the chroma filter sees the same
# neighbours as in the full-frame conversion and no seams show at the region's edges.
_SPLICE_PAD = 8
_AUDIO_CHUNK = 1024  # the AAC frame size, so the encoder never has to re-buffer
_AUDIO_PERIOD_S = 2  # the chord is built from whole-hertz partials, so it repeats exactly

# A colour named in the prompt steers the palette, so "a red fox" comes out reddish.
_HUE_WORDS = {
    "red": 0.0, "crimson": 0.97, "scarlet": 0.99, "pink": 0.92, "magenta": 0.85,
    "purple": 0.78, "violet": 0.8, "indigo": 0.7, "navy": 0.63, "blue": 0.6, "ocean": 0.57,
    "sky": 0.55, "cyan": 0.5, "teal": 0.48, "turquoise": 0.47, "green": 0.33, "forest": 0.31,
    "lime": 0.22, "yellow": 0.15, "gold": 0.12, "golden": 0.12, "amber": 0.1, "orange": 0.07,
    "sunset": 0.05, "fire": 0.03,
}  # fmt: skip

_STYLES = ("orbs", "peaks", "bands", "mosaic")
# Likewise a few subject words pick the composition, so "mountains at dusk" gets ridges.
_STYLE_WORDS = {
    **dict.fromkeys(("mountain", "mountains", "landscape", "hills", "valley", "peak"), "peaks"),
    **dict.fromkeys(("ocean", "sea", "wave", "waves", "river", "water", "flow", "aurora"), "bands"),
    **dict.fromkeys(
        ("city", "building", "buildings", "grid", "pixel", "tiles", "mosaic"), "mosaic"
    ),
    **dict.fromkeys(("space", "planet", "stars", "bubbles", "bokeh", "lights", "galaxy"), "orbs"),
}


class VideoInfo(TypedDict):
    """What `render_video` wrote; a plain dict at runtime, so it pickles."""

    width: int
    height: int
    duration_s: float
    fps: int
    has_audio: bool
    size_bytes: int
    poster_path: str
    poster_width: int
    poster_height: int
    mime_type: str


@dataclass(frozen=True)
class _Palette:
    dark: RGB
    mid: RGB
    light: RGB
    accents: tuple[RGB, RGB, RGB]


@dataclass(frozen=True)
class _Still:
    image: Image.Image
    palette: _Palette
    caption_top: int  # top edge of the caption box, or the image height when there is none


def render_image(
    *,
    prompt: str,
    seed: int,
    width: int,
    height: int,
    fmt: ImageFormat = "png",
    source: bytes | None = None,
) -> bytes:
    """Render a still derived from `prompt` and `seed` and return the encoded file.

    The output is exactly `width`×`height` and byte-identical for the same arguments. Without
    `source` it is a gradient-and-shapes composition whose palette and layout come from a hash
    of prompt and seed, captioned with the prompt. With `source` (any format Pillow reads) that
    image is cover-cropped to the target size, tinted and overlaid the same way, and captioned.
    A `source` that cannot be decoded (or is a decompression bomb) is ignored and the
    text-to-image path is used instead.

    Raises ValueError for a side outside 16..8192 or an unknown `fmt`.
    """
    _check_side("width", width, IMAGE_MIN_SIDE, IMAGE_MAX_SIDE)
    _check_side("height", height, IMAGE_MIN_SIDE, IMAGE_MAX_SIDE)
    if fmt not in ("png", "jpeg", "webp"):
        raise ValueError(f"fmt must be one of png, jpeg, webp; got {fmt!r}")
    still = _compose(prompt, seed, width, height, source)
    buf = io.BytesIO()
    if fmt == "png":
        still.image.save(buf, "PNG")
    elif fmt == "jpeg":
        still.image.save(buf, "JPEG", quality=90)
    else:
        still.image.save(buf, "WEBP", quality=88, method=4)
    return buf.getvalue()


def render_video(
    *,
    path: str,
    prompt: str,
    seed: int,
    width: int,
    height: int,
    duration_s: float,
    fps: int = 24,
    audio: bool = False,
    source: bytes | None = None,
    progress: Callable[[float], None] | None = None,
) -> VideoInfo:
    """Write an H.264/yuv420p MP4 derived from `prompt` and `seed` to `path`, plus a poster.

    The clip has `round(duration_s * fps)` frames (at least one) at exactly `fps`: the
    `render_image` composition (or the cover-cropped, treated `source` image) with a glowing orb
    moving across it, a timecode and a progress bar. With `audio`, a quiet AAC stereo 48 kHz
    chord derived from the seed runs for the same duration. A JPEG poster (at most 640 px on
    the long side, same aspect) is written next to the video as `<path without .mp4>.jpg`.

    Both files are written under temporary names and renamed into place (poster first), so a
    reader never sees a partial file and a failure leaves nothing behind. `progress` is called
    with strictly increasing fractions in (0, 1], about every 5 %, ending with 1.0 once both
    files exist; an exception it raises aborts the render, which is how a caller cancels.

    Raises ValueError for a path not ending in .mp4, odd or out-of-range (16..4096) sides,
    a duration outside (0, 60] seconds or an fps that is not a whole number in 1..120.
    """
    if not path.lower().endswith(".mp4"):
        raise ValueError(f"path must end with .mp4; got {path!r}")
    for name, side in (("width", width), ("height", height)):
        _check_side(name, side, VIDEO_MIN_SIDE, VIDEO_MAX_SIDE)
        if side % 2:
            raise ValueError(f"{name} must be even for yuv420p video; got {side}")
    if not 0 < duration_s <= VIDEO_MAX_DURATION_S:
        raise ValueError(f"duration_s must be in (0, {VIDEO_MAX_DURATION_S:g}]; got {duration_s}")
    if isinstance(fps, bool) or not isinstance(fps, int) or not 1 <= fps <= VIDEO_MAX_FPS:
        raise ValueError(f"fps must be in 1..{VIDEO_MAX_FPS}; got {fps}")

    n_frames = max(1, round(duration_s * fps))
    still = _compose(prompt, seed, width, height, source)
    motion = _Motion(still, _rng(prompt, seed, "motion"), fps, n_frames)
    poster_path = path[: -len(".mp4")] + ".jpg"
    video_tmp, poster_tmp = path + ".part", poster_path + ".part"
    try:
        _encode_video(video_tmp, still, motion, seed, fps, n_frames, audio, progress)
        poster_size = _write_poster(poster_tmp, still, motion)
        # Poster first: whoever sees the video can rely on its poster being there too.
        os.replace(poster_tmp, poster_path)
        os.replace(video_tmp, path)
    except BaseException:
        for leftover in (video_tmp, poster_tmp):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    if progress is not None:
        progress(1.0)
    return VideoInfo(
        width=width,
        height=height,
        duration_s=n_frames / fps,
        fps=fps,
        has_audio=audio,
        size_bytes=os.path.getsize(path),
        poster_path=poster_path,
        poster_width=poster_size[0],
        poster_height=poster_size[1],
        mime_type="video/mp4",
    )


def _write_poster(path: str, still: _Still, motion: _Motion) -> tuple[int, int]:
    from PIL import Image

    poster = still.image.copy()
    motion.paint_orb(poster, 0, 0, 0)  # the first frame, minus the timecode and bar
    width, height = poster.size
    scale = min(1.0, POSTER_MAX_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    poster.resize(size, Image.Resampling.LANCZOS).save(path, "JPEG", quality=85)
    return size


def _check_side(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}; got {value}")


def _rng(prompt: str, seed: int, salt: str = "") -> random.Random:
    # Hashing first makes tiny prompt or seed changes move every parameter, and int seeding of
    # random.Random is stable across Python versions.
    digest = hashlib.sha256(f"{seed}\x00{prompt}\x00{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _pick(rng: random.Random, items: Sequence[_T]) -> _T:
    return items[int(rng.random() * len(items))]


def _words(prompt: str) -> list[str]:
    return re.findall(r"[a-z]+", prompt.lower())


def _hls(hue: float, lightness: float, saturation: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return (round(r * 255), round(g * 255), round(b * 255))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _palette(prompt: str, rng: random.Random) -> _Palette:
    hinted = next((_HUE_WORDS[w] for w in _words(prompt) if w in _HUE_WORDS), None)
    hue = rng.random() if hinted is None else hinted + rng.uniform(-0.02, 0.02)
    # Analogous, triadic, complementary and split schemes keep the accents in harmony.
    offsets = _pick(
        rng, [(0.08, -0.08, 0.5), (1 / 3, 2 / 3, 0.04), (0.5, 0.55, 0.45), (0.12, 0.24, 0.6)]
    )
    sat = rng.uniform(0.45, 0.85)
    accent_sat = min(1.0, sat + 0.15)
    return _Palette(
        dark=_hls(hue + rng.uniform(-0.05, 0.05), rng.uniform(0.07, 0.16), sat),
        mid=_hls(hue, rng.uniform(0.35, 0.5), sat),
        light=_hls(hue + offsets[0], rng.uniform(0.72, 0.86), sat * 0.8),
        accents=(
            _hls(hue + offsets[0], rng.uniform(0.5, 0.65), accent_sat),
            _hls(hue + offsets[1], rng.uniform(0.5, 0.65), accent_sat),
            _hls(hue + offsets[2], rng.uniform(0.5, 0.65), accent_sat),
        ),
    )


def _compose(prompt: str, seed: int, width: int, height: int, source: bytes | None) -> _Still:
    from PIL import Image

    rng = _rng(prompt, seed)
    palette = _palette(prompt, rng)
    scale = min(1.0, _WORK_SIDE / max(width, height))
    work = (max(1, round(width * scale)), max(1, round(height * scale)))
    layer = _art_layer(work, prompt, palette, rng)
    background = _background(work, palette, rng)
    base = _decode_source(source, (width, height)) if source is not None else None
    if base is None:
        art = Image.alpha_composite(background.convert("RGBA"), layer).convert("RGB")
        image = (
            art
            if art.size == (width, height)
            else art.resize((width, height), Image.Resampling.BICUBIC)
        )
    else:
        image = _treat(base, layer, palette)
    return _Still(image, palette, _draw_caption(image, prompt, seed))


def _background(size: tuple[int, int], palette: _Palette, rng: random.Random) -> Image.Image:
    from PIL import Image, ImageOps

    w, h = size
    bicubic = Image.Resampling.BICUBIC
    if rng.random() < 0.35:
        # A radial glow centred somewhere in the frame: crop a window out of a larger one.
        d = 2 * max(w, h)
        grad = Image.radial_gradient("L").resize((d, d), bicubic)
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        left, top = round(d / 2 - cx), round(d / 2 - cy)
        grad = grad.crop((left, top, left + w, top + h))
        return ImageOps.colorize(grad, black=palette.light, white=palette.dark, mid=palette.mid)
    # A linear ramp at any angle: rotate a square as large as the diagonal and keep the middle.
    d = math.ceil(math.hypot(w, h))
    grad = Image.linear_gradient("L").resize((d, d), bicubic).rotate(rng.uniform(0, 360), bicubic)
    grad = grad.crop(((d - w) // 2, (d - h) // 2, (d - w) // 2 + w, (d - h) // 2 + h))
    return ImageOps.colorize(grad, black=palette.dark, white=palette.light, mid=palette.mid)


def _art_layer(
    size: tuple[int, int], prompt: str, palette: _Palette, rng: random.Random
) -> Image.Image:
    """The shapes of the composition on a transparent RGBA layer, in one of four styles."""
    from PIL import Image, ImageDraw

    w, h = size
    short = min(w, h)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colors = (*palette.accents, palette.light)
    # A hinted style still consumes its draw so the rest of the layout does not depend on it.
    drawn = _pick(rng, _STYLES)
    style = next((_STYLE_WORDS[w] for w in _words(prompt) if w in _STYLE_WORDS), drawn)
    if style == "orbs":
        for _ in range(5 + int(rng.random() * 6)):
            r = short * rng.uniform(0.06, 0.3)
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            alpha = round(rng.uniform(110, 210))
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*_pick(rng, colors), alpha))
        return _soften(layer, short / 70)
    if style == "peaks":
        r = short * rng.uniform(0.08, 0.16)
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.12, 0.35) * h
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*palette.light, 235))
        ridges = 3 + int(rng.random() * 2)
        for k in range(ridges):
            steps = 5 + int(rng.random() * 8)
            base_y = h * (0.42 + 0.14 * k)
            ridge = [(w * i / steps, base_y - rng.uniform(0.0, 0.22) * h) for i in range(steps + 1)]
            color = _mix(palette.accents[k % 3], palette.dark, (k + 1) / (ridges + 1))
            draw.polygon([(0, h), *ridge, (w, h)], fill=(*color, 240))
        return _soften(layer, 0.7)  # ImageDraw does not anti-alias; a hair of blur stands in
    if style == "bands":
        for _ in range(4 + int(rng.random() * 3)):
            y0, amp = rng.uniform(-0.1, 1.0) * h, rng.uniform(0.03, 0.18) * h
            freq, phase = rng.uniform(0.5, 2.5), rng.uniform(0, math.tau)
            thick = rng.uniform(0.05, 0.2) * h
            xs = [w * i / 48 for i in range(49)]
            top = [(x, y0 + amp * math.sin(math.tau * freq * x / w + phase)) for x in xs]
            bottom = [(x, y + thick) for x, y in reversed(top)]
            alpha = round(rng.uniform(120, 200))
            draw.polygon(top + bottom, fill=(*_pick(rng, colors), alpha))
        return _soften(layer, short / 250)
    cols = 4 + int(rng.random() * 6)
    cell = w / cols
    rows = max(1, round(h / cell))
    cell_h = h / rows
    inset = cell * 0.08
    for row in range(rows):
        for col in range(cols):
            if rng.random() < 0.3:
                continue
            box = (
                col * cell + inset,
                row * cell_h + inset,
                (col + 1) * cell - inset,
                (row + 1) * cell_h - inset,
            )
            alpha = round(rng.uniform(110, 220))
            draw.rounded_rectangle(box, radius=inset * 2, fill=(*_pick(rng, colors), alpha))
    r = short * rng.uniform(0.2, 0.4)
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h
    draw.ellipse(
        (cx - r, cy - r, cx + r, cy + r),
        outline=(*palette.light, 230),
        width=max(1, round(short / 40)),
    )
    return _soften(layer, 0.7)


def _soften(layer: Image.Image, radius: float) -> Image.Image:
    from PIL import ImageFilter

    # Blurring premultiplied pixels keeps the transparent black around shapes from bleeding in
    # as dark fringes.
    return layer.convert("RGBa").filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")


def _decode_source(source: bytes, size: tuple[int, int]) -> Image.Image | None:
    """The source cover-cropped to `size` as RGB, or None when it cannot be decoded safely."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            # A bomb-sized source only warns by default; treat it as undecodable instead.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source)) as opened:
                opened.draft("RGB", size)  # JPEG decodes at a reduced scale when much larger
                image = ImageOps.exif_transpose(opened)
                if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    flat = Image.new("RGBA", image.size, (128, 128, 128, 255))
                    image = Image.alpha_composite(flat, image.convert("RGBA"))
                image = image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        return None
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS)


def _treat(image: Image.Image, layer: Image.Image, palette: _Palette) -> Image.Image:
    """Tint the source towards the palette and lay the shapes over it, keeping it recognisable."""
    from PIL import Image, ImageOps

    tint = ImageOps.colorize(
        ImageOps.grayscale(image), black=palette.dark, white=palette.light, mid=palette.accents[0]
    )
    treated = Image.blend(image, tint, 0.3)
    shapes = layer.convert("RGB")
    alpha = layer.getchannel("A").point([a * 45 // 100 for a in range(256)])
    if layer.size != treated.size:
        shapes = shapes.resize(treated.size, Image.Resampling.BICUBIC)
        alpha = alpha.resize(treated.size, Image.Resampling.BICUBIC)
    treated.paste(shapes, (0, 0), alpha)
    return treated


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _draw_caption(image: Image.Image, prompt: str, seed: int) -> int:
    """Draw the prompt in a translucent box at the bottom; return the box's top edge."""
    from PIL import Image, ImageDraw

    w, h = image.size
    short = min(w, h)
    text = " ".join(prompt[: _CAPTION_MAX_CHARS * 2].split())[:_CAPTION_MAX_CHARS]
    if short < 48 or not text:
        return h  # too small to read anything; the composition alone carries the prompt
    size = max(10, round(short / 18))
    tag_size = max(8, round(size * 0.55))
    font, tag_font = _font(size), _font(tag_size)
    margin, pad = max(4, round(short * 0.04)), max(4, round(size * 0.5))
    line_h, tag_h = round(size * 1.25), round(tag_size * 1.5)
    fit = (int(h * 0.45) - 2 * pad - tag_h) // line_h
    if fit < 1:
        return h
    lines = _wrap(text, font, w - 2 * (margin + pad), min(3 if w >= h else 4, fit))
    tag = f"seed {seed} · mediagate local"
    text_w = max(font.getlength(line) for line in [*lines, ""])
    box_w = min(w - 2 * margin, round(max(text_w, tag_font.getlength(tag))) + 2 * pad)
    box_h = 2 * pad + line_h * len(lines) + tag_h
    x0, y0 = margin, h - margin - box_h
    mask = Image.new("L", (box_w, box_h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=165)
    image.paste((10, 10, 14), (x0, y0, x0 + box_w, y0 + box_h), mask)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((x0 + pad, y0 + pad + i * line_h), line, font=font, fill=(246, 246, 246))
    draw.text((x0 + pad, y0 + pad + len(lines) * line_h), tag, font=tag_font, fill=(190, 190, 196))
    return y0


def _wrap(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_w: float, max_lines: int
) -> list[str]:
    def fits(s: str) -> bool:
        return font.getlength(s) <= max_w

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        # A word wider than the box (a URL, CJK text) is cut at the widest prefix that fits.
        while not fits(word) and len(word) > 1:
            lo, hi = 1, len(word) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if fits(word[:mid]) else (lo, mid - 1)
            lines.append(word[:lo])
            word = word[lo:]
        current = word
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and not fits(last + "…"):
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


class _Motion:
    """The parts of a video frame that change: a glowing orb, a timecode and a progress bar.

    Each part is confined to a fixed-size even-aligned box, so a frame is the pre-converted
    base frame with a few small regions replaced; converting whole 4K frames from RGB would
    cost more than encoding them.
    """

    def __init__(self, still: _Still, rng: random.Random, fps: int, n_frames: int) -> None:
        from PIL import Image, ImageDraw

        self.base = still.image
        self.fps, self.n_frames = fps, n_frames
        w, h = self.base.size
        short = min(w, h)
        palette = still.palette

        # The orb: a white-hot core fading through an accent colour into a soft glow.
        self.orb_d = _even(max(8, short // 5))
        radial = Image.radial_gradient("L").resize(
            (self.orb_d, self.orb_d), Image.Resampling.BICUBIC
        )
        # radial_gradient grows by 1 per pixel of its 256 px square: 128 is the inscribed edge.
        glow = [
            255 if v < 28 else round(255 * max(0.0, (128 - v) / 100) ** 1.6) for v in range(256)
        ]
        self.orb_alpha = radial.point(glow)
        core = radial.point([round(255 * max(0.0, 1 - v / 56)) for v in range(256)])
        accent = Image.new("RGB", radial.size, _pick(rng, palette.accents))
        self.orb_rgb = Image.composite(Image.new("RGB", radial.size, (255, 255, 250)), accent, core)

        self.tc_size = max(10, round(short / 26))
        self.tc_font = _font(self.tc_size)
        self.tc_total = _timecode(n_frames / fps)
        tc_pad = max(2, self.tc_size // 3)
        widest = self.tc_font.getlength(f"{self.tc_total} / {self.tc_total}".replace("0", "8"))
        tc_w, tc_h = _even(round(widest) + 2 * tc_pad), _even(round(self.tc_size * 1.3) + tc_pad)
        margin = _even(max(2, round(short * 0.03)))
        self.tc_box = (max(0, w - margin - tc_w), margin, min(w, w - margin), min(h, margin + tc_h))
        self.tc_text_at = (self.tc_box[0] + tc_pad, self.tc_box[1] + tc_pad // 2)
        self.tc_bg = self.base.crop(self.tc_box)
        tc_mask = Image.new("L", self.tc_bg.size, 0)
        ImageDraw.Draw(tc_mask).rounded_rectangle((0, 0, *self.tc_bg.size), radius=tc_pad, fill=165)
        self.tc_bg.paste((10, 10, 14), (0, 0, *self.tc_bg.size), tc_mask)

        bar_h = _even(max(2, round(h / 110)))
        self.bar_box = (0, h - bar_h, w, h)
        self.bar_bg = Image.blend(self.base.crop(self.bar_box), Image.new("RGB", (w, bar_h)), 0.55)
        self.bar_color = palette.light

        # The orb wanders between the timecode and the caption (or the bar if space is short).
        top = self.tc_box[3]
        bottom = still.caption_top if still.caption_top - top >= 2 * self.orb_d else self.bar_box[1]
        self.orb_x_range = (0, max(0, w - self.orb_d))
        self.orb_y_range = (top, max(top, bottom - self.orb_d))
        self.orb_freqs = (rng.uniform(0.12, 0.3), rng.uniform(0.17, 0.4))
        self.orb_phases = (rng.uniform(0, math.tau), rng.uniform(0, math.tau))

    def orb_box(self, index: int) -> tuple[int, int, int, int]:
        t = index / self.fps
        spots = []
        for (low, high), freq, phase in zip(
            (self.orb_x_range, self.orb_y_range), self.orb_freqs, self.orb_phases, strict=True
        ):
            unit = 0.5 + 0.5 * math.sin(math.tau * freq * t + phase)
            spots.append(_even(low + round((high - low) * unit)))
        x, y = spots
        return (x, y, x + self.orb_d, y + self.orb_d)

    def paint_orb(self, patch: Image.Image, index: int, ox: int, oy: int) -> None:
        x, y, _, _ = self.orb_box(index)
        patch.paste(self.orb_rgb, (x - ox, y - oy), self.orb_alpha)

    def paint_timecode(self, patch: Image.Image, index: int, ox: int, oy: int) -> None:
        from PIL import ImageDraw

        patch.paste(self.tc_bg, (self.tc_box[0] - ox, self.tc_box[1] - oy))
        text = f"{_timecode(index / self.fps)} / {self.tc_total}"
        at = (self.tc_text_at[0] - ox, self.tc_text_at[1] - oy)
        ImageDraw.Draw(patch).text(at, text, font=self.tc_font, fill=(246, 246, 246))

    def paint_bar(self, patch: Image.Image, index: int, ox: int, oy: int) -> None:
        from PIL import ImageDraw

        x0, y0, x1, y1 = self.bar_box
        patch.paste(self.bar_bg, (x0 - ox, y0 - oy))
        filled = round((x1 - x0) * (index + 1) / self.n_frames)
        if filled:
            ImageDraw.Draw(patch).rectangle(
                (x0 - ox, y0 - oy, x0 + filled - 1 - ox, y1 - 1 - oy), fill=self.bar_color
            )

    def parts(self, index: int) -> list[tuple[tuple[int, int, int, int], _Painter]]:
        return [
            (self.orb_box(index), self.paint_orb),
            (self.tc_box, self.paint_timecode),
            (self.bar_box, self.paint_bar),
        ]


_Painter = Callable[["Image.Image", int, int, int], None]


def _even(value: int) -> int:
    return value - value % 2


def _timecode(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def _to_yuv(image: Image.Image, reformatter: VideoReformatter) -> VideoFrame:
    from av.video.frame import VideoFrame
    from av.video.reformatter import ColorRange, Colorspace

    # PyAV's stub leaves from_image untyped.
    rgb = VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
    # BT.709 limited range for every frame and patch alike, matching the tags on the stream.
    return reformatter.reformat(
        rgb, format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )


def _splice(
    frame: VideoFrame,
    base: Image.Image,
    box: tuple[int, int, int, int],
    paint: _Painter,
    index: int,
    reformatter: VideoReformatter,
) -> None:
    """Repaint `box` (even-aligned) of a yuv420p `frame`: paint over the base, convert, copy in."""
    w, h = base.size
    x0, y0, x1, y1 = box
    px0, py0 = max(0, x0 - _SPLICE_PAD), max(0, y0 - _SPLICE_PAD)
    px1, py1 = min(w, x1 + _SPLICE_PAD), min(h, y1 + _SPLICE_PAD)
    patch = base.crop((px0, py0, px1, py1))
    paint(patch, index, px0, py0)
    converted = _to_yuv(patch, reformatter)
    for plane_index, (src, dst) in enumerate(zip(converted.planes, frame.planes, strict=True)):
        step = 1 if plane_index == 0 else 2  # chroma planes are half size both ways
        src_view, dst_view = memoryview(src), memoryview(dst)
        src_stride, dst_stride = src.line_size, dst.line_size
        width = (x1 - x0) // step
        src_at = ((y0 - py0) // step) * src_stride + (x0 - px0) // step
        dst_at = (y0 // step) * dst_stride + x0 // step
        for _ in range((y1 - y0) // step):
            dst_view[dst_at : dst_at + width] = src_view[src_at : src_at + width]
            src_at += src_stride
            dst_at += dst_stride


def _encode_video(
    path: str,
    still: _Still,
    motion: _Motion,
    seed: int,
    fps: int,
    n_frames: int,
    audio: bool,
    progress: Callable[[float], None] | None,
) -> None:
    import av
    from av.video.frame import VideoFrame
    from av.video.reformatter import VideoReformatter

    width, height = still.image.size
    base_planes = [bytes(plane) for plane in _to_yuv(still.image, VideoReformatter()).planes]
    # Setting up a scaler costs more than converting a small patch, and a reformatter keeps its
    # scaler while the size stays the same: one per moving part, whose size rarely changes.
    reformatters = [VideoReformatter() for _ in motion.parts(0)]
    pcm = _chord_pcm(seed, round(n_frames * AUDIO_SAMPLE_RATE / fps)) if audio else b""
    pcm_pos = 0  # in bytes; 4 per stereo s16 sample
    reported = 0
    # faststart puts the index first so browsers can play the file while it downloads.
    with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(
            "libx264", rate=fps, options={"preset": "ultrafast", "crf": "23"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        codec = stream.codec_context
        codec.colorspace = codec.color_primaries = codec.color_trc = 1  # BT.709
        codec.color_range = 1  # limited ("tv") range
        audio_stream = (
            container.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="stereo") if audio else None
        )
        time_base = Fraction(1, fps)
        for index in range(n_frames):
            frame = VideoFrame(width, height, "yuv420p")
            for plane, data in zip(frame.planes, base_planes, strict=True):
                plane.update(data)
            for (box, paint), reformatter in zip(motion.parts(index), reformatters, strict=True):
                _splice(frame, still.image, box, paint, index, reformatter)
            frame.pts, frame.time_base = index, time_base
            container.mux(stream.encode(frame))
            if audio_stream is not None:
                # Keep audio level with video so the muxer can interleave without buffering.
                until = round((index + 1) * AUDIO_SAMPLE_RATE / fps) * 4
                pcm_pos = _push_audio(container, audio_stream, pcm, pcm_pos, until)
            step = 20 * (index + 1) // n_frames
            if progress is not None and step > reported:
                reported = step
                progress(0.95 * (index + 1) / n_frames)
        container.mux(stream.encode(None))
        if audio_stream is not None:
            _push_audio(container, audio_stream, pcm, pcm_pos, len(pcm), flush=True)
            container.mux(audio_stream.encode(None))


def _push_audio(
    container: OutputContainer,
    stream: AudioStream,
    pcm: bytes,
    pos: int,
    until: int,
    *,
    flush: bool = False,
) -> int:
    from av.audio.frame import AudioFrame

    chunk = _AUDIO_CHUNK * 4
    while until - pos >= chunk or (flush and pos < until):
        size = min(chunk, until - pos)
        frame = AudioFrame(format="s16", layout="stereo", samples=size // 4)
        frame.planes[0].update(pcm[pos : pos + size])
        frame.sample_rate, frame.pts, frame.time_base = (
            AUDIO_SAMPLE_RATE,
            pos // 4,
            Fraction(1, AUDIO_SAMPLE_RATE),
        )
        container.mux(stream.encode(frame))
        pos += size
    return pos


def _chord_pcm(seed: int, n_samples: int) -> bytes:
    """A quiet seed-derived chord as interleaved s16 stereo, `n_samples` per channel."""
    rng = _rng("", seed, "audio")
    root = rng.uniform(110, 220)
    ratios = _pick(
        rng, [(1, 5 / 4, 3 / 2), (1, 6 / 5, 3 / 2), (1, 4 / 3, 3 / 2), (1, 5 / 4, 15 / 8)]
    )
    # Whole-hertz partials repeat exactly every second, so one period is computed and tiled.
    freqs = [round(root * r) for r in (0.5, *ratios)]
    pans = [0.5, 0.3, 0.7, 0.5]
    swell_hz = 1 / _AUDIO_PERIOD_S  # a slow swell, also periodic within the tile
    amp = 0.09 * 32767 / len(freqs)
    period = min(n_samples, AUDIO_SAMPLE_RATE * _AUDIO_PERIOD_S)
    tile = array("h", bytes(4 * period))
    for i in range(period):
        t = i / AUDIO_SAMPLE_RATE
        swell = 0.8 + 0.2 * math.sin(math.tau * swell_hz * t)
        left = right = 0.0
        for freq, pan in zip(freqs, pans, strict=True):
            v = math.sin(math.tau * freq * t)
            left += v * (1 - pan)
            right += v * pan
        tile[2 * i] = round(2 * amp * swell * left)
        tile[2 * i + 1] = round(2 * amp * swell * right)
    pcm = tile * (n_samples // period + 1)
    del pcm[2 * n_samples :]
    # Short fades so the clip neither starts nor stops with a click.
    fade = min(n_samples // 2, AUDIO_SAMPLE_RATE // 50)
    for i in range(fade):
        g = i / fade
        for j in (2 * i, 2 * i + 1, 2 * (n_samples - 1 - i), 2 * (n_samples - 1 - i) + 1):
            pcm[j] = round(pcm[j] * g)
    return pcm.tobytes()
